// Generalized interval caching (Dan & Sitaram): whole assets kept on an interval predicted from their recent arrivals.
import type { BlockOwner, BlockTable, HeldBlock } from './block-table.js';
import type { StreamInfo } from './types.js';

/** Assets whose arrival times a cache remembers (least recently requested forgotten first). */
export const ARRIVAL_HISTORY_MAX_ASSETS = 10_000;

/** One asset's request times, as the history holds them. */
export interface Arrivals {
  lastMs: number;
  /** Smoothed time between arrivals (ms); Infinity until the second arrival. */
  gapMs: number;
  /** The history forgot the asset (it holds a new record if the asset comes back). */
  forgotten: boolean;
}

/** What `ArrivalHistory.predictedMs` says, from the asset's record (null: never seen). */
function predictFrom(h: Arrivals | null, now: number): number {
  if (h === null || h.forgotten) return Infinity;
  const since = now - h.lastMs;
  return since > h.gapMs ? since : h.gapMs;
}

/**
 * When each asset was last requested and how far apart its requests come, so
 * that the cache can predict the interval to the next request of an asset
 * nobody (or one viewer) is watching. Bounded: past `maxAssets` the least
 * recently requested asset is forgotten.
 */
export class ArrivalHistory {
  readonly maxAssets: number;
  readonly #byAsset = new Map<string, Arrivals>();

  constructor(maxAssets = ARRIVAL_HISTORY_MAX_ASSETS) {
    this.maxAssets = maxAssets;
  }

  get size(): number {
    return this.#byAsset.size;
  }

  /** Records a request; returns the asset's record (valid until `forgotten`). */
  arrive(assetId: string, now: number): Arrivals {
    const h = this.#byAsset.get(assetId);
    if (h) {
      this.#byAsset.delete(assetId); // re-inserted last: the map's order is the LRU order
      const gap = Math.max(0, now - h.lastMs);
      // Half the weight on the newest gap: a change of popularity shows within a few requests.
      h.gapMs = h.gapMs === Infinity ? gap : (h.gapMs + gap) / 2;
      h.lastMs = Math.max(h.lastMs, now);
      this.#byAsset.set(assetId, h);
      return h;
    }
    if (this.#byAsset.size >= this.maxAssets) {
      const [oldest, record] = this.#byAsset.entries().next().value!;
      record.forgotten = true;
      this.#byAsset.delete(oldest);
    }
    const record: Arrivals = { lastMs: now, gapMs: Infinity, forgotten: false };
    this.#byAsset.set(assetId, record);
    return record;
  }

  /** The asset's file changed or went away: its request times say nothing of the next one. */
  forget(assetId: string): void {
    const h = this.#byAsset.get(assetId);
    if (!h) return;
    h.forgotten = true;
    this.#byAsset.delete(assetId);
  }

  /**
   * The interval to the asset's next request: the usual gap between its
   * requests, or the time since the last one if that is already longer.
   * Infinity for an asset requested once (or forgotten): nothing to predict from.
   */
  predictedMs(assetId: string, now: number): number {
    return predictFrom(this.#byAsset.get(assetId) ?? null, now);
  }
}

/** An asset as whole-asset keeping sees it. */
export interface KeptAsset extends BlockOwner {
  /** Size of the asset (bytes); 0 when unknown or still growing (never kept whole). */
  sizeBytes: number;
  /** Its record in the arrival history (null before its first request): a re-rank reads it without a lookup. */
  arrivals: Arrivals | null;
  /** Media bytes per ms (0 = unknown). */
  bytesPerMs: number;
  /** The asset's predicted interval won its place in the last re-rank: every block read is kept. Changed through `WholeAssets`. */
  keeping: boolean;
  /** Predicted interval as of the last re-rank (ms). */
  entryKey: number;
  /**
   * Blocks kept are those below this one: the whole asset, or for a long one
   * what its next viewer reads before it catches up with the last (there the
   * two form a pair).
   */
  keepBelow: number;
  keptBytes: number;
  readonly kept: number[];
  /** Order of creation among the owner's records: ranks assets of equal predicted interval (older first). */
  readonly seq: number;
  /** In `WholeAssets`' ranking, or waiting to enter it at the next `rank`. */
  ranking: boolean;
  /** The owner dropped the record (`WholeAssets.drop`): it leaves the ranking. */
  dropped: boolean;
}

/**
 * The whole-asset half of generalized interval caching: which assets compete,
 * on which predicted interval, for how many bytes, and keeping their blocks.
 * The interval cache merges `rank`'s order with its pairs' and calls `admit` or
 * `release` on each asset as the budget allows.
 */
export class WholeAssets<A extends KeptAsset> {
  readonly #arrivals: ArrivalHistory;
  readonly #table: BlockTable;
  readonly #blockBytes: number;
  /**
   * Assets by predicted interval as of the last `rank`, shortest first (ties:
   * by `seq`). Between ranks it keeps that order; arrivals that made an asset
   * eligible wait in `#arrived`.
   */
  readonly #ranked: A[] = [];
  readonly #arrived: A[] = [];
  /** Sets `a.keeping` (the owner may mirror it elsewhere). */
  readonly #setKeeping: (a: A, keeping: boolean) => void;

