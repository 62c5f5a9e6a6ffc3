// Cache benchmark: one synthetic viewing trace (fake clock, no I/O) replayed through each cache policy and no cache, against an offline bound.
import { pathToFileURL } from 'node:url';
import { createCache, type BlockCache, type CachePolicy, type CacheStats, type StreamHandle } from '../node-app/cache/index.js';
import { seededRng } from '../test/helpers/seeded-rng.js';

/**
 * The trace, fixed before any measurement (tune the cache, not the trace):
 * - 100 assets: 30 % clips of 2–10 min, 50 % episodes of 20–45 min, 20 % films
 *   of 80–120 min, each at 1, 2, 3 or 5 Mbit/s;
 * - Poisson arrivals at 0.25 viewers/s (≈ 400 concurrent viewers), each picking
 *   an asset by Zipf popularity (α 0.7 or 1.0) over a shuffled ranking;
 * - half the viewers watch to the end, half leave at a uniformly drawn point;
 * - viewers read block after block at the asset's bitrate (no read-ahead);
 * - storage reads are counted after a warm-up long enough for the longest film.
 * The simulation uses 1 MiB blocks (16 × the production 64 KiB) to stay fast;
 * the policies do not depend on the block size, and even 1 % of the catalog is
 * hundreds of blocks. The size is a figure (`cache.sim_block_kib`), so every
 * table that shows these figures can say it.
 */
export const SIM_BLOCK_BYTES = 1024 * 1024;
const ASSETS = 100;
const ARRIVALS_PER_S = 0.25;
const BITRATES_BPS = [1e6, 2e6, 3e6, 5e6];
const CACHE_PCTS = [1, 2, 5, 10, 20];
const HEADLINE_PCT = 5;
const ZIPFS = [
  { name: 'zipf07', alpha: 0.7 },
  { name: 'zipf10', alpha: 1.0 },
];
export const SEED = 0xba70;
const POLICIES: CachePolicy[] = ['gic', 'interval', 'lru'];

interface Asset {
  id: string;
  bytes: number;
  bitrateBps: number;
  blocks: number;
}

interface Arrival {
  atMs: number;
  asset: Asset;
  /** Blocks this viewer reads before leaving. */
  blocks: number;
}

interface Outcome {
  requestedBytes: number;
  storageBytes: number;
  peakOverBudget: number;
  /** Mean of usedBytes / budgetBytes, sampled each simulated minute after the warm-up. */
  meanFill: number;
  viewers: number;
  meanConcurrency: number;
}

const uniform = (r: () => number, lo: number, hi: number) => lo + (hi - lo) * r();

export function makeCatalog(r: () => number): Asset[] {
  const out: Asset[] = [];
  for (let i = 0; i < ASSETS; i++) {
    const kind = r();
    const minutes = kind < 0.3 ? uniform(r, 2, 10) : kind < 0.8 ? uniform(r, 20, 45) : uniform(r, 80, 120);
    const bitrateBps = BITRATES_BPS[Math.floor(r() * BITRATES_BPS.length)]!;
    const bytes = Math.round((minutes * 60 * bitrateBps) / 8);
    out.push({ id: `asset-${i}`, bytes, bitrateBps, blocks: Math.ceil(bytes / SIM_BLOCK_BYTES) });
  }
  return out;
}

export function makeTrace(catalog: Asset[], alpha: number, horizonMs: number, r: () => number): Arrival[] {
  const ranking = [...catalog];
  for (let i = ranking.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ranking[i], ranking[j]] = [ranking[j]!, ranking[i]!];
  }
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k <= ranking.length; k++) cumulative.push((total += 1 / k ** alpha));
  const out: Arrival[] = [];
  for (let t = 0; ; ) {
    t += (-Math.log(1 - r()) / ARRIVALS_PER_S) * 1000;
    if (t >= horizonMs) return out;
    const u = r() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    const asset = ranking[lo]!;
    const fraction = r() < 0.5 ? 1 : uniform(r, 0.05, 1);
    out.push({ atMs: t, asset, blocks: Math.max(1, Math.ceil(asset.blocks * fraction)) });
  }
}

/** Binary min-heap of (time, viewer) read events. */
class ReadQueue {
  #t: number[] = [];
  #v: number[] = [];

  get size(): number {
    return this.#t.length;
  }

  peekTime(): number {
    return this.#t[0] ?? Infinity;
  }

  push(t: number, v: number): void {
    const ts = this.#t;
    const vs = this.#v;
    let i = ts.length;
    ts.push(t);
    vs.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ts[p]! <= t) break;
      ts[i] = ts[p]!;
      vs[i] = vs[p]!;
      i = p;
    }
    ts[i] = t;
    vs[i] = v;
  }

  pop(): number {
    const ts = this.#t;
    const vs = this.#v;
    const top = vs[0]!;
    const lastT = ts.pop()!;
    const lastV = vs.pop()!;
    const n = ts.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && ts[c + 1]! < ts[c]!) c++;
      if (ts[c]! >= lastT) break;
      ts[i] = ts[c]!;
      vs[i] = vs[c]!;
      i = c;
    }
    ts[i] = lastT;
    vs[i] = lastV;
    return top;
  }
}

