// The utilisation sweep of the `lb` suite: Baton and every baseline at 10–90 % mean utilisation.
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

export interface SweepJob {
  key: string;
  scale: LbScale;
  policy: string;
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
    for (const policy of policies) jobs.push({ key: `sweep.${sweepLabel(u)}.${policy}`, scale: { ...base, workload }, policy });
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
 * `lb.sweep.u<NN>.max_mean_load.<policy>` and `.cache_served_share.<policy>`
 * for every run, Baton's refused share, and the two figures the targets
 * judge: Baton's margin over bounded-load hashing (cache-served share) and,
 * at 10 %, Baton's cache-served share ÷ the unbounded director's.
 */
export function sweepFigures(result: (key: string) => SweepPoint | undefined, policies: readonly string[]): Record<string, number> {
  const f: Record<string, number> = { 'lb.sweep.servers': SWEEP_SERVERS };
  for (const u of SWEEP_UTILISATIONS) {
    const at = sweepLabel(u);
    for (const policy of policies) {
      const r = result(`sweep.${at}.${policy}`);
      if (!r) continue;
      f[`lb.sweep.${at}.max_mean_load.${policy}`] = round(r.maxMeanLoad, 3);
      f[`lb.sweep.${at}.cache_served_share.${policy}`] = round(r.cacheServedShare, 4);
      if (policy === 'baton') f[`lb.sweep.${at}.rejected_share.baton`] = round(r.rejected / r.requests, 4);
    }
    const baton = result(`sweep.${at}.baton`);
    const base = result(`sweep.${at}.${SWEEP_BASELINE}`);
    const cacheFirst = result(`sweep.${at}.${SWEEP_CACHE_FIRST}`);
    if (baton && base)
      f[`lb.sweep.${at}.cache_share_margin_vs_bounded_load.baton`] = round(baton.cacheServedShare - base.cacheServedShare, 4);
    if (baton && cacheFirst)
      f[`lb.sweep.${at}.cache_share_ratio_vs_unbounded.baton`] = round(baton.cacheServedShare / cacheFirst.cacheServedShare, 4);
  }
  return f;
}