  constructor(
    table: BlockTable,
    blockBytes: number,
    maxAssets?: number,
    setKeeping: (a: A, keeping: boolean) => void = (a, keeping) => {
      a.keeping = keeping;
    },
  ) {
    this.#table = table;
    this.#setKeeping = setKeeping;
    this.#blockBytes = blockBytes;
    this.#arrivals = new ArrivalHistory(maxAssets);
  }

  /** A viewer opened the asset at `now`. */
  arrive(a: A, now: number, info: StreamInfo): void {
    a.arrivals = this.#arrivals.arrive(a.id, now);
    const size = info.assetBytes;
    a.sizeBytes = info.live !== true && size !== undefined && Number.isSafeInteger(size) && size > 0 ? size : 0;
    if (!a.ranking && a.sizeBytes > 0 && a.arrivals.gapMs !== Infinity) {
      a.ranking = true;
      this.#arrived.push(a);
    }
  }

  /** The owner forgets the asset's record: it no longer competes. */
  drop(a: A): void {
    a.dropped = true;
  }

  /** The asset's file changed or went away (`BlockCache.forget`): its history goes, its kept blocks too. */
  forget(a: A | undefined, assetId: string): void {
    this.#arrivals.forget(assetId);
    if (!a) return;
    this.release(a);
    this.drop(a);
  }

  /**
   * The assets that may be kept whole (size known, requested at least twice),
   * by predicted interval, shortest first (ties: older record first). One that
   * no longer qualifies stops being kept.
   *
   * Only the eligible assets are visited: those ranked last time and those
   * that became eligible since (an asset becomes eligible only on an arrival).
   * The previous order is nearly right (only predictions that outgrew their
   * smoothed gap move, by the time passed), so an insertion sort restores it
   * in about one pass.
   */
  rank(now: number): readonly A[] {
    const ranked = this.#ranked;
    const arrived = this.#arrived;
    for (let i = 0; i < arrived.length; i++) ranked.push(arrived[i]!);
    arrived.length = 0;
    let n = 0;
    for (let i = 0; i < ranked.length; i++) {
      const a = ranked[i]!;
      if (a.dropped) {
        a.ranking = false;
        continue;
      }
      const key = a.sizeBytes > 0 ? predictFrom(a.arrivals, now) : Infinity;
      a.entryKey = key;
      if (key === Infinity) {
        a.ranking = false;
        if (a.keeping) this.release(a);
        continue;
      }
      ranked[n++] = a;
    }
    ranked.length = n;
    for (let i = 1; i < n; i++) {
      const a = ranked[i]!;
      const key = a.entryKey;
      const seq = a.seq;
      let j = i - 1;
      for (; j >= 0; j--) {
        const b = ranked[j]!;
        if (b.entryKey < key || (b.entryKey === key && b.seq < seq)) break;
        ranked[j + 1] = b;
      }
      ranked[j + 1] = a;
    }
    return ranked;
  }

  /**
   * What keeping the asset is charged: what it keeps, or what its next viewer
   * will need if that is more — the whole asset, or for a long one the
   * predicted interval's worth of media (beyond that the next viewer forms a pair).
   */
  cost(a: A): number {
    const need = this.#need(a);
    return need > a.keptBytes ? need : a.keptBytes;
  }

  admit(a: A): void {
    if (!a.keeping) this.#setKeeping(a, true);
    a.keepBelow = Math.ceil(this.#need(a) / this.#blockBytes) + 1;
  }

  /** Stops keeping the asset: its blocks lose this reason to stay. */
  release(a: A): void {
    if (a.keeping) this.#setKeeping(a, false);
    releaseKept(a, this.#table);
  }

  /**
   * Stops keeping assets ranked on a predicted interval longer than `key`,
   * longest first, until `bytes` fit. Returns whether it released any.
   */
  makeRoom(bytes: number, key: number): boolean {
    const ranked = this.#ranked;
    let released = false;
    for (let i = ranked.length - 1; i >= 0 && ranked[i]!.entryKey > key && !this.#table.fits(bytes); i--) {
      const a = ranked[i]!;
      if (a.keeping && a.keptBytes > 0) {
        this.release(a);
        released = true;
      }
    }
    return released;
  }

  #need(a: A): number {
    return a.bytesPerMs > 0 ? Math.min(a.sizeBytes, Math.ceil(a.entryKey * a.bytesPerMs)) : a.sizeBytes;
  }
}

/** Keeps a held block for the asset's next viewer. */
export function keepBlock(owner: KeptAsset, block: number, held: HeldBlock): void {
  if (held.kept) return;
  held.kept = true;
  owner.kept.push(block);
  owner.keptBytes += held.bytes.length;
}

function releaseKept(owner: KeptAsset, table: BlockTable): void {
  const kept = owner.kept;
  owner.keptBytes = 0;
  for (let i = 0; i < kept.length; i++) {
    const held = owner.blocks.get(kept[i]!);
    if (!held || !held.kept) continue;
    held.kept = false;
    table.freeIfUnused(owner, kept[i]!, held);
  }
  kept.length = 0;
}
