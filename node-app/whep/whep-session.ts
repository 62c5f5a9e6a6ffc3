// One WHEP player: libdatachannel sendonly tracks answering its offer, fed in real time with RTP packetized from the asset's WebM frames.
import { EventEmitter } from 'node:events';
import { Audio, PeerConnection, RtcpNackResponder, Video, type Track } from 'node-datachannel';
import { summarizeOffer } from '../../signaling/protocol/whip-sdp.js';
import type { ByteSource } from '../contracts.js';
import { GATHER_TIMEOUT_MS } from '../whip/whip-peer.js';
import { hasPli, RtpPacketizer } from './rtp-packetizer.js';
import { openWebm, type MediaFrame, type WebmFrames } from './webm-packets.js';

/** A player that has not connected by then is dropped, ms. */
export const WHEP_CONNECT_TIMEOUT_MS = 15_000;
/** Sent RTP packets kept per track to answer NACKs (libdatachannel's RtcpNackResponder). */
export const NACK_HISTORY_PACKETS = 512;

export interface WhepSessionOptions {
  resourceId: string;
  offer: string;
  source: ByteSource;
  iceServers?: string[];
  bindAddress?: string;
  /** Monotonic clock, ms. */
  now?: () => number;
}

export interface WhepSessionEvents {
  /** Once: the player left, the asset ended, or the session was closed. */
  closed: [reason: string];
}

interface Out {
  track: Track;
  rtp: RtpPacketizer;
}

/**
 * The player's offer names the m-lines it receives on; tracks with those mids are
 * added before the offer is set, so libdatachannel's answer carries our SSRCs and
 * `sendonly`. Frames go out at the pace of their WebM times from the first one (a
 * keyframe: the start of a stored asset, the newest Cluster of a live one). A PLI
 * holds video back to the next keyframe (stored media cannot make one); NACKs are
 * answered from the last NACK_HISTORY_PACKETS sent.
 */
export class WhepSession extends EventEmitter<WhepSessionEvents> {
  readonly resourceId: string;
  readonly #o: WhepSessionOptions;
  readonly #now: () => number;
  readonly #pc: PeerConnection;
  readonly #video: Out;
  readonly #audio: Out | undefined;
  #webm: WebmFrames | undefined;
  #closed = false;
  #waitKeyframe = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  stats = { videoFrames: 0, audioFrames: 0, bytes: 0, plis: 0 };

  /** Throws SdpError for an offer that receives no VP8. */
  constructor(opts: WhepSessionOptions) {
    super();
    this.#o = opts;
    this.resourceId = opts.resourceId;
    this.#now = opts.now ?? (() => performance.now());
    const summary = summarizeOffer(opts.offer, 'receive');
    this.#pc = new PeerConnection(`whep-${opts.resourceId}`, {
      iceServers: opts.iceServers ?? [],
      ...(opts.bindAddress ? { bindAddress: opts.bindAddress } : {}),
    });
    const v = new Video(summary.video.mid, 'SendOnly');
    const vpt = summary.video.payloadTypes[0]!;
    v.addVP8Codec(vpt);
    const vrtp = new RtpPacketizer({ codec: 'vp8', payloadType: vpt, clockRateHz: 90_000 });
    v.addSSRC(vrtp.ssrc, 'baton', 'baton', 'video');
    this.#video = { track: this.#pc.addTrack(v), rtp: vrtp };
    if (summary.audio) {
      const a = new Audio(summary.audio.mid, 'SendOnly');
      const apt = summary.audio.payloadTypes[0]!;
      a.addOpusCodec(apt);
      const artp = new RtpPacketizer({ codec: 'opus', payloadType: apt, clockRateHz: 48_000 });
      a.addSSRC(artp.ssrc, 'baton', 'baton', 'audio');
      this.#audio = { track: this.#pc.addTrack(a), rtp: artp };
    }
    for (const o of [this.#video, this.#audio]) o?.track.setMediaHandler(new RtcpNackResponder(NACK_HISTORY_PACKETS));
    this.#video.track.onMessage((rtcp) => {
      if (!hasPli(rtcp)) return;
      this.stats.plis++;
      this.#waitKeyframe = true;
    });
    this.#video.track.onOpen(() => void this.#pump().catch(() => this.close('source-failed')));
    this.#pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.close(`peer-${state}`);
    });
    this.#timer = setTimeout(() => this.#pc.state() !== 'connected' && this.close('connect-timeout'), WHEP_CONNECT_TIMEOUT_MS);
    this.#timer.unref?.();
    this.#pc.setRemoteDescription(opts.offer, 'offer');
  }

  /** Opens the asset (its video must be VP8) and answers once ICE gathering completed. */
  async answer(): Promise<string> {
    this.#webm = await openWebm(this.#o.source);
    if (this.#closed) throw new Error('closed');
    if (this.#webm.videoCodec !== 'vp8') throw new Error(`the asset's video is ${this.#webm.videoCodec ?? 'absent'}; WHEP plays VP8`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ICE gathering did not complete within ${GATHER_TIMEOUT_MS} ms`)), GATHER_TIMEOUT_MS);
      const done = () => (clearTimeout(timer), resolve());
      if (this.#pc.gatheringState() === 'complete') return done();
      this.#pc.onGatheringStateChange((s) => s === 'complete' && done());
    });
    const d = this.#pc.localDescription();
    if (!d?.sdp) throw new Error('libdatachannel produced no answer');
    return d.sdp;
  }

  /** Idempotent. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#webm?.close();
    this.#o.source.close();
    for (const o of [this.#video, this.#audio]) o?.track.close();
    this.#pc.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  async #pump(): Promise<void> {
    const webm = this.#webm;
    if (!webm || this.#closed) return;
    let startMs: number | undefined;
    let baseS = 0;
    for await (const f of webm.frames()) {
      if (this.#closed) return;
      if (startMs === undefined) {
        startMs = this.#now();
        baseS = f.timestampS;
      }
      const wait = startMs + (f.timestampS - baseS) * 1000 - this.#now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (this.#closed) return;
      this.#send(f);
    }
    this.close('ended');
  }

  #send(f: MediaFrame): void {
    const out = f.kind === 'video' ? this.#video : this.#audio;
    if (!out || !out.track.isOpen()) return;
    if (f.kind === 'video') {
      if (this.#waitKeyframe && !f.key) return;
      if (f.key) this.#waitKeyframe = false;
      this.stats.videoFrames++;
    } else {
      // Audio waits for the first video keyframe, so both start together.
      if (this.stats.videoFrames === 0) return;
      this.stats.audioFrames++;
    }
    for (const p of out.rtp.packetize(f.data, f.timestampS)) {
      out.track.sendMessageBinary(p);
      this.stats.bytes += p.byteLength;
    }
  }
}
