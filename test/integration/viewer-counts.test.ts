// How many are watching, with real processes: the hub sums what the media servers report in their load
// (the shared table, not one hub's sockets). Two viewers on two servers count 2; one leaves, 1. With two
// hubs on one Redis, each hub says the same, whichever hub the viewers came through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ClientToHubEvents, HubToClientEvents } from '../../signaling/protocol/events.js';
import { Viewer } from '../../client-sdk/viewer.js';
import { SimplePeer, nodeWrtc } from '../../node-app/webrtc/peer.js';
import { mkdirSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, run, SECRET, THREE_SERVERS, waitFor, waitForOutput, type Proc } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';

type ClientSocket = Socket<HubToClientEvents, ClientToHubEvents>;
/** 20 s, paced: both viewers are still watching when the counts are read. */
const ASSET = 'demo-mandelbrot';

function connect(hubUrl: string): Promise<ClientSocket> {
  const socket: ClientSocket = io(`${hubUrl}/client`, { transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** A paced viewer; resolves once media bytes flow, with the server that streams them. */
async function watch(hubUrl: string, avoid: string[]): Promise<{ server: string; close(): void }> {
  const socket = await connect(hubUrl);
  const viewer = new Viewer({ socket, assetId: ASSET, SimplePeer, wrtc: nodeWrtc, avoid });
  const server = await new Promise<string>((resolve, reject) => {
    viewer.addEventListener('data', () => resolve(viewer.session?.server.id ?? ''), { once: true });
    viewer.addEventListener('error', (e) => reject(new Error(`${e.detail.code}: ${e.detail.message}`)));
    viewer.start();
  });
  return {
    server,
    close() {
      viewer.close();
      socket.disconnect();
    },
  };
}

describe('viewer counts (hub + 3 servers, real viewers)', () => {
  const cluster = new Cluster({ servers: THREE_SERVERS });
  let asker: ClientSocket;
  beforeAll(async () => {
    await cluster.start();
    asker = await connect(cluster.hubUrl);
  }, 120_000);
  afterAll(async () => {
    asker?.disconnect();
    await cluster.stop();
  });

  const count = async (): Promise<number> => {
    const r = await asker.timeout(5_000).emitWithAck('viewers', { assetIds: [ASSET] });
    if (!r.ok) throw new Error(r.message);
    return r.counts[0]!;
  };
  const catalogCount = async (): Promise<number | undefined> => {
    const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: { id: string; viewers?: number }[] };
    return assets.find((a) => a.id === ASSET)?.viewers;
  };

  it('counts 2 with two viewers on two servers, then 1 when one leaves, in the query and the catalog', async () => {
    expect(await count()).toBe(0);
    const a = await watch(cluster.hubUrl, []);
    // The second viewer on another server: the count is a sum over servers, not one server's sessions.
    const b = await watch(
      cluster.hubUrl,
      THREE_SERVERS.map((s) => s.id).filter((id) => id === a.server),
    );
    try {
      expect(b.server).not.toBe(a.server);
      await waitFor('2 viewers', async () => (await count()) === 2, 10_000, 200);
      await waitFor('2 viewers in the catalog', async () => (await catalogCount()) === 2, 10_000, 200);
      a.close();
      await waitFor('1 viewer', async () => (await count()) === 1, 10_000, 200);
      expect(await catalogCount()).toBe(1);
    } finally {
      a.close();
      b.close();
    }
    await waitFor('no viewers', async () => (await count()) === 0, 10_000, 200);
  });

  it('refuses a malformed query with a clear reason', async () => {
    const r = await asker.timeout(5_000).emitWithAck('viewers', { assetIds: ['../etc'] });
    expect(r).toMatchObject({
      ok: false,
      code: 'bad-request',
      message: expect.stringMatching(/^invalid viewers query: assetIds\.0: asset id must match/),
    });
  });
});

describe('viewer counts with two hubs on one Redis', () => {
  let redis: RedisProcess;
  const hubs: Array<Proc & { url: string }> = [];
  const servers: Proc[] = [];
  const askers: ClientSocket[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'baton-viewers-hubs-'));

  beforeAll(async () => {
    await ensureDemoMedia(MEDIA_DIR);
    redis = await startRedis();
    for (const id of ['hub-a', 'hub-b']) {
      const p = run(['hub', '--port', '0', '--redis', redis.url, '--hub-id', id, '--cluster-secret', SECRET, '--heartbeat-ms', '300']);
      hubs.push(Object.assign(p, { url: (await waitForOutput(p, /listening on (http:\/\/[^\s]+)/, 60_000))[1]! }));
    }
    // One server registered on each hub: a count that only looked at its own servers would say 1.
    for (const [i, hub] of hubs.entries()) {
      const storage = join(tmp, `srv-${i}`);
      mkdirSync(storage);
      linkSync(join(MEDIA_DIR, `${ASSET}.webm`), join(storage, `${ASSET}.webm`));
      const p = run([
        ...['server', '--no-renditions', '--hub', hub.url, '--cluster-secret', SECRET, '--id', `srv-${i}`, '--region', 'eu-central'],
        ...['--lat', '50.1', '--lon', '8.7', '--storage', storage, '--heartbeat-ms', '300', '--ice-allow', 'loopback,private'],
      ]);
      servers.push(p);
    }
    await Promise.all(servers.map((p) => waitForOutput(p, /registered with hub/, 60_000)));
    for (const h of hubs) askers.push(await connect(h.url));
  }, 180_000);

  afterAll(async () => {
    for (const a of askers) a.disconnect();
    const procs = [...servers, ...hubs];
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000))]);
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 30_000);

  const counts = () =>
    Promise.all(
      askers.map(async (a) => {
        const r = await a.timeout(5_000).emitWithAck('viewers', { assetIds: [ASSET] });
        if (!r.ok) throw new Error(r.message);
        return r.counts[0]!;
      }),
    );

  it('each hub counts the viewers of every server: 2, then 1 when one leaves', async () => {
    // One viewer through each hub, on different servers.
    const a = await watch(hubs[0]!.url, []);
    const b = await watch(hubs[1]!.url, [a.server]);
    try {
      expect(b.server).not.toBe(a.server);
      await waitFor('both hubs count 2', async () => (await counts()).join() === '2,2', 15_000, 200);
      a.close();
      await waitFor('both hubs count 1', async () => (await counts()).join() === '1,1', 15_000, 200);
    } finally {
      a.close();
      b.close();
    }
  });
});
