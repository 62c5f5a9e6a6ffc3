// The media server's block caches: the interval (adaptable) cache and its generalized form, LRU, and the cached reader.
export * from './types.js';
export * from './errors.js';
export { createCache } from './create-cache.js';
export { IntervalCache } from './interval-cache.js';
export { DEFAULT_PREFIX_MS, DEFAULT_PREFIX_SHARE, MIN_PREFIXES, PREFIX_FALLBACK_BYTES } from './prefix-pool.js';
export { LruCache } from './lru-cache.js';
export { ArrivalHistory, ARRIVAL_HISTORY_MAX_ASSETS } from './whole-assets.js';
export { createCachedSource, type CachedSource, type CachedSourceOptions } from './cached-reader.js';
