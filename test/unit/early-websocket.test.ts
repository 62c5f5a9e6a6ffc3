// The hub WebSocket index.html opens before the first module loads (web-client/components/early-websocket.ts): the first
// socket.io connection to engine.io's URL takes it once, and one opened and answered before the transport existed has
// its open and its queued messages replayed to the transport.
import { describe, expect, it } from 'vitest';
import {
  CLIENT_CONNECT_PACKET,
  EARLY_WS_GLOBAL,
  EarlyWebSocketTransport,
  takeEarlyWebSocket,
  type EarlyWebSocket,
} from '../../web-client/components/early-websocket.js';

const URI = 'ws://127.0.0.1:42001/socket.io/?EIO=4&transport=websocket';
/** engine.io's options for a transport to URI, as its socket passes them. */
const OPTS = {
  hostname: '127.0.0.1',
  port: '42001',
  path: '/socket.io/',
  query: { EIO: 4, transport: 'websocket' },
  socket: { binaryType: 'arraybuffer' },
} as never;

/** A stand-in browser WebSocket: its state, whether it was closed, what was sent on it. */
function fakeWs(readyState: number, url = URI) {
  return {
    CONNECTING: 0,
    OPEN: 1,
    CLOSING: 2,
    CLOSED: 3,
    readyState,
    url,
    closed: false,
    binaryType: 'blob',
    sent: [] as unknown[],
    close() {
      this.closed = true;
    },
    send(data: unknown) {
      this.sent.push(data);
    },
  };
}

function holderWith(ws: ReturnType<typeof fakeWs>, queue: unknown[] = []) {
  return { [EARLY_WS_GLOBAL]: { ws: ws as unknown as WebSocket, queue } as EarlyWebSocket };
}

describe('takeEarlyWebSocket', () => {
  it('hands the early WebSocket to the first connection to its URL, once', () => {
    const ws = fakeWs(1);
    const holder = holderWith(ws);
    expect(takeEarlyWebSocket(URI, holder)?.ws).toBe(ws);
    expect(takeEarlyWebSocket(URI, holder)).toBeNull();
    expect(ws.closed).toBe(false);
  });

  it('closes one that goes elsewhere or is closing, and hands over none', () => {
    const other = fakeWs(0, 'ws://127.0.0.1:42001/socket.io/?EIO=4&transport=websocket&x=1');
    expect(takeEarlyWebSocket(URI, holderWith(other))).toBeNull();
    expect(other.closed).toBe(true);
    const closing = fakeWs(2);
    expect(takeEarlyWebSocket(URI, holderWith(closing))).toBeNull();
    expect(closing.closed).toBe(true);
  });
});

describe('EarlyWebSocketTransport', () => {
  it('replays the open and the messages an early WebSocket got before the transport existed, in order, after its listeners are on', async () => {
    const ws = fakeWs(1);
    const queue: unknown[] = ['0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}', '2'];
    (globalThis as Record<string, unknown>)[EARLY_WS_GLOBAL] = { ws, queue };
    const t = new EarlyWebSocketTransport({
      hostname: '127.0.0.1',
      port: '42001',
      path: '/socket.io/',
      query: { EIO: 4, transport: 'websocket' },
      socket: { binaryType: 'arraybuffer' },
    } as never);
    const seen: string[] = [];
    t.open();
    // The engine listens once open() returned (its setTransport): listeners put on now still see the replay.
    t.on('open', () => seen.push('open'));
    t.on('packet', (p: { type: string }) => seen.push(p.type));
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(['open', 'open', 'ping']);
    expect(queue).toEqual([]);
  });

  it("does not send socket.io's CONNECT for /client again when the page's script sent it, and sends everything else", async () => {
    const ws = fakeWs(1);
    (globalThis as Record<string, unknown>)[EARLY_WS_GLOBAL] = { ws, queue: [], connectSent: true };
    const t = new EarlyWebSocketTransport(OPTS);
    t.open();
    t.doWrite({ type: 'message' }, CLIENT_CONNECT_PACKET);
    t.doWrite({ type: 'message' }, '42/client,0["watch",{}]');
    // Only once: a CONNECT after that (the namespace asked again on this connection) goes.
    t.doWrite({ type: 'message' }, CLIENT_CONNECT_PACKET);
    expect(ws.sent).toEqual(['42/client,0["watch",{}]', CLIENT_CONNECT_PACKET]);
  });

  it("sends socket.io's CONNECT when the script did not (it was taken before engine.io's open packet came)", () => {
    const ws = fakeWs(0);
    (globalThis as Record<string, unknown>)[EARLY_WS_GLOBAL] = { ws, queue: [], connectSent: false };
    const t = new EarlyWebSocketTransport(OPTS);
    t.open();
    t.doWrite({ type: 'message' }, CLIENT_CONNECT_PACKET);
    expect(ws.sent).toEqual([CLIENT_CONNECT_PACKET]);
  });
});
