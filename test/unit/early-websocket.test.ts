// The hub WebSocket index.html opens before the first module loads (web-client/components/early-websocket.ts): the first
// socket.io connection to engine.io's URL takes it once, and one opened and answered before the transport existed has
// its open and its queued messages replayed to the transport.
import { describe, expect, it } from 'vitest';
import {
  EARLY_WS_GLOBAL,
  EarlyWebSocketTransport,
  takeEarlyWebSocket,
  type EarlyWebSocket,
} from '../../web-client/components/early-websocket.js';

const URI = 'ws://127.0.0.1:42001/socket.io/?EIO=4&transport=websocket';

/** A stand-in browser WebSocket: its state and whether it was closed. */
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
    close() {
      this.closed = true;
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
});
