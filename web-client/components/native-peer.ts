// The player's WebRTC peer: the browser's own RTCPeerConnection and one data channel behind the part of simple-peer's
// API a Viewer uses (ViewerPeer), speaking simple-peer's signal format to the server's simple-peer. The player's first
// bundle goes without simple-peer's prebuilt bundle (≈ 97 kB: its own Buffer, streams and events).
import type { AheadPeer } from '../../client-sdk/viewer-types.js';

type PeerEvents = {
  signal: [data: SignalData];
  connect: [];
  data: [data: string | Uint8Array];
  close: [];
  error: [err: Error];
};

/** simple-peer's signals: an SDP, or one ICE candidate. */
type SignalData = { type: 'offer' | 'answer'; sdp: string } | { type: 'candidate'; candidate: RTCIceCandidateInit };

type OfferData = { type: 'offer'; sdp: string };

/**
 * What sees the channel open and every message before the peer's listeners do, without taking them: a page that plays
 * before its Viewer exists (early-playback.ts), while the events stay held for the Viewer.
 */
export interface PeerTap {
  connect(): void;
  data(data: string | Uint8Array): void;
  /** The peer closed (destroyed, or its channel closed). */
  close(): void;
}

/**
 * Media bytes a peer holds while nobody listens for them (a peer made ahead that connected before the player's code
 * came up): past this it closes, and the Viewer that takes it fails over.
 */
export const MAX_HELD_DATA_BYTES = 4 * 1024 * 1024;

/** An error with simple-peer's stable code (`ERR_…`). */
function peerError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Always the initiator: it makes the offer (its first `signal`), takes the answer and the server's candidates
 * through `signal()`, and fires `connect` when the channel opens. `destroy(err?)` fires `error` (with an error)
 * then `close`, once, as simple-peer does. Events fired before anyone listens to them (a peer made ahead of its
 * Viewer) are held and handed to the first listener of each.
 */
export class NativePeer implements AheadPeer {
  readonly #pc: RTCPeerConnection;
  readonly #channel: RTCDataChannel;
  readonly #listeners = new Map<keyof PeerEvents, Array<(...a: never[]) => void>>();
  /** Per event nobody listened to yet: what it fired, in order. */
  readonly #held = new Map<keyof PeerEvents, unknown[][]>();
  #heldBytes = 0;
  /** Candidates that came before the answer: applied once it is. */
  #pending: RTCIceCandidateInit[] | null = [];
  #destroyed = false;
  #tap: PeerTap | null = null;
  #played = false;
  #offerMade: (offer: OfferData | null) => void = () => undefined;
  readonly #offered = new Promise<OfferData | null>((resolve) => (this.#offerMade = resolve));

