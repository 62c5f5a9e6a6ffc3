// Fault row 3 (the hub restarts while WebRTC sessions flow) and the hub's health endpoints with no servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor, type ApiState } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import type { TableSnapshot } from '../../signaling/protocol/index.js';
import { recordFigure } from './helpers/figures.js';
import { connect, ask, getJson, sleep } from './helpers/net.js';

const HEARTBEAT_MS = 1_000; // Baton's default: a shorter one removes servers merely starved on 2 busy cores
/** How long the hub stays down: several heartbeats, so servers notice and retry. */
const HUB_DOWN_MS = 1_000;
const ASSET = 'demo-mandelbrot';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('row 3: the hub restarts while sessions flow', () => {
  const cluster = new Cluster({ heartbeatMs: HEARTBEAT_MS, rotationMs: 0 });
  const source = readFileSync(join(MEDIA_DIR, `${ASSET}.webm`));
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal}: a viewer mid-stream completes byte-exact; servers re-register, no duplicate ids`, async () => {
      const before = await cluster.state();
      let restart: Promise<{ reregisteredMs: number; whileDown: number }> | undefined;
      const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: ASSET, timeoutMs: 60_000 }, (_bytes, viewer) => {
        if (restart || viewer.bytesReceived < source.length / 4) return;
        restart = (async () => {
          await cluster.killHub(signal);
          const downAt = viewer.bytesReceived;
          await sleep(HUB_DOWN_MS);
          const whileDown = viewer.bytesReceived - downAt;
          const t0 = performance.now();
          await cluster.startHub(cluster.hubPort);
          await waitFor(
            'every server re-registered',
            async () => (await cluster.state()).servers.length === before.servers.length,
            20_000,
            20,
          );
          return { reregisteredMs: performance.now() - t0, whileDown };
        })();
      });
      expect(restart).toBeDefined();
      const { reregisteredMs, whileDown } = await restart!;
      // The session never needed the hub: no failover, every byte, right hash.
      expect(r.failovers).toEqual([]);
      expect(r.bytes).toBe(source.length);
      expect(r.sha256).toBe(sha256(source));
      expect(whileDown).toBeGreaterThan(0);

      const after = await waitFor<ApiState>('a director', async () => {
        const s = await cluster.state();
        return s.director ? s : undefined;
      });
      const ids = after.servers.map((s) => s.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(before.servers.map((s) => s.id).sort());
      expect(after.director!.epoch).toBeGreaterThan(before.director!.epoch);
      // Every replica is rebuilt from the new hub's table.
      for (const s of after.servers) {
        await waitFor(`${s.id}'s replica rebuilt`, async () => {
          const t = await getJson<TableSnapshot>(`${s.httpUrl}/api/table`);
          return t.servers.length === ids.length && t.director?.epoch === after.director!.epoch;
        });
      }
      // And the new hub serves new viewers.
      const c = await connect(cluster.hubUrl);
      const w = await ask(c, 'watch', { assetId: 'demo-smpte' });
      c.close();
      expect(w).toMatchObject({ ok: true });
      recordFigure(`hub_restart.${signal.toLowerCase()}.reregister_ms`, reregisteredMs);
      recordFigure(`hub_restart.${signal.toLowerCase()}.bytes_while_hub_down`, whileDown);
    }, 90_000);
  }
});

describe('health with no media servers', () => {
  const cluster = new Cluster({ heartbeatMs: HEARTBEAT_MS, rotationMs: 0, servers: [] });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('/healthz stays up while the hub has no servers; /readyz reflects it', async () => {
    const health = async () => (await fetch(`${cluster.hubUrl}/healthz`)).status;
    const ready = async () => {
      const res = await fetch(`${cluster.hubUrl}/readyz`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; servers: number; reason?: string } };
    };
    expect(await health()).toBe(200);
    expect(await ready()).toMatchObject({ status: 503, body: { ok: false, servers: 0, reason: expect.stringMatching(/no media server/) } });

    await cluster.startServer({ id: 'solo-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-smpte'] });
    await waitFor('ready with one server', async () => (await ready()).status === 200);
    expect(await health()).toBe(200);

    await cluster.kill('solo-1', 'SIGKILL');
    await waitFor('not ready once the server is gone', async () => (await ready()).status === 503, 3 * HEARTBEAT_MS + 2_000);
    expect(await health()).toBe(200);
    expect((await ready()).body).toMatchObject({ ok: false, servers: 0 });
  });
});