/** Replays the trace through one cache (or none); counts storage bytes read in [warmupMs, horizonMs). */
export function replay(trace: Arrival[], cache: BlockCache | null, warmupMs: number, horizonMs: number): Outcome {
  const fullBlock = new Uint8Array(SIM_BLOCK_BYTES);
  const queue = new ReadQueue();
  const handles: (ReturnType<BlockCache['openStream']> | null)[] = [];
  const next: number[] = [];
  let requestedBytes = 0;
  let storageBytes = 0;
  let fillSum = 0;
  let concurrencySum = 0;
  let concurrencySamples = 0;
  let open = 0;
  let nextSampleMs = warmupMs;
  let ai = 0;
  for (;;) {
    const arrivalMs = ai < trace.length ? trace[ai]!.atMs : Infinity;
    const readMs = queue.peekTime();
    const now = Math.min(arrivalMs, readMs);
    if (now >= horizonMs) break;
    while (nextSampleMs <= now) {
      concurrencySum += open;
      if (cache && cache.budgetBytes > 0) fillSum += cache.usedBytes / cache.budgetBytes;
      concurrencySamples++;
      nextSampleMs += 60_000;
    }
    if (arrivalMs <= readMs) {
      const a = trace[ai]!;
      handles.push(cache ? cache.openStream(a.asset.id, now, { assetBytes: a.asset.bytes, bitrateBps: a.asset.bitrateBps }) : null);
      next.push(0);
      queue.push(now, ai);
      open++;
      ai++;
      continue;
    }
    const v = queue.pop();
    const { asset, blocks } = trace[v]!;
    const block = next[v]!;
    const length = Math.min(SIM_BLOCK_BYTES, asset.bytes - block * SIM_BLOCK_BYTES);
    const h = handles[v]!;
    const counted = now >= warmupMs;
    if (counted) requestedBytes += length;
    if (!h?.get(block, now)) {
      if (counted) storageBytes += length;
      h?.put(block, length === SIM_BLOCK_BYTES ? fullBlock : fullBlock.subarray(0, length), now);
    }
    if (block + 1 < blocks) {
      next[v] = block + 1;
      queue.push(now + (SIM_BLOCK_BYTES * 8000) / asset.bitrateBps, v);
    } else {
      h?.close(now);
      open--;
    }
  }
  return {
    requestedBytes,
    storageBytes,
    peakOverBudget: cache && cache.budgetBytes > 0 ? cache.stats().peakBytes / cache.budgetBytes : 0,
    meanFill: concurrencySamples ? fillSum / concurrencySamples : 0,
    viewers: ai,
    meanConcurrency: concurrencySamples ? concurrencySum / concurrencySamples : 0,
  };
}

/**
 * Records, for each block read in the measured window, how long ago the same
 * block was last read (by anyone): what keeping it for this read would have
 * cost, in bytes × time. A cache that never hits (so the replay reads
 * everything through `get`).
 */
class ReuseRecorder implements BlockCache {
  readonly policy = 'lru' as const;
  readonly budgetBytes = 0;
  readonly usedBytes = 0;
  readonly blockBytes = SIM_BLOCK_BYTES;
  /** Time since the previous read of the block (ms; Infinity for a first read), of each counted read. */
  readonly reuseMs: number[] = [];
  readonly #lastRead = new Map<string, number>();
  readonly #warmupMs: number;

  constructor(warmupMs: number) {
    this.#warmupMs = warmupMs;
  }