  /**
   * `iceServers` may come later (a peer made at page load, before /api/config is read): the offer is made,
   * and ICE gathered, once they are known.
   */
  constructor(opts: { initiator: boolean; config?: { iceServers?: RTCIceServer[] }; iceServers?: Promise<RTCIceServer[]> }) {
    if (!opts.initiator) throw new Error('NativePeer only makes offers');
    const pc = new RTCPeerConnection({ iceServers: opts.config?.iceServers ?? [] });
    this.#pc = pc;
    const channel = pc.createDataChannel(randomLabel());
    channel.binaryType = 'arraybuffer';
    this.#channel = channel;
    channel.onopen = () => {
      this.#tap?.connect();
      this.#emit('connect');
    };
    channel.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
      const data = typeof e.data === 'string' ? e.data : new Uint8Array(e.data);
      this.#tap?.data(data);
      this.#emit('data', data);
    };
    channel.onclose = () => this.destroy();
    channel.onerror = (e) => this.destroy(peerError('ERR_DATA_CHANNEL', (e as RTCErrorEvent).error?.message ?? 'data channel error'));
    pc.onicecandidate = (e) => {
      if (e.candidate) this.#emit('signal', { type: 'candidate', candidate: e.candidate.toJSON() });
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed') this.destroy(peerError('ERR_ICE_CONNECTION_FAILURE', 'Ice connection failed.'));
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') this.destroy(peerError('ERR_CONNECTION_FAILURE', 'Connection failed.'));
    };
    void this.#offer(opts.iceServers);
  }

  on<K extends keyof PeerEvents>(event: K, listener: (...a: PeerEvents[K]) => void): this {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as (...a: never[]) => void);
    this.#listeners.set(event, list);
    const held = this.#held.get(event);
    this.#held.delete(event);
    if (event === 'data') this.#heldBytes = 0;
    for (const args of held ?? []) (listener as (...a: unknown[]) => void)(...args);
    return this;
  }

  /** The server's answer or one of its candidates. */
  signal(data: unknown): void {
    if (this.#destroyed) throw peerError('ERR_DESTROYED', 'cannot signal after peer is destroyed');
    const d = data as Partial<{ type: string; sdp: string; candidate: RTCIceCandidateInit }>;
    if (d.type === 'answer' && typeof d.sdp === 'string') {
      this.#pc.setRemoteDescription({ type: 'answer', sdp: d.sdp }).then(
        () => {
          const pending = this.#pending ?? [];
          this.#pending = null;
          for (const c of pending) this.#addCandidate(c);
        },
        (err: Error) => this.destroy(peerError('ERR_SET_REMOTE_DESCRIPTION', err.message)),
      );
    } else if (d.candidate && typeof d.candidate === 'object') {
      if (this.#pending) this.#pending.push(d.candidate);
      else this.#addCandidate(d.candidate);
    } else if (!d.type || d.type === 'candidate') {
      throw peerError('ERR_SIGNALING', 'signal() called with invalid signal data');
    }
  }

  /** This peer's offer once made (also its first `signal`); null when it failed or was destroyed first. */
  offered(): Promise<OfferData | null> {
    return this.#offered;
  }

  send(data: string): void {
    this.#channel.send(data);
  }

  /** See PeerTap; null removes it. */
  tap(tap: PeerTap | null): void {
    this.#tap = tap;
  }

  /** Asks the server to start sending before any Viewer took this peer (see AheadPeer.played); once connected. */
  play(): void {
    if (this.#played || this.#destroyed) return;
    // The control frame `{ t: 'play' }` (signaling/protocol/frames.ts), written out: this module loads without zod.
    this.#channel.send(JSON.stringify({ t: 'play' }));
    this.#played = true;
  }

  get played(): boolean {
    return this.#played;
  }

  destroy(err?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#offerMade(null);
    const tap = this.#tap;
    this.#tap = null;
    tap?.close();
    this.#channel.onopen = this.#channel.onmessage = this.#channel.onclose = this.#channel.onerror = null;
    this.#pc.onicecandidate = this.#pc.oniceconnectionstatechange = this.#pc.onconnectionstatechange = null;
    try {
      this.#channel.close();
      this.#pc.close();
    } catch {
      // Already closed by the browser: nothing left to release.
    }
    if (err) this.#emit('error', err);
    this.#emit('close');
  }

  async #offer(later?: Promise<RTCIceServer[]>): Promise<void> {
    try {
      const iceServers = later ? await later : [];
      if (this.#destroyed) return;
      if (iceServers.length) this.#pc.setConfiguration({ iceServers });
      await this.#pc.setLocalDescription(await this.#pc.createOffer());
      const sdp = this.#pc.localDescription?.sdp;
      if (!this.#destroyed && sdp) {
        this.#offerMade({ type: 'offer', sdp });
        this.#emit('signal', { type: 'offer', sdp });
      }
    } catch (err) {
      this.destroy(peerError('ERR_CREATE_OFFER', (err as Error).message));
    }
  }

  #addCandidate(c: RTCIceCandidateInit): void {
    // A candidate the browser cannot use (another address family, a bad line) is not worth the session.
    this.#pc.addIceCandidate(c).catch(() => undefined);
  }

  #emit<K extends keyof PeerEvents>(event: K, ...args: PeerEvents[K]): void {
    if (this.#destroyed && event !== 'close' && event !== 'error') return;
    const listeners = this.#listeners.get(event);
    if (!listeners) return this.#hold(event, args);
    for (const l of listeners) (l as (...a: PeerEvents[K]) => void)(...args);
  }

  #hold<K extends keyof PeerEvents>(event: K, args: PeerEvents[K]): void {
    const held = this.#held.get(event) ?? [];
    held.push(args);
    this.#held.set(event, held);
    if (event !== 'data') return;
    const d = args[0] as string | Uint8Array;
    this.#heldBytes += typeof d === 'string' ? d.length : d.byteLength;
    if (this.#heldBytes > MAX_HELD_DATA_BYTES)
      this.destroy(peerError('ERR_HELD_TOO_MUCH', `more than ${MAX_HELD_DATA_BYTES} bytes came before the player`));
  }
}

function randomLabel(): string {
  const b = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * The page's first peer, made now (its RTCPeerConnection; the offer once `iceServers` are known) for the watch asked
 * ahead: the browser's WebRTC start-up then overlaps loading the rest of the page.
 */
export function makePeerAhead(iceServers: Promise<RTCIceServer[]>): NativePeer {
  return new NativePeer({ initiator: true, iceServers });
}
