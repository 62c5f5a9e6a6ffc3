// A media server that freezes (SIGSTOP) instead of dying, long enough for the hub to drop it, then thaws (SIGCONT):
// its viewer resumes elsewhere byte-exact, and the thawed server, re-registered, holds no stale role — one director.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { getJson, sleep } from './helpers/net.js';

const HEARTBEAT_MS = 300;
const ASSET = 'demo-mandelbrot';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Each server's own word on the role: its `baton_server_is_director` gauge and its /api/status. */
async function directorClaims(cluster: Cluster): Promise<{ id: string; gauge: number; status: boolean }[]> {
  const state = await cluster.state();
  return Promise.all(
    state.servers.map(async (s) => {
      const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
      const gauge = Number(/^baton_server_is_director (\d+)$/m.exec(text)?.[1]);
      const status = await getJson<{ director?: boolean }>(`${s.httpUrl}/api/status`);
      return { id: s.id, gauge, status: status.director === true };
    }),
  );
}

describe('a frozen server thaws', () => {
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [ASSET] },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: [ASSET] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('the director frozen past its liveness timeout: its viewer resumes byte-exact; thawed, it no longer claims the role', async () => {
    const source = readFileSync(join(MEDIA_DIR, `${ASSET}.webm`));
    const before = await waitFor('a director', async () => (await cluster.state()).director ?? undefined);
    expect((await directorClaims(cluster)).filter((c) => c.gauge === 1).map((c) => c.id)).toEqual([before.id]);
    const frozen = cluster.servers.get(before.id)!;
    // The viewer must start on the director: the other server's copy is moved out of its storage until the watch has
    // started there (two idle holders of a stored asset may go either way), and back in before the freeze.
    const other = [...cluster.servers.values()].find((p) => p.spec.id !== before.id)!;
    const copy = join(other.storage, `${ASSET}.webm`);
    const aside = join(other.storage, '..', `${other.spec.id}-${ASSET}.aside`);
    const holders = async () => {
      const c = await getJson<{ assets: { id: string; holders: string[] }[] }>(`${cluster.hubUrl}/api/catalog`);
      return c.assets.find((a) => a.id === ASSET)?.holders ?? [];
    };
    renameSync(copy, aside);
    await waitFor('the director the only holder', async () => (await holders()).join() === before.id, 20_000);
    let thawed: Promise<void> | undefined;
    let servedBy: string | undefined;
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: ASSET, timeoutMs: 90_000 }, (_bytes, viewer) => {
      if (servedBy === undefined) {
        servedBy = viewer.session?.server.id;
        renameSync(aside, copy);
      }
      if (thawed || viewer.bytesReceived < source.length / 4) return;
      thawed = (async () => {
        await waitFor('both servers holding it again', async () => (await holders()).length === 2, 20_000);
        frozen.child.kill('SIGSTOP');
        try {
          await waitFor(
            'another director',
            async () => {
              const s = await cluster.state();
              return s.director && s.director.id !== before.id && !s.servers.some((x) => x.id === before.id);
            },
            20_000,
            50,
          );
        } finally {
          frozen.child.kill('SIGCONT');
        }
      })();
    });
    await thawed;
    expect(servedBy).toBe(before.id);
    expect(r.bytes).toBe(source.length);
    expect(r.sha256).toBe(sha256(source));
    expect(r.failovers.map((f) => f.from)).toContain(before.id);
    // Thawed, the server finds the hub dropped it, re-registers, and loads a snapshot naming the other director.
    const after = (await cluster.state()).director!;
    expect(after.id).not.toBe(before.id);
    await waitFor(
      'the thawed server back in the table',
      async () => (await cluster.state()).servers.some((s) => s.id === before.id),
      20_000,
    );
    await sleep(4 * HEARTBEAT_MS);
    const claims = await directorClaims(cluster);
    expect(claims.filter((c) => c.status).map((c) => c.id)).toEqual([after.id]);
    expect(claims.filter((c) => c.gauge === 1).map((c) => c.id)).toEqual([after.id]);
  }, 120_000);
});
