// What an IntervalCache is given: its budget and block size, the prefix share, and whether it runs generalized (gic).

export interface IntervalCacheOptions {
  budgetBytes: number;
  blockBytes?: number;
  prefixShare?: number;
  prefixMs?: number;
  /**
   * Generalized interval caching (policy `gic`): besides the pairs, an asset
   * whose size is known is kept whole on the interval predicted from its recent
   * arrivals, ranked with the pairs by the same interval.
   */
  generalized?: boolean;
  /** Generalized: how many assets' arrival times to remember. Default `ARRIVAL_HISTORY_MAX_ASSETS`. */
  arrivalHistoryMax?: number;
}
