// Fault row 27: idle TCP connections held open against a real `baton hub` up to its connection cap. The cap per
// address is the same code on real sockets in test/unit/connection-caps.test.ts (loopback is exempt from it here). Then
// the share of the total kept for media servers (--cluster-addresses).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { get } from 'node:http';
import { Cluster, MEDIA_DIR, run, SECRET, waitForOutput, type ApiState, type Proc } from '../helpers/cluster.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { scrape } from '../helpers/prometheus.js';
import { recordFigure } from './helpers/figures.js';

const MAX = 6;

/** A connection that sends nothing (a slowloris); `closed` resolves when the hub hangs up. */
function idle(port: number, from?: string): { socket: Socket; closed: Promise<void>; isClosed: () => boolean } {
  const socket = connect({ port, host: '127.0.0.1', ...(from ? { localAddress: from } : {}) });
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

describe('cluster members keep a share of the total that anonymous clients cannot take', () => {
  // 20 in all, 2 of them kept for --cluster-addresses (127.0.0.1). The held connections come from other loopback
  // addresses, which are not cluster members here: they stand for anonymous clients on many addresses.
  const TOTAL = 20;
  const cluster = new Cluster({ servers: [], hubArgs: ['--max-connections', String(TOTAL), '--cluster-addresses', '127.0.0.1'] });
  beforeAll(async () => {
    await ensureDemoMedia(MEDIA_DIR);
    await cluster.startHub(0);
    // No request before the held connections: a keep-alive one of this test's own would take a slot.
    await waitForOutput(cluster.hub!, /datasets loaded/, 60_000);
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it('anonymous connections fill their share; a media server from a cluster address still registers', async () => {
    const held = Array.from({ length: TOTAL }, (_, i) => idle(cluster.hubPort, `127.0.0.${i + 2}`));
    // The hub closes what is past the others' share (18 of 20), and keeps the rest.
    await expect.poll(() => held.filter((h) => h.isClosed()).length, { timeout: 10_000 }).toBe(2);
    const server = await cluster.startServer(
      { id: 'member-1', region: 'eu-west', lat: 48.86, lon: 2.35, assets: ['demo-smpte'] },
      { waitRegistered: false },
    );
    await waitForOutput(server, /registered with hub/, 30_000);
    const state = await new Promise<string>((resolve, reject) =>
      get(`${cluster.hubUrl}/api/state`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject),
    );
    expect((JSON.parse(state) as ApiState).servers.map((s) => s.id)).toEqual(['member-1']);
    expect(held.filter((h) => h.isClosed()).length, 'anonymous connections the hub closed').toBe(2);
    for (const h of held) h.socket.destroy();
  }, 90_000);
});
