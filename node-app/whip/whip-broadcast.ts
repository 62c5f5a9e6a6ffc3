// One WHIP broadcast on its primary server: RTP in (WhipPeer), WebM out (RtpToWebm), uploaded to both entry servers (Publisher).
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Publisher, type PublishResult } from '../../client-sdk/publisher.js';
import { SimplePeer, nodeWrtc, type SessionLog, type Wrtc } from '../webrtc/peer.js';
import { continuationMismatch, type OfferSummary, SdpError, summarizeOffer } from '../../signaling/protocol/whip-sdp.js';
import type { Continuation } from '../ingest/continuation.js';
import { WHIP_IDLE_TIMEOUT_MS, type WhipOffer } from '../../signaling/protocol/whip.js';
import { RelaySocket, type WhipEmit } from './relay-socket.js';
import { RtpToWebm, spropParameterSets } from './rtp-to-webm.js';
import { WhipPeer } from './whip-peer.js';

const WATCHDOG_MS = 1_000;

export interface WhipBroadcastOptions {
  offer: WhipOffer;
  emitToHub: WhipEmit;
  /**
   * Reads `length` bytes at `offset` of this server's own copy of the stream (its `.part` on disk): a replacement entry
   * server is filled from byte 0 from there, however long the stream, while the relay holds at most its resend buffer.
   */
  readCopy?: (streamId: string, offset: number, length: number) => Promise<Uint8Array>;
  /** The relay's resend buffer, bytes (default the Publisher's RESEND_BUFFER_BYTES). */
  resendBufferBytes?: number;
  bindAddress?: string;
  /** libdatachannel ICE server URLs for the publisher's peer. */
  iceServerUrls?: string[];
  /** For the data-channel uploads to the entry servers. */
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  log?: SessionLog;
  /** A resumed broadcast: append to this server's unfinished copy (see continuationOf) instead of starting a stream. */
  continuation?: Continuation;
}

export interface WhipBroadcastEvents {
  /** Once, when the broadcast is over (ended, failed or closed). */
  closed: [reason: string];
}

export class WhipBroadcast extends EventEmitter<WhipBroadcastEvents> {
  readonly resourceId: string;
  readonly streamId: string;
  /** The hub's offer this broadcast answered. */
  readonly offer: WhipOffer;
  readonly socket: RelaySocket;
  readonly #o: WhipBroadcastOptions;
  readonly #peer: WhipPeer;
  readonly #summary: OfferSummary;
  readonly #mux: RtpToWebm;
  readonly #publisher: Publisher;
  readonly #watchdog: ReturnType<typeof setInterval>;
  #lastRtpMs = performance.now();
  #ending: Promise<PublishResult> | undefined;
  #closed = false;

