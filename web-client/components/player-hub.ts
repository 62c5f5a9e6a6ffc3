// The player's /client socket: the one the page opened while the app loaded (or a new one), its state on screen, and the polls it feeds.
import { hubUrls, takeEarlySocket } from './client-socket.js';
import { startEarlyWatch } from './early-watch.js';
import { connectClient, iceServers, type ClientSocket } from './hub-socket.js';
import { whepEndpoints } from './rtc-live.js';
import { VIEWERS_POLL_MS } from './catalog-source.js';
import type { HubState } from './playback-status.js';

/** How often the catalog is fetched again while the page is visible (ms). */
export const CATALOG_REFRESH_MS = 10_000;
export { VIEWERS_POLL_MS } from './catalog-source.js';

/** What the player does as the socket comes and goes and a poll falls due. */
export interface PlayerHubHost {
  /** The state changed: render again. */
  changed(): void;
  /** (Re)connected: the catalog and the watched entry are fetched again. */
  connected(): void;
  /** Due every CATALOG_REFRESH_MS while the page is visible and the hub connected. */
  refreshCatalog(): void;
  /** Due every VIEWERS_POLL_MS, likewise. */
  refreshViewers(): void;
}

/** From `connect` (the player is in the page) to `disconnect`. */
export class PlayerHub {
  state: HubState = 'connecting';
  readonly #host: PlayerHubHost;
  #socket: ClientSocket | null = null;
  #catalogTimer: ReturnType<typeof setInterval> | undefined;
  #viewersTimer: ReturnType<typeof setInterval> | undefined;

  constructor(host: PlayerHubHost) {
    this.#host = host;
  }

  get socket(): ClientSocket | null {
    return this.#socket;
  }

  /** Where a WHEP offer for `streamId` goes (this page's hub, then the others), and the operator's ICE servers. */
  whep(streamId: string): { endpoints: string[]; iceServers: RTCIceServer[] } {
    return { endpoints: whepEndpoints(streamId, location.origin, hubUrls), iceServers };
  }

  connect(): void {
    // The first player of the page takes the socket opened while the app loaded (maybe connected already), and the
    // watch started on it: started now if the early-watch chunk's own start has not run yet.
    startEarlyWatch();
    const socket = takeEarlySocket() ?? connectClient();
    this.#socket = socket;
    const onConnect = (): void => {
      this.state = 'connected';
      this.#host.changed();
      this.#host.connected();
    };
    socket.on('connect', onConnect);
    if (socket.connected) onConnect();
    socket.on('disconnect', () => {
      this.state = 'offline';
      this.#host.changed();
    });
    socket.on('connect_error', () => {
      this.state = 'offline';
      this.#host.changed();
    });
    this.#catalogTimer = setInterval(() => {
      if (document.visibilityState === 'visible' && this.state === 'connected') this.#host.refreshCatalog();
    }, CATALOG_REFRESH_MS);
    this.#viewersTimer = setInterval(() => {
      if (document.visibilityState === 'visible' && this.state === 'connected') this.#host.refreshViewers();
    }, VIEWERS_POLL_MS);
  }

  disconnect(): void {
    clearInterval(this.#catalogTimer);
    clearInterval(this.#viewersTimer);
    this.#socket?.removeAllListeners();
    this.#socket?.disconnect();
    this.#socket = null;
    this.state = 'connecting';
  }
}
