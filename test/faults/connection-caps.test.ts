// Fault row 27: idle TCP connections held open against a real `baton hub` up to its connection cap. The cap per
// address is the same code on real sockets in test/unit/connection-caps.test.ts (loopback is exempt from it here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { run, SECRET, waitForOutput, type Proc } from '../helpers/cluster.js';
import { scrape } from '../helpers/prometheus.js';
import { recordFigure } from './helpers/figures.js';

const MAX = 6;

/** A connection that sends nothing (a slowloris); `closed` resolves when the hub hangs up. */
function idle(port: number): { socket: Socket; closed: Promise<void>; isClosed: () => boolean } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let done = false;
  const closed = new Promise<void>((r) => socket.once('close', () => r())).then(() => {
    done = true;
  });
  return { socket, closed, isClosed: () => done };
}

async function healthz(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 'refused';
  }
}

describe('row 27: idle connections held open up to the hub’s connection cap', () => {
  let hub: Proc;
  let url = '';
  beforeAll(async () => {
    hub = run(['hub', '--port', '0', '--cluster-secret', SECRET, '--max-connections', String(MAX)]);
    url = (await waitForOutput(hub, /listening on (http:\/\/[^\s]+)/, 60_000))[1]!;
    // The hub loads its place and IP datasets just after it listens, and accepts nothing meanwhile.
    await waitForOutput(hub, /datasets loaded/, 60_000);
  }, 60_000);
  afterAll(() => {
    hub.child.kill('SIGKILL');
  });

  it('the connection past the cap is dropped while the others are held; one closing lets a real request in', async () => {
    const port = Number(new URL(url).port);
    const held = Array.from({ length: MAX }, () => idle(port));
    // The hub takes connections in the order they came: once the one past the cap is closed, the others were kept.
    const past = idle(port);
    await past.closed;
    expect(held.filter((h) => h.isClosed()).length, 'held connections the hub closed').toBe(0);
    expect(await healthz(url)).toBe('refused');
    held.pop()!.socket.destroy();
    await expect.poll(() => healthz(url), { timeout: 10_000 }).toBe(200);
    for (const h of held) h.socket.destroy();
    // The hub hears the closes above a moment later; until then a new connection may still be over the cap.
    const droppedNow = () =>
      scrape(`${url}/metrics`).then(
        (m) => m.get('baton_hub_rejected_messages_total{code="too-many-connections-total"}') ?? 0,
        () => -1,
      );
    await expect.poll(droppedNow, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const dropped = await droppedNow();
    recordFigure('connection_caps.max_connections', MAX);
    recordFigure('connection_caps.dropped', dropped);
  }, 60_000);

  it('refuses HTTP long-polling: one TCP connection cannot carry many socket.io sessions past the cap', async () => {
    const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Transport unknown/);
  });
});
