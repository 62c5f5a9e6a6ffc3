// The prefix share of an interval cache: the first blocks of recently requested assets, LRU by request.
import type { BlockOwner, BlockTable, HeldBlock } from './block-table.js';
import type { StreamInfo } from './types.js';

/** Share of the budget for asset prefixes unless configured. */
export const DEFAULT_PREFIX_SHARE = 0.1;
/** Media time a prefix covers when the asset's bitrate is known (ms). */
export const DEFAULT_PREFIX_MS = 30_000;
/** Prefix length when the bitrate is unknown (bytes). */
export const PREFIX_FALLBACK_BYTES = 2 * 1024 * 1024;
/** One prefix may take at most 1/MIN_PREFIXES of the pool, so that many assets keep one. */
export const MIN_PREFIXES = 4;

/**
 * How many blocks an asset's prefix is: `prefixMs` of media at `bytesPerMs` (0 =
 * unknown: `PREFIX_FALLBACK_BYTES`), at most 1/`MIN_PREFIXES` of the pool
 * (`poolBytes`), and no more than a finished asset of known size has. 0 when
 * the pool's share for one asset is under a block.
 */
export function prefixBlocksFor(poolBytes: number, blockBytes: number, prefixMs: number, bytesPerMs: number, info: StreamInfo): number {
  const perAssetBytes = Math.floor(poolBytes / MIN_PREFIXES);
  if (perAssetBytes < blockBytes) return 0;
  const wanted = bytesPerMs > 0 ? Math.ceil(prefixMs * bytesPerMs) : PREFIX_FALLBACK_BYTES;
  const bytes = Math.min(wanted, perAssetBytes);
  const size = info.assetBytes;
  if (info.live !== true && size !== undefined && size <= bytes) return Math.ceil(size / blockBytes);
  return Math.floor(bytes / blockBytes);
}

/** An asset as the prefix pool sees it. */
export interface PrefixOwner extends BlockOwner {
  /** Blocks `[0, prefixBlocks)` are the prefix. */
  prefixBlocks: number;
  readonly pinned: Set<number>;
}

/**
 * Why a prefix: interval caching only starts storing blocks from where the
 * leader is when the follower arrives, so a follower arriving Δ later reads its
 * first Δ × bitrate bytes from storage. Holding the first seconds (30 s) of
 * recently requested assets lets such followers start entirely from RAM (and
 * start faster), and keeps a just-requested asset visible as cached in the
 * state table, so the director sends the next viewer here and a new interval
 * forms there.
 *
 * How big: a follower that arrives while its leader is still in its fast
 * start (the first seconds, when delivery sends a 1–8 MiB burst) must find all
 * of it here, or it reads that much from storage. So one prefix may take up to
 * a quarter of the pool (at the default 64 MiB budget: 1.6 MiB, 20 s of a
 * 640 kbit/s stream) and the pool is a fixed 10 % of the budget, LRU among
 * assets by last request. The trace benchmark (bench/cache-trace.ts, cache =
 * 5 % of the catalog) shows the price: a 10 % prefix reads about 1.3 % more
 * from storage than a 5 % one, because those first seconds are a sliver of
 * what viewers read. Being fixed, the pool never crowds out intervals.
 */
export class PrefixPool {
  readonly capBytes: number;
  readonly #table: BlockTable;
  /** Least recently requested first. */
  readonly #lru = new Map<string, PrefixOwner>();
  #usedBytes = 0;

  constructor(capBytes: number, table: BlockTable) {
    this.capBytes = capBytes;
    this.#table = table;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** The asset was just requested. */
  touch(owner: PrefixOwner): void {
    this.#lru.delete(owner.id);
    this.#lru.set(owner.id, owner);
  }

  /** The asset record goes away: release its prefix. */
  forget(owner: PrefixOwner): void {
    this.#evict(owner);
    this.#lru.delete(owner.id);
  }

  wants(owner: PrefixOwner, block: number): boolean {
    return block < owner.prefixBlocks && !owner.pinned.has(block) && this.#lru.has(owner.id);
  }

  /**
   * Makes room in the pool for `bytes` more of `owner`'s prefix by dropping the
   * least recently requested other prefixes. False when that is not enough.
   */
  reserve(owner: PrefixOwner, bytes: number): boolean {
    if (bytes > this.capBytes) return false;
    for (const other of this.#lru.values()) {
      if (this.#usedBytes + bytes <= this.capBytes) break;
      // A prefix already evicted holds nothing: no call (most of the LRU's head, once the pool is full).
      if (other !== owner && other.pinned.size > 0) this.#evict(other);
    }
    return this.#usedBytes + bytes <= this.capBytes;
  }

  /** Pins a held block into the prefix; call after `reserve` said yes. */
  pin(owner: PrefixOwner, block: number, held: HeldBlock): void {
    if (held.pinned) return;
    held.pinned = true;
    owner.pinned.add(block);
    this.#usedBytes += held.bytes.length;
  }

  #evict(owner: PrefixOwner): void {
    for (const block of owner.pinned) {
      const held = owner.blocks.get(block);
      if (!held) continue;
      held.pinned = false;
      this.#usedBytes -= held.bytes.length;
      this.#table.freeIfUnused(owner, block, held);
    }
    owner.pinned.clear();
  }
}