  /** Throws SdpError for an offer without VP8 or H.264 video, or one that cannot continue the stored copy. */
  constructor(opts: WhipBroadcastOptions) {
    super();
    const { offer } = opts;
    this.#o = opts;
    this.resourceId = offer.resourceId;
    this.streamId = offer.streamId;
    this.offer = offer;
    const summary = summarizeOffer(offer.sdp);
    this.#summary = summary;
    const c = opts.continuation;
    const readCopy = opts.readCopy;
    const h264 = summary.video.codec === 'h264';
    // The exact avc1 profile is only known at the first SPS: the ingest server replaces this type by the stored head's (mimeFor).
    const mime = `${h264 ? 'video/x-matroska' : 'video/webm'}; codecs="${h264 ? 'avc1' : 'vp8'}${summary.audio ? ', opus' : ''}"`;
    const mismatch = c && continuationMismatch(offer.streamId, summary, c.mime);
    if (mismatch) throw new SdpError(mismatch);
    // A resumed or carried-on broadcast's relay holds the stream from where it went on only: a new entry server is filled
    // from byte 0 from this server's copy (readCopy), or it cannot be.
    const noReplacement =
      c && !readCopy ? 'a resumed WHIP broadcast gets no replacement entry server (it would need the stream from byte 0)' : undefined;
    this.socket = new RelaySocket(offer.resourceId, offer.assignment, opts.emitToHub, noReplacement);
    this.#publisher = new Publisher({
      socket: this.socket,
      SimplePeer,
      wrtc: opts.wrtc ?? nodeWrtc,
      streamKey: 'whip',
      location: 'whip',
      streamId: offer.streamId,
      mime: c?.mime ?? mime,
      iceServers: opts.iceServers,
      hash: () => createHash('sha256'),
      ...(opts.resendBufferBytes ? { resendBufferBytes: opts.resendBufferBytes } : {}),
      ...(readCopy ? { reread: (offset: number, length: number) => readCopy(offer.streamId, offset, length) } : {}),
      ...(c ? { startAt: { seq: c.nextSeq, bytes: c.bytes } } : {}),
    });
    // The stored copy may end inside a block: complete it (the bytes are that frame's; its decoder skips it).
    if (c && c.fillerBytes > 0) this.#publisher.push(new Uint8Array(c.fillerBytes));
    this.#publisher.addEventListener('error', (e) => this.#fail(`relay-${e.detail.code}`, e.detail.message));
    this.#peer = new WhipPeer({
      name: `whip-${offer.resourceId}`,
      offer: offer.sdp,
      summary,
      iceServers: opts.iceServerUrls,
      bindAddress: opts.bindAddress,
    });
    this.#mux = new RtpToWebm({
      audio: summary.audio !== null,
      video: summary.video.codec === 'h264' ? 'h264' : 'vp8',
      parameterSets: spropParameterSets(summary.video.fmtp[summary.video.payloadTypes[0]!] ?? ''),
      payloadTypes: { video: summary.video.payloadTypes, ...(summary.audio ? { audio: summary.audio.payloadTypes } : {}) },
      onBytes: (b) => {
        if (this.#closed) return;
        try {
          this.#publisher.push(b);
        } catch (err) {
          this.#fail('relay-closed', (err as Error).message);
        }
      },
      onNeedKeyframe: () => this.#peer.requestKeyframe(),
      ...(c ? { continueAt: { timeMs: c.nextTimeMs } } : {}),
    });
    this.#peer.on('rtp', (kind, packet) => {
      this.#lastRtpMs = performance.now();
      this.#mux.push(kind, packet);
    });
    // The publisher went away without DELETE: keep what arrived, finalized.
    this.#peer.on('closed', (reason) => void this.end().catch(() => this.close(reason)));
    this.#watchdog = setInterval(() => {
      if (performance.now() - this.#lastRtpMs > WHIP_IDLE_TIMEOUT_MS) void this.end().catch(() => this.close('idle'));
    }, WATCHDOG_MS);
    this.#watchdog.unref?.();
  }

  /**
   * Answers the offer once ICE gathering is done; the uploads connect meanwhile (the
   * Publisher buffers what arrives first). If no upload connects, the broadcast closes,
   * and the publisher's peer with it.
   */
  async start(): Promise<string> {
    const closed = new Promise<never>((_, reject) =>
      this.once('closed', (reason) => reject(new Error(`the broadcast closed while starting (${reason})`))),
    );
    closed.catch(() => undefined); // it rejects on every later close too, after the race is over
    this.#publisher.start().then(
      (reply) => {
        this.#o.log?.info({ stream: this.streamId, resource: this.resourceId }, 'WHIP relay uploading');
        // A resume is placed on its copy's server alone: a second copy is made on another, from byte 0 of this one.
        if (!reply.backup && this.#o.continuation && this.#o.readCopy) this.#publisher.completeCopies();
      },
      (err: Error) => this.#fail('relay-start', err.message),
    );
    const answer = await Promise.race([this.#peer.answer(), closed]);
    this.#o.log?.info({ stream: this.streamId, resource: this.resourceId }, 'WHIP broadcast answered');
    return answer;
  }

  /** Stops taking RTP, writes the Cues and waits until the entry servers finalized the stream. Idempotent. */
  end(): Promise<PublishResult> {
    this.#ending ??= (async () => {
      // Closing the peer below re-enters end() through its 'closed' event: let #ending be set first.
      await Promise.resolve();
      clearInterval(this.#watchdog);
      this.#peer.close('ended');
      this.#mux.end();
      if (this.#mux.bytes === 0 && !this.#o.continuation) {
        const why = this.#mux.lastError ? `: ${this.#mux.lastError}` : '';
        throw new Error(
          `no media arrived (no ${this.#summary.video.codec === 'h264' ? 'H.264 IDR with SPS and PPS' : 'VP8 keyframe'}${why})`,
        );
      }
      try {
        const r = await this.#publisher.end();
        this.#o.log?.info(
          // A carried-on broadcast counts the frames of this POST only: the copy's first `continuedFromBytes` came before.
          {
            stream: this.streamId,
            bytes: r.bytes,
            stored: r.stored,
            frames: this.#mux.frames,
            ...(this.#o.continuation ? { continuedFromBytes: this.#o.continuation.bytes } : {}),
          },
          'WHIP broadcast finalized',
        );
        return r;
      } finally {
        this.close('ended');
      }
    })();
    return this.#ending;
  }

  /** Idempotent; uploads not finalized stay as the servers' partial copies. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#peer.close(reason);
    this.#publisher.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  #fail(reason: string, message: string): void {
    this.#o.log?.warn({ stream: this.streamId, reason, message }, 'WHIP broadcast failed');
    this.close(reason);
  }
}
