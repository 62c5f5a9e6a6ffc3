// The block-cache seam: one interface, the interval (plain and generalized) and LRU policies behind it.
import type { CacheChange } from '../contracts.js';

/**
 * Which replacement policy a cache runs: `gic` (generalized interval caching,
 * the media server's default), `interval` (pairs of concurrent viewers only) or
 * `lru` (the baseline).
 */
export const CachePolicy = { interval: 'interval', gic: 'gic', lru: 'lru' } as const;
export type CachePolicy = (typeof CachePolicy)[keyof typeof CachePolicy];

/** The policy a media server runs unless `--cache-policy` says otherwise (and what the benchmarks measure). */
export const DEFAULT_CACHE_POLICY: CachePolicy = CachePolicy.gic;

/** Options of `createCache`. */
export interface CacheOptions {
  policy: CachePolicy;
  /** Hard ceiling on the bytes of cached blocks; never exceeded, not even during an insertion. */
  budgetBytes: number;
  /** Block size in bytes. Default `BLOCK_BYTES` (64 KiB); simulations may use larger blocks. */
  blockBytes?: number;
  /**
   * Interval and gic policies: share of the budget kept for asset prefixes (the
   * first blocks of recently requested assets), in [0, 0.5]. Default 0.1.
   */
  prefixShare?: number;
  /** Interval policy: media time a prefix covers when the bitrate is known (ms). Default 30 000. */
  prefixMs?: number;
  /** `gic` policy: how many assets' request times it remembers. Default `ARRIVAL_HISTORY_MAX_ASSETS` (10 000). */
  arrivalHistoryMax?: number;
}

/** What a stream knows about its asset when it opens. */
export interface StreamInfo {
  /** Size of the asset at open (bytes). A short block is cached only when it ends exactly here. */
  assetBytes?: number;
  /** Media bitrate (bits per second): converts byte gaps into time intervals. */
  bitrateBps?: number;
  /** The asset is still being ingested: a short (not yet full) block is never cached. */
  live?: boolean;
}

/**
 * One viewer reading one asset, block by block. Block `b` covers bytes
 * `[b * blockBytes, (b + 1) * blockBytes)`. Reading block `b` (by `get`, then
 * `put` on a miss) moves the stream's position to `b`; a jump is a seek.
 */
export interface StreamHandle {
  readonly assetId: string;
  /** The block's bytes when the cache holds them (a hit), else undefined. Do not mutate them. */
  get(block: number, now: number): Uint8Array | undefined;
  /**
   * Bytes of `block` just read from storage. The cache keeps them if a policy
   * wants them and they fit the budget; returns whether the block is held now.
   * The cache keeps a reference: do not mutate `bytes` afterwards.
   */
  put(block: number, bytes: Uint8Array, now: number): boolean;
  /**
   * Optional hint, changes nothing: the stream reads `block` soon. Reads (only) what that read will
   * touch, so that a caller that knows several streams' next reads (a simulator replaying many
   * viewers) has their memory fetched together instead of one miss at a time. A cache may lack it.
   */
  prefetch?(block: number): void;
  /** The stream jumps to `block` (a viewer seek). */
  seek(block: number, now: number): void;
  /** The viewer left. Idempotent; later calls on the handle do nothing. */
  close(now: number): void;
}

/** Counters since the cache was created. */
export interface CacheStats {
  hits: number;
  misses: number;
  hitBytes: number;
  /** Bytes handed to `put`: what streams of this cache read from storage. */
  missBytes: number;
  insertedBlocks: number;
  droppedBlocks: number;
  /** Blocks a policy wanted but could not keep within the budget. */
  refusedBlocks: number;
  /** Highest `usedBytes` ever reached; never above `budgetBytes`. */
  peakBytes: number;
  openStreams: number;
  /** Interval policy: pairs of consecutive streams, and how many are cached now (0 for LRU). */
  pairs: number;
  cachedPairs: number;
  /** Change listeners that threw (caught, so that the cache stays consistent). */
  listenerErrors: number;
}

/** An in-memory cache of asset blocks with a byte budget. */
export interface BlockCache {
  readonly policy: CachePolicy;
  readonly budgetBytes: number;
  readonly usedBytes: number;
  readonly blockBytes: number;
  /** A viewer starts reading `assetId` at time `now` (ms). */
  openStream(assetId: string, now: number, info?: StreamInfo): StreamHandle;
  /** True while at least one block of the asset is held. */
  holds(assetId: string): boolean;
  /** Assets with at least one block held. */
  assets(): string[];
  /** Indices of the blocks held for an asset, ascending (diagnostics and tests). */
  heldBlocks(assetId: string): number[];
  /**
   * The asset's file changed or went away: every block, prefix and whole-asset record of it is
   * dropped, and each stream open on it is closed (its `get` misses, its `put` keeps nothing), so
   * no byte of the old file is ever served again. A no-op for an asset the cache knows nothing of.
   */
  forget(assetId: string): void;
  /**
   * Called after each operation that changed which assets are held (an asset
   * gained its first block or lost its last). Returns an unsubscribe function.
   */
  onChange(listener: (change: CacheChange) => void): () => void;
  stats(): CacheStats;
}
