// The WHIP publisher's WebRTC peer: libdatachannel's native media tracks, answering a VP8 or H.264 (+ Opus) offer.
import { EventEmitter } from 'node:events';
import { PeerConnection, RtcpReceivingSession, type Track } from 'node-datachannel';
import { restrictOffer, SdpError, type OfferSummary } from '../../signaling/protocol/whip-sdp.js';
import type { TrackKind } from './rtp-to-webm.js';

/** ICE gathering for the answer (non-trickle WHIP) must finish within this. */
export const GATHER_TIMEOUT_MS = 5_000;
/** Keyframe requests (PLI) are sent at most this often. */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500;

export interface WhipPeerOptions {
  /** Peer name in libdatachannel's logs. */
  name: string;
  offer: string;
  summary: OfferSummary;
  /** ICE servers as libdatachannel URLs (`stun:host:port`, `turn:user:pass@host:port`). */
  iceServers?: string[];
  /** Local address ICE binds to (e.g. 127.0.0.1 in tests); all interfaces by default. */
  bindAddress?: string;
  /** Monotonic clock, ms. */
  now?: () => number;
}

export interface WhipPeerEvents {
  rtp: [kind: TrackKind, packet: Buffer];
  connected: [];
  /** Once: the peer failed, closed, or was closed. */
  closed: [reason: string];
}

/**
 * libdatachannel answers by itself once the offer is set (auto-negotiation); the
 * answer is read when ICE gathering completes, so it carries every candidate. The
 * polyfill's RTCPeerConnection has no media (its addTrack throws): the native API is used.
 */
export class WhipPeer extends EventEmitter<WhipPeerEvents> {
  readonly #pc: PeerConnection;
  readonly #now: () => number;
  readonly #tracks = new Map<TrackKind, Track>();
  readonly #summary: OfferSummary;
  #lastKeyframeRequestMs = -Infinity;
  #closed = false;

  constructor(opts: WhipPeerOptions) {
    super();
    this.#now = opts.now ?? (() => performance.now());
    this.#summary = opts.summary;
    this.#pc = new PeerConnection(opts.name, {
      iceServers: opts.iceServers ?? [],
      ...(opts.bindAddress ? { bindAddress: opts.bindAddress } : {}),
    });
    this.#pc.onTrack((track) => this.#onTrack(track));
    this.#pc.onStateChange((state) => {
      if (state === 'connected') this.emit('connected');
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.close(`peer-${state}`);
    });
    // Answered with only what the muxer reads: see restrictOffer.
    try {
      setOffer(this.#pc, restrictOffer(opts.offer, opts.summary));
    } catch (err) {
      this.#pc.close();
      throw err;
    }
  }

  /** The SDP answer, once ICE gathering completed (rejects after GATHER_TIMEOUT_MS). */
  answer(): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        const d = this.#pc.localDescription();
        if (d?.sdp) resolve(d.sdp);
        else reject(new Error('libdatachannel produced no answer'));
      };
      const timer = setTimeout(() => reject(new Error(`ICE gathering did not complete within ${GATHER_TIMEOUT_MS} ms`)), GATHER_TIMEOUT_MS);
      if (this.#pc.gatheringState() === 'complete') return done();
      this.#pc.onGatheringStateChange((s) => s === 'complete' && done());
    });
  }

  /** Ask the publisher for a video keyframe (PLI), at most every KEYFRAME_REQUEST_INTERVAL_MS. */
  requestKeyframe(): void {
    const now = this.#now();
    if (now - this.#lastKeyframeRequestMs < KEYFRAME_REQUEST_INTERVAL_MS) return;
    const video = this.#tracks.get('video');
    if (!video?.isOpen()) return;
    this.#lastKeyframeRequestMs = now;
    video.requestKeyframe();
  }

  /** Idempotent. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#tracks.values()) t.close();
    this.#tracks.clear();
    this.#pc.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  #onTrack(track: Track): void {
    const mid = track.mid();
    const kind: TrackKind | undefined = mid === this.#summary.video.mid ? 'video' : mid === this.#summary.audio?.mid ? 'audio' : undefined;
    if (!kind || this.#tracks.has(kind)) return;
    this.#tracks.set(kind, track);
    // Sends receiver reports and carries requestKeyframe's PLI.
    track.setMediaHandler(new RtcpReceivingSession());
    track.onMessage((msg) => {
      if (!this.#closed) this.emit('rtp', kind, msg);
    });
    if (kind === 'video') track.onOpen(() => this.requestKeyframe());
  }
}

/**
 * Sets a client's offer on `pc`. What libdatachannel refuses (no ICE credentials, a malformed fingerprint or line)
 * is the client's fault, not the server's: an SdpError, so the hub answers 400 at once rather than try another server.
 */
export function setOffer(pc: PeerConnection, sdp: string): void {
  try {
    pc.setRemoteDescription(sdp, 'offer');
  } catch (err) {
    const message = (err as Error).message.replace(/^libdatachannel error while adding remote description: /, '');
    throw new SdpError(`bad SDP offer: ${message}`, { cause: err });
  }
}
