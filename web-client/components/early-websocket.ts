// The hub's WebSocket opened by index.html's inline script while the page's first module is still loading, and the
// socket.io transport that takes it over: the WebSocket's handshake and engine.io's open packet overlap the module's
// download and evaluation instead of following them. Reconnects, and a page that opened none, open their own.
import { WebSocket as WebSocketTransport } from 'engine.io-client';

/** What index.html's inline script leaves on `window`: the WebSocket and the messages it received before anyone listened. */
export interface EarlyWebSocket {
  ws: WebSocket;
  queue: unknown[];
  /**
   * The socket.io CONNECT the script sent for `/client` at engine.io's open packet (no auth: the `/client` namespace
   * takes none), so the hub admits the namespace while the module loads. socket.io's own CONNECT is then not sent again.
   */
  connectSent?: boolean;
}

/** socket.io's CONNECT packet for `/client` without auth, as engine.io sends it (the message type `4`, then CONNECT `0`). */
export const CLIENT_CONNECT_PACKET = '40/client,';

/** The global the inline script in index.html sets (keep the two in step). */
export const EARLY_WS_GLOBAL = '__batonEarlyWs';

type Holder = { [EARLY_WS_GLOBAL]?: EarlyWebSocket };

/**
 * The early WebSocket when it goes to `uri` (engine.io's URL for the first connection) and is not closing, once; null
 * otherwise. One that does not match is closed: nothing else would take it.
 */
export function takeEarlyWebSocket(uri: string, holder: Holder = globalThis as Holder): EarlyWebSocket | null {
  const early = holder[EARLY_WS_GLOBAL];
  if (!early) return null;
  delete holder[EARLY_WS_GLOBAL];
  const { ws } = early;
  if (ws.readyState > ws.OPEN || ws.url !== new URL(uri).href) {
    ws.close();
    return null;
  }
  return early;
}

/**
 * engine.io's WebSocket transport, which takes the early WebSocket for its first connection. The engine listens to the
 * transport only once it opened it, so the hand-over waits a microtask: by then the transport's own handlers are on the
 * WebSocket (set right after `createSocket`), and no message event can run before it.
 */
export class EarlyWebSocketTransport extends WebSocketTransport {
  /** The script sent `/client`'s CONNECT on this transport's WebSocket: socket.io's own is dropped, once. */
  #connectSent = false;

  override createSocket(uri: string, protocols: string | string[] | undefined, opts: Record<string, unknown>): unknown {
    const early = takeEarlyWebSocket(uri);
    if (!early) return super.createSocket(uri, protocols, opts);
    // Read now: once the transport's handlers are on the WebSocket the script sends nothing more.
    this.#connectSent = early.connectSent === true;
    queueMicrotask(() => this.#handOver(early));
    return early.ws;
  }

  override doWrite(packet: Parameters<WebSocketTransport['doWrite']>[0], data: Parameters<WebSocketTransport['doWrite']>[1]): void {
    if (this.#connectSent && data === CLIENT_CONNECT_PACKET) {
      this.#connectSent = false;
      return;
    }
    super.doWrite(packet, data);
  }

  #handOver(early: EarlyWebSocket): void {
    const { ws } = early;
    // Closed by the engine meanwhile (a connect timeout): nothing to hand over.
    if (this.ws !== ws) return;
    // Still connecting: the transport's own handlers see it open. Open: it opened (and perhaps took engine.io's open
    // packet) before the transport existed, so replay that. Its state cannot change between the take and here (one task).
    if (ws.readyState !== ws.OPEN) return;
    this.onOpen();
    for (const data of early.queue.splice(0)) this.onData(data as string | ArrayBuffer);
  }
}
