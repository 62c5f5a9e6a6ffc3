// The one place that picks a cache policy from configuration.
import { CacheArgumentError } from './errors.js';
import { IntervalCache } from './interval-cache.js';
import { LruCache } from './lru-cache.js';
import { CachePolicy, type BlockCache, type CacheOptions } from './types.js';

/**
 * Creates a block cache: `gic` (generalized interval caching, the default of
 * media servers), `interval` (pairs of concurrent viewers only) or `lru` (the
 * baseline). Throws `CacheArgumentError` on a bad option.
 */
export function createCache(opts: CacheOptions): BlockCache {
  const { budgetBytes, blockBytes, prefixShare, prefixMs, arrivalHistoryMax } = opts;
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0) {
    throw new CacheArgumentError(`budgetBytes must be a non-negative integer, got ${budgetBytes}`);
  }
  if (blockBytes !== undefined && (!Number.isSafeInteger(blockBytes) || blockBytes <= 0)) {
    throw new CacheArgumentError(`blockBytes must be a positive integer, got ${blockBytes}`);
  }
  if (prefixShare !== undefined && !(prefixShare >= 0 && prefixShare <= 0.5)) {
    throw new CacheArgumentError(`prefixShare must be within [0, 0.5], got ${prefixShare}`);
  }
  if (prefixMs !== undefined && !(Number.isFinite(prefixMs) && prefixMs >= 0)) {
    throw new CacheArgumentError(`prefixMs must be a non-negative number of ms, got ${prefixMs}`);
  }
  if (arrivalHistoryMax !== undefined && (!Number.isSafeInteger(arrivalHistoryMax) || arrivalHistoryMax < 1)) {
    throw new CacheArgumentError(`arrivalHistoryMax must be a positive integer, got ${arrivalHistoryMax}`);
  }
  switch (opts.policy) {
    case CachePolicy.interval:
      return new IntervalCache({ budgetBytes, blockBytes, prefixShare, prefixMs });
    case CachePolicy.gic:
      return new IntervalCache({ budgetBytes, blockBytes, prefixShare, prefixMs, generalized: true, arrivalHistoryMax });
    case CachePolicy.lru:
      return new LruCache({ budgetBytes, blockBytes });
    default:
      throw new CacheArgumentError(`unknown cache policy ${String((opts as { policy: unknown }).policy)}`);
  }
}
