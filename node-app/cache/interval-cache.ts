// The adaptable cache of US 7,912,954: interval caching over pairs of consecutive streams, plus asset prefixes;
// generalized (policy `gic`) to keep whole assets on intervals predicted from their arrivals.
import { BLOCK_BYTES } from '../contracts.js';
import { BlockTable, type HeldBlock } from './block-table.js';
import { assertAssetId, assertBlockIndex, assertBytes, assertTime, ChangeEmitter } from './cache-shared.js';
import { Chains, SLOT_STRIDE } from './interval-chain.js';
import type { Member, Pair } from './pair.js';
import { type AssetState, AssetRecords } from './asset-records.js';
import { BlockKeeper } from './block-keeper.js';
import type { IntervalCacheOptions } from './interval-cache-options.js';
import { PairRanking } from './pair-ranking.js';
import { DEFAULT_PREFIX_MS, DEFAULT_PREFIX_SHARE, PrefixPool, prefixBlocksFor } from './prefix-pool.js';
import { StreamMoves } from './stream-moves.js';
import { WholeAssets } from './whole-assets.js';
import { CachePolicy, type BlockCache, type CacheStats, type StreamHandle, type StreamInfo } from './types.js';

export type { IntervalCacheOptions } from './interval-cache-options.js';

/** An open stream as the cache sees it: the viewer's handle and its member of the asset's chain. */
interface Stream extends StreamHandle, Member {
  readonly asset: AssetState;
  readonly info: StreamInfo;
}

/**
 * Interval caching. Each asset's open streams form a chain ordered by position;
 * consecutive streams form pairs (leader ahead, follower behind). Pairs are
 * ranked by their interval — the difference of their start times (a seek moves
 * a stream's start to when it would have started to be there now) — shortest
 * first (equal intervals: the older pair first), and the interval share of the
 * budget goes to them in that order. Each pair is charged what it needs in
 * steady state: the interval at the asset's bitrate plus one block (without a
 * bitrate, the blocks the leader is ahead of the follower), and at least what it
 * holds. Not the leader's current head start: a new follower is far behind at
 * first (its leader had a fast-start burst and a 1.5× catch-up), but both end up
 * the same lead ahead of their playback, one interval apart. For viewers
 * streaming at the media rate, a pair's benefit (storage bytes saved per second)
 * over its cost (bytes held) is 1/interval whatever the bitrate, which is why
 * the interval and not the byte gap ranks them.
 *
 * While a pair is cached, each block its leader reads (from storage or from
 * the cache) at or ahead of the follower is held, and released once the
 * follower has read past it. Every arrival, departure and seek re-ranks the
 * pairs; a pair that no longer fits drops its blocks and its follower reads
 * from storage from where it is; a pair whose cost falls as its follower
 * catches up may re-rank them too (`PairRanking.followerMoved`). Pure: the
 * clock is the `now` passed in.
 *
 * Generalized interval caching (`generalized`, policy `gic`; Dan & Sitaram,
 * 1996): the first viewer of a group, and every viewer of an asset whose
 * viewers never overlap, reads storage under pure interval caching. So an asset
 * of known size requested at least twice also competes as a whole: its
 * interval is the one predicted for its next request (the smoothed gap between
 * its requests, or the time since the last one if longer), and it is charged
 * what that next viewer will read before it catches up with the last one — the
 * whole asset, or for a long asset the predicted interval's worth of media. Pairs
 * and assets are ranked together by interval (the same storage bytes saved per
 * second per byte held, 1/interval), and an admitted asset keeps every block
 * below that mark that any of its viewers reads, after they leave too.
 *
 * Who gets the budget is `PairRanking`'s (pair-ranking.ts); which blocks are kept
 * for whom, `BlockKeeper`'s (block-keeper.ts); how a read or a
 * seek moves a stream in its chain, `StreamMoves`'s (stream-moves.ts); prefixes
 * are `PrefixPool`'s, whole assets `WholeAssets`'s. A block read touches the stream (handle and chain member in one object), its two
 * pairs and the block, with no allocation; a hit on the block the stream's
 * pair holds for it needs no lookup at all.
 */
export class IntervalCache implements BlockCache {
  readonly policy: CachePolicy;
  readonly budgetBytes: number;
  readonly blockBytes: number;
  readonly #prefixMs: number;
  readonly #emitter = new ChangeEmitter();
  readonly #table: BlockTable;
  readonly #chains: Chains;
  readonly #prefix: PrefixPool;
  readonly #ranking: PairRanking<AssetState>;
  readonly #moves: StreamMoves<AssetState>;
  readonly #keeper: BlockKeeper;
  readonly #assets = new AssetRecords();
  /** Generalized: the assets that compete whole, on their predicted intervals. */
  readonly #whole: WholeAssets<AssetState> | null;
  /** The operation flipped an asset or marked a record: `#end` reports and sweeps (most block reads do neither). */
  #settle = false;
  /** The latest `now` an operation was given: the time of a re-rank. */
  #nowMs = 0;
  #openStreams = 0;
  /** What the last `#prefetch` read, never used: written so that the compiler keeps the reads. */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: only written, on purpose (see above)
  #prefetched = 0;
  #hits = 0;
  #misses = 0;
  #hitBytes = 0;
  #missBytes = 0;

