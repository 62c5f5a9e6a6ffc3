// The media server's WHIP side: takes the hub's offers for broadcasts it is primary of, ends them on DELETE.
import { ErrorCode, ackError, parse, type Ack } from '../../signaling/protocol/index.js';
import {
  whipAdoptSchema,
  whipEndSchema,
  whipLeaveSchema,
  whipOfferSchema,
  whipSignalSchema,
  type WhipAdoptReply,
  type WhipEndReply,
  type WhipOffer,
} from '../../signaling/protocol/whip.js';
import { continuationMismatch, SdpError, summarizeOffer } from '../../signaling/protocol/whip-sdp.js';
import type { SessionLog, Wrtc } from '../webrtc/peer.js';
import type { PublishResult } from '../../client-sdk/publisher.js';
import type { WhipBroadcast, WhipBroadcastOptions } from './whip-broadcast.js';
import type { WhipEmit } from './relay-socket.js';
import type { Continuation } from '../ingest/continuation.js';
import { timingSafeEqual } from 'node:crypto';

/** WHIP broadcasts one server relays at once (each also holds an ingest session, within maxSessions). */
export const MAX_WHIP_BROADCASTS = 64;

/** Ended broadcasts whose result a repeated `whip-end` still gets, and for how long (ms). */
export const MAX_ENDED_KEPT = 2 * MAX_WHIP_BROADCASTS;
export const ENDED_KEPT_MS = 120_000;

export interface WhipManagerOptions {
  emitToHub: WhipEmit;
  /** Reads this server's copy of a stream it ingests (see WhipBroadcastOptions.readCopy). */
  readCopy?: WhipBroadcastOptions['readCopy'];
  /** Each relay's resend buffer, bytes (WhipBroadcastOptions.resendBufferBytes). */
  resendBufferBytes?: number;
  /** Local address the publishers' ICE binds to (e.g. 127.0.0.1); all interfaces by default. */
  bindAddress?: string;
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  log?: SessionLog;
  /** Default MAX_WHIP_BROADCASTS. */
  maxBroadcasts?: number;
  /**
   * Where a resumed broadcast continues this server's unfinished copy, or its copy finalized moments ago, for the
   * publisher holding the stream's `secret` (IngestManager.continuation).
   */
  continuation?: (streamId: string, secret: string) => Promise<Continuation | Error>;
  /** The MIME type of this server's copy of a stream being written or finished moments ago (IngestManager.mimeOf). */
  mimeOf?: (streamId: string) => string | undefined;
}

export class WhipManager {
  readonly #o: WhipManagerOptions;
  readonly #broadcasts = new Map<string, WhipBroadcast>();
  readonly #ended = new Map<string, Promise<PublishResult>>();
  #closed = false;

  constructor(opts: WhipManagerOptions) {
    this.#o = opts;
  }

  /** Loads the WHIP stack ahead of the first offer (call once the server is up, off its startup path). */
  warm(): Promise<void> {
    return import('./whip-broadcast.js').then(
      () => undefined,
      () => undefined,
    );
  }

  get size(): number {
    return this.#broadcasts.size;
  }

  offer(raw: unknown, ack: (r: Ack<{ sdp: string }>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(whipOfferSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, `invalid whip-offer: ${p.message}`));
    const offer = p.value;
    // The RTP and WebM stack (werift-rtp) costs ~0.5 s of CPU to load: only servers that get a WHIP offer pay it.
    void import('./whip-broadcast.js').then(
      async ({ WhipBroadcast }) => {
        if (!offer.resume) return this.#start(WhipBroadcast, offer, ack);
        // Checked before the copy is touched: a finished recording is only reopened for an offer that can continue it.
        const mismatch = this.#mismatch(offer);
        if (mismatch) return ack(ackError(ErrorCode.badRequest, mismatch));
        const c = this.#o.continuation
          ? await this.#o.continuation(offer.streamId, offer.assignment.streamSecret)
          : new Error('this server takes no ingest');
        if (c instanceof Error) return ack(ackError(ErrorCode.conflict, c.message));
        this.#start(WhipBroadcast, offer, ack, c);
      },
      (err: Error) => ack(ackError(ErrorCode.internal, `cannot load the WHIP stack: ${err.message}`)),
    );
  }

