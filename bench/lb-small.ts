// The small-cluster row of the `lb` suite: `npm start`'s cluster (3 servers, the demo clips),
// viewers arriving seconds apart, through the real director and the real caches.
import { CachePolicy, DEFAULT_CACHE_POLICY } from '../node-app/cache/index.js';
import { BLOCK_BYTES } from '../node-app/contracts.js';
import { DiskStore } from '../node-app/storage/disk-store.js';
import { ensureDemoMedia } from '../scripts/make-demo-media.js';
import { MEDIA_DIR } from '../test/helpers/cluster.js';
import { seededRng } from '../test/helpers/seeded-rng.js';
import type { SimPolicyFactory } from './lb-policy.js';
import type { Workload } from './lb-workload.js';

/** The demo's servers: three, 1-Gbit/s uplinks, `baton demo`'s 64-MiB caches and 100 sessions. */
const SERVERS = 3;
const UPLINK_MBPS = 1_000;
const CACHE_BYTES = 64 * 2 ** 20;
const MAX_SESSIONS = 100;
/** Viewers arrive this far apart on average (Poisson), each picking a clip at random. */
export const SMALL_MEAN_GAP_MS = 3_000;
const VIEWERS = 200;
const SEED = 20261203;

/**
 * The workload: the demo clips as a media server's storage describes them
 * (bytes, duration, bitrate), `VIEWERS` arrivals `SMALL_MEAN_GAP_MS` apart on
 * average, measured from the first viewer on (no warm-up: the first viewer of
 * each clip reading storage is part of what a user sees).
 */
export async function smallClusterWorkload(): Promise<Workload> {
  await ensureDemoMedia(MEDIA_DIR);
  const store = await DiskStore.open(MEDIA_DIR);
  const clips = store.list().filter((a) => a.id.startsWith('demo-') && a.durationMs && a.bitrateBps);
  store.close();
  if (clips.length === 0) throw new Error(`no demo clips with a duration and bitrate in ${MEDIA_DIR}`);
  const rng = seededRng(SEED);
  const atMs = new Float64Array(VIEWERS);
  const asset = new Int32Array(VIEWERS);
  let t = 0;
  for (let i = 0; i < VIEWERS; i++) {
    t += -Math.log(1 - rng()) * SMALL_MEAN_GAP_MS;
    atMs[i] = t;
    asset[i] = Math.floor(rng() * clips.length);
  }
  return {
    servers: Array.from({ length: SERVERS }, (_, i) => ({
      id: `srv-${i}`,
      uplinkMbps: UPLINK_MBPS,
      maxSessions: MAX_SESSIONS,
      cacheBytes: CACHE_BYTES,
    })),
    assets: clips.map((c) => ({ id: c.id, bytes: c.bytes, bitrateBps: Math.round(c.bitrateBps!), durationMs: c.durationMs! })),
    arrivals: { atMs, asset },
    warmupMs: 0,
  };
}

/**
 * `lb.small.cache_served_share.<policy>.<cache policy>`: every policy with the
 * media server's default cache (gic), Baton and bounded-load hashing also with
 * the interval cache; replayed with the media server's block size.
 */
export async function smallClusterFigures(
  simulate: (
    w: Workload,
    f: SimPolicyFactory,
    o: { blockBytes: number; seed: number; rotationMs: number; cachePolicy: CachePolicy },
  ) => { cacheServedShare: number },
  policies: Readonly<Record<string, SimPolicyFactory>>,
): Promise<Record<string, number>> {
  const w = await smallClusterWorkload();
  const f: Record<string, number> = { 'lb.small.viewers': VIEWERS, 'lb.small.mean_gap_s': SMALL_MEAN_GAP_MS / 1000 };
  const runs: [string, CachePolicy][] = [
    ...Object.keys(policies).map((p): [string, CachePolicy] => [p, DEFAULT_CACHE_POLICY]),
    ['baton', CachePolicy.interval],
    ['bounded-load', CachePolicy.interval],
  ];
  for (const [name, cachePolicy] of runs) {
    const factory = policies[name];
    if (!factory) continue;
    // The demo's hub rotates the director every 30 s, as the simulator's default.
    const r = simulate(w, factory, { blockBytes: BLOCK_BYTES, seed: SEED, rotationMs: 30_000, cachePolicy });
    f[`lb.small.cache_served_share.${name}.${cachePolicy}`] = Math.round(r.cacheServedShare * 1e4) / 1e4;
  }
  return f;
}