  constructor(opts: IntervalCacheOptions) {
    this.policy = opts.generalized ? CachePolicy.gic : CachePolicy.interval;
    this.budgetBytes = opts.budgetBytes;
    this.blockBytes = opts.blockBytes ?? BLOCK_BYTES;
    this.#prefixMs = opts.prefixMs ?? DEFAULT_PREFIX_MS;
    const prefixCapBytes = Math.floor(this.budgetBytes * (opts.prefixShare ?? DEFAULT_PREFIX_SHARE));
    this.#table = new BlockTable(this.budgetBytes, (id) => {
      this.#emitter.flip(id);
      this.#assets.markId(id);
      this.#settle = true;
    });
    this.#chains = new Chains(this.#table);
    this.#prefix = new PrefixPool(prefixCapBytes, this.#table);
    this.#whole = opts.generalized
      ? new WholeAssets<AssetState>(this.#table, this.blockBytes, opts.arrivalHistoryMax, (a, keeping) =>
          this.#chains.setKeeping(a, keeping),
        )
      : null;
    this.#ranking = new PairRanking(this.#chains, this.#table, this.#whole, this.budgetBytes - prefixCapBytes, this.blockBytes);
    this.#moves = new StreamMoves(this.#chains, this.#ranking, this.blockBytes);
    this.#keeper = new BlockKeeper(this.#table, this.#chains, this.#prefix, this.#ranking, this.blockBytes);
  }

  get usedBytes(): number {
    return this.#table.usedBytes;
  }

  openStream(assetId: string, now: number, info: StreamInfo = {}): StreamHandle {
    assertAssetId(assetId);
    assertTime(now);
    try {
      return this.#open(assetId, now, info);
    } finally {
      this.#end();
    }
  }

  /**
   * An open stream: the viewer's handle and the stream's member of its asset's
   * chain in one object. Each operation ends with #end (in `finally`), without
   * closures: this is the per-block hot path.
   */
  static readonly #Stream = class implements Stream {
    // Assigned in the constructor, hottest first (a block read needs the first six).
    readonly cache: IntervalCache;
    /** Becomes null at close (a closed stream is out of its chain). */
    owner: object | null;
    pos: number;
    follow: Pair | null;
    lead: Pair | null;
    readonly asset: AssetState;
    readonly info: StreamInfo;
    start: number;
    readonly assetId: string;

    constructor(cache: IntervalCache, asset: AssetState, info: StreamInfo, now: number) {
      this.cache = cache;
      this.owner = this;
      this.pos = 0;
      this.follow = null;
      this.lead = null;
      this.asset = asset;
      this.info = info;
      this.start = now;
      this.assetId = asset.id;
    }

    get(block: number, now: number): Uint8Array | undefined {
      const c = this.cache;
      try {
        return c.#get(this, block, now);
      } finally {
        c.#end();
      }
    }

    prefetch(block: number): void {
      this.cache.#prefetch(this, block);
    }

    put(block: number, bytes: Uint8Array, now: number): boolean {
      const c = this.cache;
      try {
        return c.#put(this, block, bytes, now);
      } finally {
        c.#end();
      }
    }

    seek(block: number, now: number): void {
      const c = this.cache;
      try {
        c.#seek(this, block, now);
      } finally {
        c.#end();
      }
    }

    close(now: number): void {
      const c = this.cache;
      try {
        c.#close(this, now);
      } finally {
        c.#end();
      }
    }
  };

  holds(assetId: string): boolean {
    return this.#assets.holds(assetId);
  }

  assets(): string[] {
    return this.#assets.heldIds();
  }

  heldBlocks(assetId: string): number[] {
    return this.#assets.heldBlocks(assetId);
  }

  forget(assetId: string): void {
    assertAssetId(assetId);
    try {
      this.#forgetAsset(assetId);
    } finally {
      this.#end();
    }
  }

  onChange(listener: (change: { added: string[]; removed: string[] }) => void): () => void {
    return this.#emitter.on(listener);
  }

  stats(): CacheStats {
    let cachedPairs = 0;
    for (const p of this.#chains.ranked) if (p.alive && p.cached) cachedPairs++;
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitBytes: this.#hitBytes,
      missBytes: this.#missBytes,
      insertedBlocks: this.#table.inserted,
      droppedBlocks: this.#table.dropped,
      refusedBlocks: this.#keeper.refused,
      peakBytes: this.#table.peakBytes,
      openStreams: this.#openStreams,
      pairs: this.#chains.count,
      cachedPairs,
      listenerErrors: this.#emitter.errors,
    };
  }

  // ---- operations ----------------------------------------------------------------------

  /**
   * Settles what the operation left pending, then reports asset changes.
   * Operations never nest (a listener that starts one does so after the report
   * took the flips), so the emitter needs no begin/end of its own.
   */
  #end(): void {
    if (this.#ranking.dirty) this.#ranking.rerank(this.#nowMs);
    if (!this.#settle) return;
    this.#settle = false;
    this.#assets.sweep(this.#forget);
    this.#emitter.report(this.#holdsFn);
  }

  readonly #holdsFn = (id: string): boolean => this.#assets.holds(id);

  /** An asset record went away: its prefix and its whole-asset entry go too. */
  readonly #forget = (a: AssetState): void => {
    this.#prefix.forget(a);
    this.#whole?.drop(a);
  };

  #open(assetId: string, now: number, info: StreamInfo): Stream {
    const asset = this.#assets.obtain(assetId);
    this.#nowMs = now;
    this.#whole?.arrive(asset, now, info);
    const bitrate = info.bitrateBps;
    if (bitrate !== undefined && Number.isFinite(bitrate) && bitrate > 0 && asset.bytesPerMs !== bitrate / 8000) {
      asset.bytesPerMs = bitrate / 8000;
      this.#chains.forgetNeeds(asset);
    }
    asset.prefixBlocks = prefixBlocksFor(this.#prefix.capBytes, this.blockBytes, this.#prefixMs, asset.bytesPerMs, info);
    this.#prefix.touch(asset);
    const stream = new IntervalCache.#Stream(this, asset, { ...info }, now);
    this.#chains.insert(stream);
    this.#openStreams++;
    this.#ranking.dirty = true;
    return stream;
  }

  #forgetAsset(assetId: string): void {
    const a = this.#assets.get(assetId);
    this.#whole?.forget(a, assetId);
    if (!a) return;
    // Every stream of the old file leaves (no ghost): a follower fed from its leader's queue would mix the two files.
    while (a.head !== null) {
      const m = a.head;
      this.#chains.unlink(m, false);
      if (m.owner !== null) {
        m.owner = null;
        this.#openStreams--;
      }
    }
    this.#prefix.forget(a);
    // No pair, prefix or whole-asset reason is left; whatever still holds a block would be a bookkeeping slip,
    // and old bytes must not outlive the file whatever the reason: free them all.
    this.#table.freeAll(a);
    this.#ranking.dirty = true;
    this.#assets.mark(a);
    this.#settle = true;
  }

  #get(s: Stream, block: number, now: number): Uint8Array | undefined {
    if (s.owner === null) return undefined;
    assertBlockIndex(block);
    assertTime(now);
    this.#nowMs = now;
    this.#moves.moveTo(s, block, now);
    // The block the stream's pair holds for it is the pair's first, if any: no lookup.
    const inP = s.follow;
    const held = inP !== null && inP.size > 0 && inP.first() === block ? inP.firstHeld() : s.asset.blocks.get(block);
    if (held) {
      this.#keeper.retain(s, block, held);
      this.#hits++;
      this.#hitBytes += held.bytes.length;
      return held.bytes;
    }
    this.#misses++;
    return undefined;
  }

  /** Reads what `#get` (and `#put`) of `block` will read first: the stream, its pairs and their records, the held block. */
  #prefetch(s: Stream, block: number): void {
    if (s.owner === null) return;
    const slots = this.#chains.slots;
    let x = s.pos;
    const inP = s.follow;
    const outP = s.lead;
    if (outP !== null) x += outP.followerPos + slots[SLOT_STRIDE * outP.slot]!;
    let held: HeldBlock | undefined;
    if (inP !== null) {
      x += inP.leaderPos + slots[SLOT_STRIDE * inP.slot]! + inP.ringFirst();
      if (inP.size > 0) x += inP.firstHeld().refs;
      held = inP.peek(block);
    }
    // The block is looked up in the asset's map only when its pair does not queue it (as `#get` does).
    if (held === undefined) held = s.asset.blocks.get(block);
    if (held !== undefined) x += held.refs;
    this.#prefetched = x;
  }

  #put(s: Stream, block: number, bytes: Uint8Array, now: number): boolean {
    if (s.owner === null) return false;
    assertBlockIndex(block);
    assertBytes(bytes);
    assertTime(now);
    this.#nowMs = now;
    this.#moves.moveTo(s, block, now);
    this.#missBytes += bytes.length;
    const held = s.asset.blocks.get(block);
    if (held) {
      this.#keeper.retain(s, block, held);
      return true;
    }
    return this.#keeper.admit(s, block, bytes);
  }

  #seek(s: Stream, block: number, now: number): void {
    if (s.owner === null) return;
    assertBlockIndex(block);
    assertTime(now);
    this.#nowMs = now;
    if (block !== s.pos) this.#moves.reposition(s, block, now, true);
  }

  #close(s: Stream, now: number): void {
    assertTime(now);
    if (s.owner === null) return;
    this.#nowMs = now;
    this.#chains.unlink(s, true);
    s.owner = null;
    this.#openStreams--;
    this.#ranking.dirty = true;
    this.#assets.mark(s.asset);
    this.#settle = true;
  }
}
