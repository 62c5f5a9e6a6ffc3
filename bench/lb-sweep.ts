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
/**
 * The what-if that explains the 90 % point: bounded-load hashing held to
 * Baton's admission threshold (0.85 of each uplink), refusing as Baton does.
 * Uncapped, bounded-load runs its busiest server past its uplink there.
 */
export const SWEEP_CAPPED = 'bounded-load-capped';
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
  [DEFAULT_CACHE_POLICY, [SWEEP_CAPPED]],
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
 * `.cache_served_share.…` for every run, Baton's and the capped what-if's
 * refused shares, and the two figures the targets judge (each cache policy
 * against itself): Baton's margin over bounded-load hashing (cache-served
 * share) and, at 10 %, Baton's cache-served share ÷ the unbounded director's;
 * also Baton's margin over bounded loads held to Baton's admission threshold.
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
        if (policy === 'baton' || policy === SWEEP_CAPPED)
          f[`lb.sweep.${at}.rejected_share.${policy}.${cache}`] = round(r.rejected / r.requests, 4);
      }
    }
    for (const cache of new Set(SWEEP_CACHE_RUNS.map(([c]) => c))) {
      const baton = result(`sweep.${at}.baton.${cache}`);
      if (!baton) continue;
      const share = (policy: string) => result(`sweep.${at}.${policy}.${cache}`)?.cacheServedShare;
      const base = share(SWEEP_BASELINE);
      const capped = share(SWEEP_CAPPED);
      const cacheFirst = share(SWEEP_CACHE_FIRST);
      if (base !== undefined)
        f[`lb.sweep.${at}.cache_share_margin_vs_bounded_load.baton.${cache}`] = round(baton.cacheServedShare - base, 4);
      if (capped !== undefined)
        f[`lb.sweep.${at}.cache_share_margin_vs_bounded_load_capped.baton.${cache}`] = round(baton.cacheServedShare - capped, 4);
      if (cacheFirst !== undefined)
        f[`lb.sweep.${at}.cache_share_ratio_vs_unbounded.baton.${cache}`] = round(baton.cacheServedShare / cacheFirst, 4);
    }
  }
  return f;
}
