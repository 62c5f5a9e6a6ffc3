// The utilisation sweep of the `lb` suite: Baton and every baseline at 10–90 % mean utilisation.
import { CachePolicy, DEFAULT_CACHE_POLICY } from '../node-app/cache/index.js';
import type { LbScale, WorkloadParams } from './lb-workload.js';

/** Mean cluster utilisations the sweep runs (offered egress ÷ uplink). */
export const SWEEP_UTILISATIONS = [0.1, 0.3, 0.5, 0.7, 0.9] as const;

/**
 * The sweep's cluster: 10 servers (3 with 2-Gbit/s uplinks) and 1,000 assets,
 * the same cache and catalog share per server as the other scales. Half the
 * quick scale's cluster makes each point half as dear for the same simulated
 * time: 40 replays must fit in under a minute of `--quick`.
 */
const SWEEP_SERVERS = 10;
const SWEEP_ASSETS = 1_000;
/**
 * Requests at 60 % utilisation; each point gets `u / 0.6` of these, so every
 * point covers the same simulated time (the 2-h warm-up, then ≈ 1 h measured
 * in quick runs, ≈ 4 h in full ones) at a cost proportional to its load.
 */
const QUICK_REQUESTS_AT_60 = 15_000;
const FULL_REQUESTS_AT_60 = 30_000;

/** The policy balance is judged against: consistent hashing with bounded loads. */
export const SWEEP_BASELINE = 'bounded-load';
/** Baton's director without the bound: the cache-first reference at low load. */
export const SWEEP_CACHE_FIRST = 'baton-unbounded';

/** `u10`, `u30`, …: the label of a utilisation in figure names. */
export const sweepLabel = (u: number) => `u${String(Math.round(u * 100)).padStart(2, '0')}`;

/**
 * Every policy runs the media server's default cache policy (gic); Baton and
 * bounded-load hashing also run the interval cache, for comparison.
 */
const SWEEP_CACHE_RUNS: readonly [CachePolicy, readonly string[] | 'all'][] = [
  [DEFAULT_CACHE_POLICY, 'all'],
  [CachePolicy.interval, ['baton', SWEEP_BASELINE]],
];

export interface SweepJob {
  key: string;
  scale: LbScale;
  policy: string;
  cachePolicy: CachePolicy;
}

/**
 * One job per (utilisation, policy), on the sweep's cluster in both modes (the
 * block size and the other knobs of `base`): the sweep compares policies
 * across loads, and a 100-server sweep would cost ≈ 15 CPU-min.
 */
export function sweepJobs(base: LbScale, policies: readonly string[], quick: boolean): SweepJob[] {
  const at60 = quick ? QUICK_REQUESTS_AT_60 : FULL_REQUESTS_AT_60;
  const jobs: SweepJob[] = [];
  // Busiest points first, so the two workers finish together.
  for (const u of [...SWEEP_UTILISATIONS].reverse()) {
    const workload: WorkloadParams = {
      ...base.workload,
      servers: SWEEP_SERVERS,
      assets: SWEEP_ASSETS,
      utilisation: u,
      requests: Math.round((at60 * u) / 0.6),
    };
    for (const [cachePolicy, which] of SWEEP_CACHE_RUNS)
      for (const policy of which === 'all' ? policies : which)
        jobs.push({ key: `sweep.${sweepLabel(u)}.${policy}.${cachePolicy}`, scale: { ...base, workload }, policy, cachePolicy });
  }
  return jobs;
}

export interface SweepPoint {
  maxMeanLoad: number;
  cacheServedShare: number;
  rejected: number;
  requests: number;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * `lb.sweep.u<NN>.max_mean_load.<policy>.<cache policy>` and
 * `.cache_served_share.…` for every run, Baton's refused share, and the two
 * figures the targets judge (each cache policy against itself): Baton's margin
 * over bounded-load hashing (cache-served share) and, at 10 %, Baton's
 * cache-served share ÷ the unbounded director's.
 */
export function sweepFigures(result: (key: string) => SweepPoint | undefined, policies: readonly string[]): Record<string, number> {
  const f: Record<string, number> = { 'lb.sweep.servers': SWEEP_SERVERS };
  for (const u of SWEEP_UTILISATIONS) {
    const at = sweepLabel(u);
    for (const [cache, which] of SWEEP_CACHE_RUNS) {
      for (const policy of which === 'all' ? policies : which) {
        const r = result(`sweep.${at}.${policy}.${cache}`);
        if (!r) continue;
        f[`lb.sweep.${at}.max_mean_load.${policy}.${cache}`] = round(r.maxMeanLoad, 3);
        f[`lb.sweep.${at}.cache_served_share.${policy}.${cache}`] = round(r.cacheServedShare, 4);
        if (policy === 'baton') f[`lb.sweep.${at}.rejected_share.baton.${cache}`] = round(r.rejected / r.requests, 4);
      }
      const baton = result(`sweep.${at}.baton.${cache}`);
      const base = result(`sweep.${at}.${SWEEP_BASELINE}.${cache}`);
      const cacheFirst = result(`sweep.${at}.${SWEEP_CACHE_FIRST}.${cache}`);
      if (baton && base)
        f[`lb.sweep.${at}.cache_share_margin_vs_bounded_load.baton.${cache}`] = round(baton.cacheServedShare - base.cacheServedShare, 4);
      if (baton && cacheFirst)
        f[`lb.sweep.${at}.cache_share_ratio_vs_unbounded.baton.${cache}`] = round(baton.cacheServedShare / cacheFirst.cacheServedShare, 4);
    }
  }
  return f;
}