  /** Why `offer` cannot continue this server's copy of its stream (codec, tracks, or a malformed SDP), if it cannot. */
  #mismatch(offer: WhipOffer): string | undefined {
    const mime = this.#o.mimeOf?.(offer.streamId);
    if (mime === undefined) return undefined;
    try {
      return continuationMismatch(offer.streamId, summarizeOffer(offer.sdp), mime);
    } catch (err) {
      return (err as Error).message;
    }
  }

  #start(Broadcast: typeof WhipBroadcast, offer: WhipOffer, ack: (r: Ack<{ sdp: string }>) => void, continuation?: Continuation): void {
    if (this.#closed) return ack(ackError(ErrorCode.noCapacity, 'the server is shutting down'));
    const max = this.#o.maxBroadcasts ?? MAX_WHIP_BROADCASTS;
    if (this.#broadcasts.has(offer.resourceId)) return ack(ackError(ErrorCode.conflict, 'this WHIP resource exists already'));
    if (this.#broadcasts.size >= max) return ack(ackError(ErrorCode.noCapacity, `this server relays ${max} WHIP broadcasts already`));
    let b: WhipBroadcast;
    try {
      b = new Broadcast({
        offer,
        emitToHub: this.#o.emitToHub,
        readCopy: this.#o.readCopy,
        resendBufferBytes: this.#o.resendBufferBytes,
        bindAddress: this.#o.bindAddress,
        wrtc: this.#o.wrtc,
        iceServers: this.#o.iceServers,
        iceServerUrls: iceUrls(this.#o.iceServers),
        log: this.#o.log,
        continuation,
      });
    } catch (err) {
      return ack(ackError(err instanceof SdpError ? ErrorCode.badRequest : ErrorCode.internal, (err as Error).message));
    }
    this.#broadcasts.set(offer.resourceId, b);
    b.once('closed', () => this.#broadcasts.delete(offer.resourceId));
    b.start().then(
      (sdp) => ack({ ok: true, sdp }),
      (err: Error) => {
        b.close('start-failed');
        ack(ackError(ErrorCode.noIngest, err.message));
      },
    );
  }

  end(raw: unknown, ack: (r: Ack<WhipEndReply>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(whipEndSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, `invalid whip-end: ${p.message}`));
    const id = p.value.resourceId;
    const b = this.#broadcasts.get(id);
    const ending = b ? this.#remember(id, b.end()) : this.#ended.get(id);
    if (!ending) return ack(ackError(ErrorCode.badRequest, 'no such WHIP broadcast here'));
    ending.then(
      (r) => ack({ ok: true, bytes: r.bytes, sha256: r.sha256, stored: r.stored }),
      (err: Error) => ack(ackError(ErrorCode.internal, err.message)),
    );
  }

  /**
   * A hub that restarted since the POST asks who relays `resourceId` for the key whose digest it holds (a DELETE came):
   * this server, when it does and the offer carried that digest — the stream and its secret, for the hub to take the
   * resource back.
   */
  adopt(raw: unknown, ack: (r: Ack<WhipAdoptReply>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(whipAdoptSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, `invalid whip-adopt: ${p.message}`));
    const b = this.#broadcasts.get(p.value.resourceId);
    if (!b || !sameDigest(b.offer.keyDigest, p.value.keyDigest)) return ack(ackError(ErrorCode.badRequest, 'no such WHIP broadcast here'));
    ack({ ok: true, streamId: b.streamId, streamSecret: b.offer.assignment.streamSecret });
  }

  /**
   * Keeps an ending broadcast's result for ENDED_KEPT_MS: a hub that lost this server's connection while it finalized
   * (missed heartbeats, a blip) asks again once it is back, and gets the same answer rather than "no such broadcast".
   */
  #remember(id: string, ending: Promise<PublishResult>): Promise<PublishResult> {
    if (this.#ended.get(id) === ending) return ending;
    this.#ended.delete(id);
    if (this.#ended.size >= MAX_ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value!);
    this.#ended.set(id, ending);
    ending.catch(() => undefined);
    setTimeout(() => {
      if (this.#ended.get(id) === ending) this.#ended.delete(id);
    }, ENDED_KEPT_MS).unref();
    return ending;
  }

  /** Results kept (ends asked again after a lost connection); for tests. */
  get endedKept(): number {
    return this.#ended.size;
  }

  /** A signal from an entry server's ingest session to a broadcast's relay. */
  signal(raw: unknown): void {
    const p = parse(whipSignalSchema, raw);
    if (p.ok) this.#broadcasts.get(p.value.resourceId)?.socket.deliver('signal', { sessionId: p.value.sessionId, data: p.value.data });
  }

  sessionClose(raw: unknown): void {
    const p = parse(whipLeaveSchema, raw);
    if (p.ok)
      this.#broadcasts
        .get(p.value.resourceId)
        ?.socket.deliver('session-close', { sessionId: p.value.sessionId, reason: p.value.reason ?? 'closed' });
  }

  close(): void {
    this.#closed = true;
    for (const b of [...this.#broadcasts.values()]) b.close('server-closing');
  }
}

/** libdatachannel takes `stun:host:port` / `turn:user:pass@host:port` strings. */
export function iceUrls(servers: RTCIceServer[] | undefined): string[] {
  return (servers ?? []).flatMap((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls]).map((u) =>
      s.username && /^turns?:/.test(u)
        ? u.replace(/^(turns?):/, `$1:${encodeURIComponent(s.username)}:${encodeURIComponent(String(s.credential ?? ''))}@`)
        : u,
    ),
  );
}

/** Whether two sha256 hex digests are equal (in constant time); an unknown one never is. */
function sameDigest(known: string | undefined, presented: string): boolean {
  return known !== undefined && known.length === presented.length && timingSafeEqual(Buffer.from(known), Buffer.from(presented));
}
