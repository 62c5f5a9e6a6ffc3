// The one Node-side module that imports simple-peer: peers over node-datachannel's polyfill.
import SimplePeer from 'simple-peer';
import * as polyfill from 'node-datachannel/polyfill';

export type Peer = SimplePeer.Instance;
/** The constructor itself, for code that takes it injected (the Viewer). */
export { SimplePeer };
export type SignalData = SimplePeer.SignalData;

/** The WebRTC implementation simple-peer expects in `opts.wrtc`. */
export type Wrtc = NonNullable<SimplePeer.Options['wrtc']>;

/**
 * node-datachannel's RTCPeerConnection adapted to simple-peer:
 *
 * - The polyfill returns RTCSessionDescription objects whose `sdp` is read-only, but
 *   simple-peer assigns `offer.sdp = sdpTransform(offer.sdp)`: hand it plain `{ type, sdp }`.
 * - libdatachannel negotiates by itself once the data channel exists, so the offer
 *   simple-peer receives is already the local description; setting it again is skipped.
 * - An offerer keeps its ICE candidates to itself until the answer is applied. Otherwise
 *   the answerer can reach it first (an early connectivity check) and start DTLS while
 *   libdatachannel has not yet stored the answer's fingerprint: the handshake then fails
 *   with "unknown CA" (seen a few percent of the time on a loaded machine). Candidates are
 *   still trickled, just after the answer.
 */
class PlainSdpPeerConnection extends polyfill.RTCPeerConnection {
  /** Local candidate events held back until the remote description is set; null once released. */
  #held: Event[] | null = [];
  #onIceCandidate: ((ev: Event) => void) | null = null;

  constructor(config?: RTCConfiguration) {
    super(config);
    // The polyfill calls `this.onicecandidate?.(e)` for each local candidate: route it through #deliver.
    Object.defineProperty(this, 'onicecandidate', {
      configurable: true,
      get: () => (this.#onIceCandidate ? this.#deliver : null),
      set: (fn: ((ev: Event) => void) | null) => {
        this.#onIceCandidate = fn;
      },
    });
  }

  override get localDescription(): RTCSessionDescription {
    const d = super.localDescription;
    if (!this.#held || !d?.sdp) return d;
    return new polyfill.RTCSessionDescription({ type: d.type, sdp: withoutCandidates(d.sdp) }) as unknown as RTCSessionDescription;
  }

  override async createOffer(): Promise<RTCSessionDescriptionInit> {
    const d = (await super.createOffer()) as RTCSessionDescriptionInit;
    return { type: d.type, sdp: this.#held && d.sdp ? withoutCandidates(d.sdp) : d.sdp };
  }

  override async createAnswer(): Promise<RTCSessionDescriptionInit> {
    const d = (await super.createAnswer()) as RTCSessionDescriptionInit;
    return { type: d.type, sdp: d.sdp };
  }

  override async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    if (description?.type === 'offer' && super.localDescription?.type === 'offer') return;
    return super.setLocalDescription(description as RTCSessionDescriptionInit);
  }

  override async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await super.setRemoteDescription(description);
    const held = this.#held ?? [];
    this.#held = null;
    for (const ev of held) this.#onIceCandidate?.(ev);
  }

  readonly #deliver = (ev: Event): void => {
    if (this.#held) this.#held.push(ev);
    else this.#onIceCandidate?.(ev);
  };
}

/** `sdp` without its ICE candidates and end-of-candidates: an offer that lets no answerer reach us before its answer is set. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}

/** node-datachannel's polyfill, ready to pass as simple-peer's `wrtc`. */
export const nodeWrtc: Wrtc = {
  RTCPeerConnection: PlainSdpPeerConnection as unknown as Wrtc['RTCPeerConnection'],
  RTCSessionDescription: polyfill.RTCSessionDescription as unknown as Wrtc['RTCSessionDescription'],
  RTCIceCandidate: polyfill.RTCIceCandidate as unknown as Wrtc['RTCIceCandidate'],
};

/** Minimal logger for a session (pino's Logger fits). */
export interface SessionLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What every server-side peer session (serving or ingesting) is built from. */
export interface PeerSessionOptions {
  sessionId: string;
  /** Sends one of our signals to the other party (through the hub). */
  signal: (data: unknown) => void;
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  log?: SessionLog;
  /** Monotonic clock, ms. */
  now?: () => number;
}

export interface CreatePeerOptions {
  initiator: boolean;
  /** WebRTC implementation; defaults to node-datachannel's polyfill. */
  wrtc?: Wrtc;
  /** ICE servers (STUN/TURN); loopback needs none. */
  config?: { iceServers?: RTCIceServer[] };
}

/**
 * A simple-peer in object mode, so text messages arrive as strings and binary
 * ones as Uint8Array (Buffer): the frame protocol tells them apart by that.
 */
export function createPeer(opts: CreatePeerOptions): Peer {
  return new SimplePeer({
    initiator: opts.initiator,
    wrtc: opts.wrtc ?? nodeWrtc,
    config: { iceServers: opts.config?.iceServers ?? [] },
    objectMode: true,
    trickle: true,
  });
}

/** How often `destroyWhenSent` looks at the channel's buffer (ms). */
const SENT_POLL_MS = 20;

/**
 * Calls `then` once what `peer` has queued has had time to leave — its channel's buffer empty for `minMs` — or after
 * `maxMs` whatever it still holds (at once when the peer is gone). The buffer counts only what SCTP has not taken
 * yet, and a connection closed destroys what SCTP still holds (seen: ≈ 0.6 MB lost on loopback), hence the time
 * after it empties. A frame sent just before (an error saying why a session ends) then reaches the other side behind
 * the media queued ahead of it, instead of dying with the channel after a fixed wait that a slow link or a loaded
 * machine outlasts; a peer that reads nothing is held `maxMs` at most.
 */
export function whenSent(peer: Peer, minMs: number, maxMs: number, then: () => void): void {
  const started = performance.now();
  let emptySince: number | null = null;
  const check = () => {
    const now = performance.now();
    if (peer.bufferSize > 0) emptySince = null;
    else emptySince ??= now;
    if (peer.destroyed || (emptySince !== null && now - emptySince >= minMs) || now - started >= maxMs) then();
    else setTimeout(check, emptySince === null ? SENT_POLL_MS : Math.min(SENT_POLL_MS, minMs - (now - emptySince))).unref?.();
  };
  setTimeout(check, 0).unref?.();
}

/** `whenSent`, then destroys the peer. */
export function destroyWhenSent(peer: Peer, minMs: number, maxMs: number): void {
  whenSent(peer, minMs, maxMs, () => peer.destroy());
}
