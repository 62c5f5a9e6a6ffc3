// socket.io handshakes (new WebSockets) to the hub are counted per client address: they never reached the hub's HTTP
// rate (socket.io answers its own path), and one client made 1,500 a second, 64 % of the hub's core. Real hub, real
// sockets on loopback; client addresses by X-Forwarded-For from a trusted proxy (loopback).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { Hub } from '../../signaling/hub.js';
import { HANDSHAKE_BURST } from '../../signaling/hub-options.js';

/** Opens a /client socket as `ip` (none: this machine, a cluster member) and closes it; whether it connected. */
function handshake(url: string, ip?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = io(`${url}/client`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
      ...(ip ? { extraHeaders: { 'x-forwarded-for': ip } } : {}),
    });
    s.once('connect', () => {
      s.close();
      resolve(true);
    });
    s.once('connect_error', () => {
      s.close();
      resolve(false);
    });
  });
}

describe('socket.io handshakes per client address', () => {
  let hub: Hub;
  let url: string;
  beforeAll(async () => {
    hub = new Hub({ port: 0, clusterSecret: 'handshake-rate-secret-0123', trustedProxies: ['loopback'] });
    url = await hub.start();
  });
  afterAll(() => hub.close());

  it(`${HANDSHAKE_BURST} at once, then about 10 a second; another address and the cluster's own are not held back`, async () => {
    const first = await Promise.all(Array.from({ length: HANDSHAKE_BURST + 36 }, () => handshake(url, '203.0.113.9')));
    const admitted = first.filter(Boolean).length;
    expect(admitted).toBeGreaterThanOrEqual(HANDSHAKE_BURST);
    expect(admitted).toBeLessThan(HANDSHAKE_BURST + 20);
    expect(await handshake(url, '203.0.113.9')).toBe(false);
    expect(await handshake(url, '203.0.113.10')).toBe(true);
    // This machine is a cluster member (--cluster-addresses, default loopback): media servers reconnect all at once.
    const local = await Promise.all(Array.from({ length: 100 }, () => handshake(url)));
    expect(local.every(Boolean)).toBe(true);
    const counted = (await hub.metrics.registry.getSingleMetric('baton_hub_rejected_messages_total')?.get())?.values.find(
      (v) => v.labels.code === 'too-many-handshakes',
    );
    expect(counted?.value).toBeGreaterThan(0);
  }, 60_000);
});
