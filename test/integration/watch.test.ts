// The watch path end to end: real hub + real servers + Node viewers over real WebRTC on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { BATON, Cluster, MEDIA_DIR, THREE_SERVERS, waitFor, type ApiState } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sourceHash = (id: string) => sha256(readFileSync(join(MEDIA_DIR, `${id}.webm`)));

interface ServerStatus {
  sessions: number;
  storageReadBytes: number;
  cache: { usedBytes: number; budgetBytes: number; assets: string[] };
}

async function status(cluster: Cluster, id: string): Promise<ServerStatus> {
  const s = await cluster.state();
  const url = s.servers.find((x) => x.id === id)!.httpUrl!;
  return (await (await fetch(`${url}/api/status`)).json()) as ServerStatus;
}

// The two describes run side by side, each on a cluster of its own (what one checks of a server, its storage reads
// and cache, another cluster's viewers do not move); inside each, the cases stay one after another. One describe after
// the other they took ≈ 28 s.
const SIDE_BY_SIDE = { concurrent: true };

describe('watch: one server holds the asset', SIDE_BY_SIDE, () => {
  const cluster = new Cluster({
    rotationMs: 0,
    servers: [
      // `baton watch --fast` gets unpaced delivery only from servers that allow it.
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-testsrc'], extraArgs: ['--allow-fast'] },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: ['demo-smpte'], extraArgs: ['--allow-fast'] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it.sequential('`baton watch --json` receives byte-identical data', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'baton-watch-')), 'out.webm');
    const { stdout } = await run(
      process.execPath,
      [BATON, 'watch', '--hub', cluster.hubUrl, '--asset', 'demo-smpte', '--out', out, '--json', '--fast'],
      { timeout: 60_000 },
    );
    const r = JSON.parse(stdout);
    expect(r).toMatchObject({
      server: 'iad-1',
      reason: expect.stringMatching(/storage|director-cache|cache/),
      bytes: readFileSync(join(MEDIA_DIR, 'demo-smpte.webm')).length,
    });
    expect(r.sha256).toBe(sourceHash('demo-smpte'));
    expect(sha256(readFileSync(out))).toBe(r.sha256);
    expect(r.ttfbMs).toBeGreaterThan(0);
  });

  it.sequential('serves a second viewer 2 s behind the first from the cache: storage is read once', async () => {
    const size = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')).length;
    const before = await status(cluster, 'fra-1');
    const first = watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-testsrc' }, () => {});
    await new Promise((r) => setTimeout(r, 2_000));
    const second = watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-testsrc' }, () => {});
    const [a, b] = await Promise.all([first, second]);
    expect(a.sha256).toBe(sourceHash('demo-testsrc'));
    expect(b.sha256).toBe(sourceHash('demo-testsrc'));
    expect(a.server).toBe('fra-1');
    expect(b.server).toBe('fra-1');
    const after = await status(cluster, 'fra-1');
    // The follower read nothing from storage: the leader's reads are all there is.
    expect(after.storageReadBytes - before.storageReadBytes).toBe(size);
    expect(after.cache.usedBytes).toBeLessThanOrEqual(after.cache.budgetBytes);
  });

  it.sequential("a viewer's delivery limit holds from the first byte, the fast-start burst included", async () => {
    // The server starts sending when the channel opens; a limit sent then as a `limit` frame came after the burst
    // (1 MiB at once, 9 s of a 920-kbit/s stream), so it goes with the watch request now.
    const limitBps = 400_000;
    const got: Array<{ at: number; bytes: number }> = [];
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-testsrc', limitBps, timeoutMs: 4_000 }, (b) =>
      got.push({ at: performance.now(), bytes: b.byteLength }),
    ).catch((err: Error) => err);
    expect(r).toBeInstanceOf(Error);
    expect(got.length).toBeGreaterThanOrEqual(2);
    // Each frame waits until the link has carried the ones before it at the limit, less the link's 250 ms of credit
    // (and 50 ms for the timers): 64-KiB frames at 50 KB/s, one per 1.3 s.
    let before = 0;
    for (const g of got) {
      expect(g.at - got[0]!.at).toBeGreaterThanOrEqual((before * 8 * 1000) / limitBps - 250 - 50);
      before += g.bytes;
    }
  });

  it.sequential('refuses unknown assets and path tricks like unknown ids', async () => {
    const c = io(`${cluster.hubUrl}/client`, { transports: ['websocket'], reconnection: false });
    try {
      for (const assetId of [
        'no-such-clip',
        '../demo-testsrc',
        '%2e%2e%2fetc%2fpasswd',
        '/etc/passwd',
        'a\\b',
        'demo\0',
        'x'.repeat(10_000),
      ]) {
        const r = await c.timeout(5_000).emitWithAck('watch', { assetId });
        expect(r.ok, assetId).toBe(false);
        expect(['unknown-asset', 'bad-request']).toContain(r.code);
      }
    } finally {
      c.close();
    }
  });
});

describe('watch: three servers, cache-aware selection and failover', SIDE_BY_SIDE, () => {
  const cluster = new Cluster({
    rotationMs: 0,
    servers: THREE_SERVERS.map((s) => ({ ...s, extraArgs: ['--allow-fast'] })),
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it.sequential('sends a later viewer to the server whose cache holds the asset', async () => {
    const first = watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-smpte' }, () => {});
    const holder = await waitFor(
      'a cache holder in /api/state',
      async () => (await cluster.state()).servers.find((s) => s.cache.includes('demo-smpte'))?.id,
    );
    // Every replica (so whoever is director) sees it.
    const state: ApiState = await cluster.state();
    for (const s of state.servers) {
      await waitFor(`${s.id}'s replica has ${holder}'s cache`, async () => {
        const t = (await (await fetch(`${s.httpUrl}/api/table`)).json()) as { servers: { id: string; cache: string[] }[] };
        return t.servers.find((x) => x.id === holder)?.cache.includes('demo-smpte');
      });
    }
    const second = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-smpte', fast: true }, () => {});
    expect(second.server).toBe(holder);
    expect(['cache', 'director-cache']).toContain(second.reason);
    expect((await first).sha256).toBe(sourceHash('demo-smpte'));
  });

  it.sequential('resumes on another server at the same byte offset when the serving server is SIGKILLed', async () => {
    let killed: string | undefined;
    let killing: Promise<unknown> | undefined;
    const total = readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm')).length;
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-mandelbrot', timeoutMs: 90_000 }, (_bytes, viewer) => {
      if (!killing && viewer.bytesReceived > total / 3) {
        killed = viewer.session!.server.id;
        killing = cluster.kill(killed, 'SIGKILL');
      }
    });
    await killing;
    expect(killed).toBeDefined();
    expect(r.failovers.length).toBeGreaterThanOrEqual(1);
    expect(r.failovers[0]!.from).toBe(killed);
    expect(r.failovers[0]!.to).not.toBe(killed);
    expect(r.bytes).toBe(total);
    expect(r.sha256).toBe(sourceHash('demo-mandelbrot'));
  });
});
