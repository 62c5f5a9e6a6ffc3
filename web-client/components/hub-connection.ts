// One hub connection per page, as a Lit reactive controller (lit.dev's controller
// composition): opens the socket when the host connects, tracks its state, closes it
// when the host goes. The broadcast and dashboard controllers compose it; the player's watch-controller.ts does not
// yet: it adopts the socket a watch page opened before the app loaded (client-socket.ts) and handles it itself.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Socket } from 'socket.io-client';

export type HubState = 'connecting' | 'connected' | 'offline';

export interface HubConnectionOptions<S extends Socket> {
  /** Opens the socket (e.g. `connectClient`, `connectDashboard`). */
  open: () => S;
  /** Each (re)connection, after `state` turned `connected`. */
  onConnect?: (socket: S) => void;
  /** Wires the page's own listeners once, right after `open`. */
  wire?: (socket: S) => void;
  /**
   * Work that must finish on the hub before the socket closes when the host goes
   * (e.g. a broadcast finalizing); the socket closes once it settles.
   */
  beforeClose?: () => Promise<unknown> | null;
}

export class HubConnection<S extends Socket = Socket> implements ReactiveController {
  state: HubState = 'connecting';
  /** The last connect error's message, cleared on connect. */
  lastError: string | null = null;

  readonly #host: ReactiveControllerHost;
  readonly #o: HubConnectionOptions<S>;
  #socket: S | null = null;

  constructor(host: ReactiveControllerHost, opts: HubConnectionOptions<S>) {
    this.#host = host;
    this.#o = opts;
    host.addController(this);
  }

  /** The socket while the host is connected (null before and after). */
  get socket(): S | null {
    return this.#socket;
  }

  get connected(): boolean {
    return this.#socket?.connected === true;
  }

  hostConnected(): void {
    const socket = this.#o.open();
    this.#socket = socket;
    this.state = 'connecting';
    socket.on('connect', () => {
      this.state = 'connected';
      this.lastError = null;
      this.#o.onConnect?.(socket);
      this.#host.requestUpdate();
    });
    socket.on('disconnect', () => this.#set('offline'));
    socket.on('connect_error', (err: Error) => {
      this.lastError = err.message;
      this.#set('offline');
    });
    this.#o.wire?.(socket);
  }

  hostDisconnected(): void {
    const socket = this.#socket;
    this.#socket = null;
    const close = (): void => {
      socket?.removeAllListeners();
      socket?.disconnect();
    };
    const pending = this.#o.beforeClose?.();
    if (pending) void pending.finally(close);
    else close();
  }

  #set(state: HubState): void {
    this.state = state;
    this.#host.requestUpdate();
  }
}
