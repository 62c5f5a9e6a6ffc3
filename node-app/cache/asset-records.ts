// The interval cache's per-asset records: made at an asset's first stream, dropped once it has no stream and holds nothing.
import type { RankedAsset } from './pair-ranking.js';
import type { PrefixOwner } from './prefix-pool.js';

/** An asset as the interval cache keeps it. `bytesPerMs` also dates a seeking stream's virtual start and sizes the prefix. */
export interface AssetState extends RankedAsset, PrefixOwner {}

/**
 * The records by asset id. A record that may have become empty (its last block
 * dropped, its last stream closed) is marked, and the marked ones are swept at
 * the end of the cache operation, so a record is never dropped while the
 * operation still uses it.
 */
export class AssetRecords {
  readonly #byId = new Map<string, AssetState>();
  readonly #maybeEmpty = new Set<AssetState>();
  /** Records created so far: the next record's `seq`. */
  #seq = 0;

  get(id: string): AssetState | undefined {
    return this.#byId.get(id);
  }

  values(): IterableIterator<AssetState> {
    return this.#byId.values();
  }

  /** True when the asset holds a block (what the cache reports to the table). */
  holds(id: string): boolean {
    return (this.#byId.get(id)?.blocks.size ?? 0) > 0;
  }

  /** The ids of the assets holding a block. */
  heldIds(): string[] {
    const out: string[] = [];
    for (const a of this.#byId.values()) if (a.blocks.size > 0) out.push(a.id);
    return out;
  }

  /** The asset's held block indexes, ascending. */
  heldBlocks(id: string): number[] {
    const a = this.#byId.get(id);
    return a ? [...a.blocks.keys()].sort((x, y) => x - y) : [];
  }

  /** The asset's record, made now if it has none. */
  obtain(id: string): AssetState {
    let a = this.#byId.get(id);
    if (!a) {
      a = {
        id,
        blocks: new Map(),
        head: null,
        tail: null,
        prefixBlocks: 0,
        pinned: new Set(),
        bytesPerMs: 0,
        sizeBytes: 0,
        arrivals: null,
        keeping: false,
        pairs: 0,
        keepSlot: -1,
        entryKey: Infinity,
        keepBelow: 0,
        keptBytes: 0,
        kept: [],
        seq: this.#seq++,
        ranking: false,
        dropped: false,
      };
      this.#byId.set(id, a);
    }
    return a;
  }

  /** The record may be empty now: looked at by the next `sweep`. */
  mark(a: AssetState): void {
    this.#maybeEmpty.add(a);
  }

  /** The same, by id (a block of the asset was dropped). */
  markId(id: string): void {
    const a = this.#byId.get(id);
    if (a) this.#maybeEmpty.add(a);
  }

  /** Drops the marked records with no stream and no block, calling `dropped` for each. */
  sweep(dropped: (a: AssetState) => void): void {
    if (this.#maybeEmpty.size === 0) return;
    for (const a of this.#maybeEmpty) {
      if (a.head === null && a.blocks.size === 0 && this.#byId.get(a.id) === a) {
        this.#byId.delete(a.id);
        dropped(a);
      }
    }
    this.#maybeEmpty.clear();
  }
}
