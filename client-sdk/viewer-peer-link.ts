// One Viewer's WebRTC handshake with one server: the offer made before the session is known, the signals after, the connect deadline.
import { encodeControl, type ClientControl } from '../signaling/protocol/frames.js';
import type { ViewerOptions, ViewerPeer } from './viewer-types.js';
import { OFFER_WAIT_MS } from './watch-request.js';

/** A peer not connected by then is treated like a dead server. */
export const PEER_CONNECT_TIMEOUT_MS = 15_000;

/** What the link tells its Viewer; `lost` means this server is gone (the Viewer fails over). */
export interface PeerLinkEvents {
  connect(): void;
  data(data: unknown): void;
  lost(code: string, message: string): void;
}

/**
 * The peer of one selection. Its events count only while `current()` holds (the Viewer still uses this link and is
 * open); a link the Viewer replaced or closed stays silent. The peer is made at once, its events taken from `listen`;
 * or it is the peer of the watch asked ahead (`adopted`), whose signals that watch sends itself, its events taken
 * from `bind` (it may have connected already: what it fired comes after the Viewer learnt its session).
 */
export class PeerLink {
  readonly #o: ViewerOptions;
  readonly #current: () => boolean;
  readonly #events: PeerLinkEvents;
  readonly #peer: ViewerPeer;
  /** The peer's signals made before its session was known (sent once it is); null once it is. */
  #unsent: unknown[] | null = [];
  #sessionId: string | null = null;
  /** Called when the peer made its first signal or failed first (a watch request waits for its offer). */
  #offerWaiter: (() => void) | null = null;
  #connected = false;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** The peer of the watch asked ahead: its signals go from there, its events are taken once the session is bound. */
  readonly #adopted: boolean;

  constructor(o: ViewerOptions, current: () => boolean, events: PeerLinkEvents, adopted?: ViewerPeer) {
    this.#o = o;
    this.#current = current;
    this.#events = events;
    this.#adopted = adopted !== undefined;
    this.#peer =
      adopted ??
      new o.SimplePeer({
        initiator: true,
        wrtc: o.wrtc,
        config: { iceServers: o.iceServers ?? [] },
        objectMode: true,
        trickle: true,
      });
  }

  /** Start taking the peer's events (an adopted peer's: at `bind`); once `current()` holds. */
  listen(): void {
    if (!this.#adopted) this.#listen();
  }

  #listen(): void {
    const peer = this.#peer;
    const o = this.#o;
    const current = this.#current;
    const events = this.#events;
    if (!this.#adopted)
      peer.on('signal', (data) => {
        if (!current()) return;
        if (this.#unsent) {
          this.#unsent.push(data);
          this.#offerWaiter?.();
        } else if (this.#sessionId) o.socket.emit('signal', { sessionId: this.#sessionId, data });
      });
    peer.on('connect', () => {
      if (!current()) return;
      clearTimeout(this.#connectTimer);
      this.#connected = true;
      events.connect();
    });
    peer.on('data', (data) => {
      if (current()) events.data(data);
    });
    // The error before the close: an adopted peer that failed while nobody listened hands over both, and the
    // first taken is the one the Viewer reports.
    peer.on('error', (err) => {
      if (!current()) return;
      this.#offerWaiter?.();
      events.lost('peer-error', err.message);
    });
    peer.on('close', () => {
      if (!current()) return;
      this.#offerWaiter?.();
      events.lost('peer-closed', 'the connection to the server closed');
    });
  }

  /** The peer's offer, once made (null if the socket connects or OFFER_WAIT_MS passes first, or the peer fails). */
  firstSignal(): Promise<unknown> {
    const socket = this.#o.socket;
    const connecting = socket.connected === false;
    // The peer may have made its offer already.
    if (this.#unsent?.length) return Promise.resolve(this.#unsent[0]);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#offerWaiter = null;
        if (connecting) socket.off('connect', done);
        resolve(this.#current() && this.#unsent?.length ? this.#unsent[0] : null);
      };
      const timer = setTimeout(done, OFFER_WAIT_MS);
      this.#offerWaiter = done;
      // Waiting is free only while the socket connects: once it can carry the watch, the watch goes.
      if (connecting) socket.on('connect', done);
    });
  }

  /**
   * The session is known: the signals made so far go to it (but the first `sent` ones, which went with the watch);
   * an adopted peer's went already, and its events are taken from now.
   */
  bind(sessionId: string, sent: number): void {
    const unsent = this.#unsent ?? [];
    this.#unsent = null;
    this.#sessionId = sessionId;
    this.#connectTimer = setTimeout(() => {
      if (this.#current() && !this.#connected) this.#events.lost('connect-timeout', 'the server did not connect in time');
    }, PEER_CONNECT_TIMEOUT_MS);
    if (this.#adopted) this.#listen();
    else for (const data of unsent.slice(sent)) this.#o.socket.emit('signal', { sessionId, data });
  }

  /** A signal of the hub for this session (the server's answer or candidates). */
  signal(data: object): void {
    try {
      this.#peer.signal(data);
    } catch (err) {
      this.#events.lost('bad-signal', (err as Error).message);
    }
  }

  /** A control frame to the server; dropped until the peer connects. */
  /** The data channel is open (sends reach the server). */
  get connected(): boolean {
    return this.#connected;
  }

  send(msg: ClientControl): void {
    if (!this.#connected) return;
    try {
      this.#peer.send(encodeControl(msg));
    } catch (err) {
      this.#events.lost('send-failed', (err as Error).message);
    }
  }

  /** Release the peer (the Viewer stopped using this link first, so its events are ignored from now). */
  destroy(): void {
    clearTimeout(this.#connectTimer);
    this.#unsent = null;
    this.#offerWaiter?.();
    this.#connected = false;
    try {
      this.#peer.destroy();
    } catch {
      // Already destroyed: nothing to release.
    }
  }
}
