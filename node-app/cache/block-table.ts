// The blocks an interval cache holds, with exact byte accounting and the reasons each block stays.

/** A held block: kept while a cached pair references it, a prefix pins it or its asset is kept whole. */
export interface HeldBlock {
  readonly bytes: Uint8Array;
  /** Number of cached pairs whose queue lists this block. */
  refs: number;
  /** Part of its asset's prefix. */
  pinned: boolean;
  /** Kept for the asset's next viewer (generalized interval caching). */
  kept: boolean;
}

/** The per-asset part the table works on. */
export interface BlockOwner {
  readonly id: string;
  readonly blocks: Map<number, HeldBlock>;
}

/**
 * All held blocks of one cache. `insert` is the only way bytes enter, and it
 * refuses (throws) anything that would take `usedBytes` past the budget: the
 * policy must make room first, so the budget holds at every instant.
 */
export class BlockTable {
  readonly budgetBytes: number;
  readonly #onFlip: (assetId: string) => void;
  #usedBytes = 0;
  #peakBytes = 0;
  inserted = 0;
  dropped = 0;

  constructor(budgetBytes: number, onFlip: (assetId: string) => void) {
    this.budgetBytes = budgetBytes;
    this.#onFlip = onFlip;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get peakBytes(): number {
    return this.#peakBytes;
  }

  fits(bytes: number): boolean {
    return this.#usedBytes + bytes <= this.budgetBytes;
  }

  insert(owner: BlockOwner, block: number, bytes: Uint8Array): HeldBlock {
    if (owner.blocks.has(block)) throw new Error(`block ${block} of ${owner.id} is already held`);
    if (!this.fits(bytes.length)) throw new Error('cache budget would be exceeded'); // a policy bug, never user input
    const held: HeldBlock = { bytes, refs: 0, pinned: false, kept: false };
    owner.blocks.set(block, held);
    this.#usedBytes += bytes.length;
    if (this.#usedBytes > this.#peakBytes) this.#peakBytes = this.#usedBytes;
    this.inserted++;
    if (owner.blocks.size === 1) this.#onFlip(owner.id);
    return held;
  }

  /** One reason less for `block`; frees it when no reason is left. */
  unref(owner: BlockOwner, block: number): void {
    const held = owner.blocks.get(block);
    if (!held) return;
    held.refs--;
    this.freeIfUnused(owner, block, held);
  }

  /** Frees every block of `owner`, whatever reasons it still has (its file changed or went away). */
  freeAll(owner: BlockOwner): void {
    for (const [block, held] of owner.blocks) {
      held.refs = 0;
      held.pinned = false;
      held.kept = false;
      this.freeIfUnused(owner, block, held);
    }
  }

  freeIfUnused(owner: BlockOwner, block: number, held: HeldBlock): void {
    if (held.refs > 0 || held.pinned || held.kept) return;
    owner.blocks.delete(block);
    this.#usedBytes -= held.bytes.length;
    this.dropped++;
    if (owner.blocks.size === 0) this.#onFlip(owner.id);
  }
}