  openStream(assetId: string): StreamHandle {
    const get = (block: number, now: number): undefined => {
      const key = `${assetId}:${block}`;
      const last = this.#lastRead.get(key);
      this.#lastRead.set(key, now);
      if (now >= this.#warmupMs) this.reuseMs.push(last === undefined ? Infinity : now - last);
      return undefined;
    };
    return { assetId, get, put: () => false, seek: () => {}, close: () => {} };
  }

  holds = () => false;
  assets = () => [];
  heldBlocks = () => [];
  /** The trace never changes a file. */
  forget = () => {};
  onChange = () => () => {};
  stats = () => ({}) as CacheStats;
}

/**
 * The least any cache of `budgetBytes` could read from storage on this trace,
 * as a share of what no cache reads: a hit costs the block's bytes × the time
 * since its previous read (it must be held that long), and an oracle buys the
 * cheapest hits first until the budget × the window is spent. A lower bound:
 * it knows the future and only has to respect the budget on average.
 */
function offlineBoundRatio(reuseMs: number[], budgetBytes: number, windowMs: number): number {
  const sorted = Float64Array.from(reuseMs).sort();
  let spent = 0;
  let hits = 0;
  for (const r of sorted) {
    spent += r * SIM_BLOCK_BYTES;
    if (r === Infinity || spent > budgetBytes * windowMs) break;
    hits++;
  }
  return 1 - hits / sorted.length; // by block count: all but a few reads are whole blocks
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Storage bytes read by each policy (`gic`, the default, `interval`, `lru`) vs
 * no cache over the same trace and the same memory, and the offline bound. Quick: 2.5 h simulated (1 h warm-up); full: 8 h (2 h warm-up).
 */
export async function benchCache(opts: { quick: boolean }): Promise<Record<string, number>> {
  const t0 = performance.now();
  const hour = 3600_000;
  const horizonMs = (opts.quick ? 2.5 : 8) * hour;
  const warmupMs = (opts.quick ? 1 : 2) * hour;
  const catalog = makeCatalog(seededRng(SEED));
  const catalogBytes = catalog.reduce((s, a) => s + a.bytes, 0);
  const figures: Record<string, number> = {
    'cache.trace.catalog_gbytes': round(catalogBytes / 1e9, 2),
    'cache.trace.hours_measured': (horizonMs - warmupMs) / hour,
    'cache.sim_block_kib': SIM_BLOCK_BYTES / 1024,
  };
  let peakOverBudget = 0;
  for (const { name, alpha } of ZIPFS) {
    const trace = makeTrace(catalog, alpha, horizonMs, seededRng(SEED + Math.round(alpha * 100)));
    const none = replay(trace, null, warmupMs, horizonMs);
    figures[`cache.trace.${name}.viewers`] = none.viewers;
    figures[`cache.trace.${name}.mean_concurrency`] = Math.round(none.meanConcurrency);
    figures[`cache.nocache.${name}.storage_gbytes`] = round(none.storageBytes / 1e9, 2);
    const at: Record<string, Record<number, number>> = { gic: {}, interval: {}, lru: {} };
    for (const pct of CACHE_PCTS) {
      const budgetBytes = Math.floor((catalogBytes * pct) / 100);
      for (const policy of POLICIES) {
        const cache = createCache({ policy, budgetBytes, blockBytes: SIM_BLOCK_BYTES });
        const out = replay(trace, cache, warmupMs, horizonMs);
        if (out.requestedBytes !== none.requestedBytes) throw new Error('replays of one trace disagree on bytes requested');
        peakOverBudget = Math.max(peakOverBudget, out.peakOverBudget);
        at[policy]![pct] = out.storageBytes;
        figures[`cache.curve.${policy}.${name}.pct${pct}_storage_gbytes`] = round(out.storageBytes / 1e9, 2);
        if (pct === HEADLINE_PCT) figures[`cache.fill.${policy}.${name}.pct${pct}`] = round(out.meanFill, 3);
      }
    }
    // The headline figures are the default policy's (gic); the others' for comparison.
    const gic = at.gic![HEADLINE_PCT]!;
    const interval = at.interval![HEADLINE_PCT]!;
    const lru = at.lru![HEADLINE_PCT]!;
    figures[`cache.storage_read_ratio_vs_lru.${name}`] = round(gic / lru);
    figures[`cache.storage_read_ratio_vs_nocache.${name}`] = round(gic / none.storageBytes);
    figures[`cache.storage_read_ratio_vs_interval.${name}`] = round(gic / interval);
    figures[`cache.interval_storage_read_ratio_vs_nocache.${name}`] = round(interval / none.storageBytes);
    figures[`cache.lru_storage_read_ratio_vs_nocache.${name}`] = round(lru / none.storageBytes);
    const recorder = new ReuseRecorder(warmupMs);
    replay(trace, recorder, warmupMs, horizonMs);
    for (const pct of [HEADLINE_PCT, 10]) {
      figures[`cache.offline_bound_ratio_vs_nocache.${name}.pct${pct}`] = round(
        offlineBoundRatio(recorder.reuseMs, Math.floor((catalogBytes * pct) / 100), horizonMs - warmupMs),
      );
    }
    // The default policy's ratio at every cache size, so "how much memory would it take" is read off a figure, not typed.
    for (const pct of CACHE_PCTS)
      figures[`cache.storage_read_ratio_vs_nocache.${name}.pct${pct}`] = round(at.gic![pct]! / none.storageBytes);
  }
  figures['cache.peak_bytes_over_budget_max'] = round(peakOverBudget);
  figures['cache.bench_seconds'] = round((performance.now() - t0) / 1000, 1);
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchCache({ quick: process.argv.includes('--quick') }), null, 2));
}
