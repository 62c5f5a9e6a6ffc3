// The adaptable cache of US 7,912,954: interval caching over pairs of consecutive streams, plus asset prefixes.
import { BLOCK_BYTES } from '../contracts.js';
import { BlockTable, type HeldBlock } from './block-table.js';
import { assertAssetId, assertBlockIndex, assertBytes, assertTime, ChangeEmitter, isCompleteBlock } from './cache-shared.js';
import { Chains, type ChainAsset, type Member, type Pair } from './interval-chain.js';
import { PrefixPool, type PrefixOwner } from './prefix-pool.js';
import { CachePolicy, type BlockCache, type CacheStats, type StreamHandle, type StreamInfo } from './types.js';

/** Share of the budget for asset prefixes unless configured. */
export const DEFAULT_PREFIX_SHARE = 0.1;
/** Media time a prefix covers when the asset's bitrate is known (ms). */
export const DEFAULT_PREFIX_MS = 30_000;
/** Prefix length when the bitrate is unknown (bytes). */
export const PREFIX_FALLBACK_BYTES = 2 * 1024 * 1024;
/** One prefix may take at most 1/MIN_PREFIXES of the pool, so that many assets keep one. */
export const MIN_PREFIXES = 4;

interface AssetState extends ChainAsset, PrefixOwner {
  /** Media bytes per ms (0 = unknown): dates a seeking stream's virtual start, sizes the prefix. */
  bytesPerMs: number;
}

/** An open stream as the cache sees it: the viewer's handle and its member of the asset's chain. */
interface Stream extends StreamHandle, Member {
  readonly asset: AssetState;
  readonly info: StreamInfo;
}

export interface IntervalCacheOptions {
  budgetBytes: number;
  blockBytes?: number;
  prefixShare?: number;
  prefixMs?: number;
}

/**
 * Interval caching. Each asset's open streams form a chain ordered by position;
 * consecutive streams form pairs (leader ahead, follower behind). Pairs are
 * ranked by their interval — the difference of their start times (a seek moves
 * a stream's start to when it would have started to be there now) — shortest
 * first (equal intervals: the older pair first), and the interval share of the
 * budget goes to them in that order, each reserving the bytes the leader is
 * ahead of the follower (at least what it already holds). For viewers streaming at the media rate, a pair's benefit
 * (storage bytes saved per second) over its cost (bytes held) is 1/interval
 * whatever the bitrate, which is why the interval and not the byte gap ranks them.
 *
 * While a pair is cached, each block its leader reads (from storage or from
 * the cache) at or ahead of the follower is held, and released once the
 * follower has read past it. Every arrival, departure and seek re-ranks the
 * pairs; a pair that no longer fits drops its blocks and its follower reads
 * from storage from where it is. Pure: the clock is the `now` passed in.
 *
 * Cost: a pair's interval never changes, so the ranking is kept sorted as
 * pairs come and go and a re-rank is one pass over the pairs (no sort). A block
 * read touches the stream (handle and chain member in one object), its two
 * pairs and the block, with no allocation; a hit on the block the stream's
 * pair holds for it needs no lookup at all.
 */
export class IntervalCache implements BlockCache {
  readonly policy = CachePolicy.interval;
  readonly budgetBytes: number;
  readonly blockBytes: number;
  readonly #prefixMs: number;
  readonly #intervalBudgetBytes: number;
  readonly #emitter = new ChangeEmitter();
  readonly #table: BlockTable;
  readonly #chains: Chains;
  readonly #prefix: PrefixPool;
  readonly #assets = new Map<string, AssetState>();
  readonly #gcCandidates = new Set<AssetState>();
  /** Ghost leaders the last re-rank found with nothing left to hand over (reused, normally empty). */
  readonly #spentGhosts: Member[] = [];
  #dirty = false;
  #openStreams = 0;
  #hits = 0;
  #misses = 0;
  #hitBytes = 0;
  #missBytes = 0;
  #refused = 0;

  constructor(opts: IntervalCacheOptions) {
    this.budgetBytes = opts.budgetBytes;
    this.blockBytes = opts.blockBytes ?? BLOCK_BYTES;
    this.#prefixMs = opts.prefixMs ?? DEFAULT_PREFIX_MS;
    const prefixCapBytes = Math.floor(this.budgetBytes * (opts.prefixShare ?? DEFAULT_PREFIX_SHARE));
    this.#intervalBudgetBytes = this.budgetBytes - prefixCapBytes;
    this.#table = new BlockTable(this.budgetBytes, (id) => {
      this.#emitter.flip(id);
      const a = this.#assets.get(id);
      if (a) this.#gcCandidates.add(a);
    });
    this.#chains = new Chains(this.#table);
    this.#prefix = new PrefixPool(prefixCapBytes, this.#table);
  }

  get usedBytes(): number {
    return this.#table.usedBytes;
  }

  openStream(assetId: string, now: number, info: StreamInfo = {}): StreamHandle {
    assertAssetId(assetId);
    assertTime(now);
    this.#begin();
    try {
      return this.#open(assetId, now, info);
    } finally {
      this.#end();
    }
  }

  /**
   * An open stream: the viewer's handle and the stream's member of its asset's
   * chain in one object. Each operation is bracketed by #begin/#end, without
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
      c.#begin();
      try {
        return c.#get(this, block, now);
      } finally {
        c.#end();
      }
    }

    put(block: number, bytes: Uint8Array, now: number): boolean {
      const c = this.cache;
      c.#begin();
      try {
        return c.#put(this, block, bytes, now);
      } finally {
        c.#end();
      }
    }

    seek(block: number, now: number): void {
      const c = this.cache;
      c.#begin();
      try {
        c.#seek(this, block, now);
      } finally {
        c.#end();
      }
    }

    close(now: number): void {
      const c = this.cache;
      c.#begin();
      try {
        c.#close(this, now);
      } finally {
        c.#end();
      }
    }
  };

  holds(assetId: string): boolean {
    return (this.#assets.get(assetId)?.blocks.size ?? 0) > 0;
  }

  assets(): string[] {
    const out: string[] = [];
    for (const a of this.#assets.values()) if (a.blocks.size > 0) out.push(a.id);
    return out;
  }

  heldBlocks(assetId: string): number[] {
    const a = this.#assets.get(assetId);
    return a ? [...a.blocks.keys()].sort((x, y) => x - y) : [];
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
      refusedBlocks: this.#refused,
      peakBytes: this.#table.peakBytes,
      openStreams: this.#openStreams,
      pairs: this.#chains.count,
      cachedPairs,
      listenerErrors: this.#emitter.errors,
    };
  }

  // ---- operations ----------------------------------------------------------------------

  #begin(): void {
    this.#emitter.begin();
  }

  /** Settles what the operation left pending, then reports asset changes. */
  #end(): void {
    if (this.#dirty) this.#rerank();
    if (this.#gcCandidates.size > 0) {
      for (const a of this.#gcCandidates) {
        if (a.head === null && a.blocks.size === 0 && this.#assets.get(a.id) === a) {
          this.#assets.delete(a.id);
          this.#prefix.forget(a);
        }
      }
      this.#gcCandidates.clear();
    }
    this.#emitter.end(this.#holdsFn);
  }

  readonly #holdsFn = (id: string): boolean => this.holds(id);

  #open(assetId: string, now: number, info: StreamInfo): Stream {
    let asset = this.#assets.get(assetId);
    if (!asset) {
      asset = { id: assetId, blocks: new Map(), head: null, tail: null, prefixBlocks: 0, pinned: new Set(), bytesPerMs: 0 };
      this.#assets.set(assetId, asset);
    }
    const bitrate = info.bitrateBps;
    if (bitrate !== undefined && Number.isFinite(bitrate) && bitrate > 0) asset.bytesPerMs = bitrate / 8000;
    asset.prefixBlocks = this.#prefixBlocksFor(asset, info);
    this.#prefix.touch(asset);
    const stream = new IntervalCache.#Stream(this, asset, { ...info }, now);
    this.#chains.insert(stream);
    this.#openStreams++;
    this.#dirty = true;
    return stream;
  }

  #get(s: Stream, block: number, now: number): Uint8Array | undefined {
    if (s.owner === null) return undefined;
    assertBlockIndex(block);
    assertTime(now);
    this.#moveTo(s, block, now);
    // The block the stream's pair holds for it is the pair's first, if any: no lookup.
    const inP = s.follow;
    const held = inP !== null && inP.size > 0 && inP.first() === block ? inP.firstHeld() : s.asset.blocks.get(block);
    if (held) {
      this.#retain(s, block, held);
      this.#hits++;
      this.#hitBytes += held.bytes.length;
      return held.bytes;
    }
    this.#misses++;
    return undefined;
  }

  #put(s: Stream, block: number, bytes: Uint8Array, now: number): boolean {
    if (s.owner === null) return false;
    assertBlockIndex(block);
    assertBytes(bytes);
    assertTime(now);
    this.#moveTo(s, block, now);
    const asset = s.asset;
    this.#missBytes += bytes.length;
    let held = asset.blocks.get(block);
    if (held) {
      this.#retain(s, block, held);
      return true;
    }
    if (!isCompleteBlock(block, bytes.length, this.blockBytes, s.info)) return false;
    const p = s.lead;
    const forPair = p !== null && this.#pairWants(p, block);
    const forPrefix = this.#prefix.wants(asset, block) && this.#prefix.reserve(asset, bytes.length);
    if (!forPair && !forPrefix) return false;
    // The budget check comes before the bytes enter: a shorter interval may take
    // the space of longer ones, nothing else may push the cache over.
    if (!this.#table.fits(bytes.length) && !(forPair && this.#makeRoom(bytes.length, p!.rank))) {
      this.#refused++;
      return false;
    }
    held = this.#table.insert(asset, block, bytes);
    if (forPair) this.#chains.add(p!, block, held);
    if (forPrefix) this.#prefix.pin(asset, block, held);
    return true;
  }

  #seek(s: Stream, block: number, now: number): void {
    if (s.owner === null) return;
    assertBlockIndex(block);
    assertTime(now);
    if (block !== s.pos) this.#reposition(s, block, now, true);
  }

  #close(s: Stream, now: number): void {
    assertTime(now);
    if (s.owner === null) return;
    this.#chains.unlink(s, true);
    s.owner = null;
    this.#openStreams--;
    this.#dirty = true;
    this.#gcCandidates.add(s.asset);
  }

  // ---- policy --------------------------------------------------------------------------

  /** Moves the stream to `block`: one block forward is streaming, anything else a seek. */
  #moveTo(s: Stream, block: number, now: number): void {
    if (block === s.pos) return;
    if (block !== s.pos + 1) return this.#reposition(s, block, now, true);
    const inP = s.follow;
    if (inP !== null && block > inP.leaderPos) {
      if (!inP.ghostLeader) return this.#reposition(s, block, now, false); // overtook its leader
      this.#chains.moved(s, block);
      this.#chains.releaseBefore(inP, block, s.lead);
      this.#chains.unlink(inP.leader, false); // drained everything the departed leader left
      this.#dirty = true;
      return;
    }
    this.#chains.moved(s, block);
    if (inP !== null) this.#chains.releaseBefore(inP, block, s.lead);
  }

  /** Moves the stream's place in the chain; a seek also moves its (virtual) start time. */
  #reposition(s: Stream, block: number, now: number, seek: boolean): void {
    const start = seek ? this.#virtualStart(s, block, now) : s.start;
    this.#chains.unlink(s, true);
    s.pos = block; // out of the chain: no pair to update
    s.start = start;
    this.#chains.insert(s);
    this.#rerank();
  }

  /** When a stream now at `block` would have started, had it played straight through. */
  #virtualStart(old: Stream, block: number, now: number): number {
    const bytesPerMs = old.asset.bytesPerMs;
    if (bytesPerMs > 0) return now - (block * this.blockBytes) / bytesPerMs;
    const elapsed = now - old.start;
    if (elapsed > 0 && old.pos > 0) return now - block * (elapsed / old.pos);
    return now;
  }

  /** The stream has `block` in hand: keep it for its follower and for the prefix. */
  #retain(s: Stream, block: number, held: HeldBlock): void {
    const p = s.lead;
    if (p !== null && this.#pairWants(p, block)) this.#chains.add(p, block, held);
    const asset = s.asset;
    if (this.#prefix.wants(asset, block) && this.#prefix.reserve(asset, held.bytes.length)) this.#prefix.pin(asset, block, held);
  }

  #pairWants(p: Pair, block: number): boolean {
    return p.cached && p.followerPos <= block && (p.size === 0 || p.last() < block);
  }

  /**
   * Frees space by dropping cached pairs ranked after `rank` (longest intervals
   * first). Ranks are those of the last re-rank: every operation that links a
   * pair re-ranks before the next `put` can get here, and a pair killed since
   * only leaves a dead entry behind, so positions still match.
   */
  #makeRoom(bytes: number, rank: number): boolean {
    const ranked = this.#chains.ranked;
    for (let i = ranked.length - 1; i > rank && !this.#table.fits(bytes); i--) {
      const q = ranked[i]!;
      if (!q.alive || !q.cached || q.heldBytes === 0) continue;
      this.#chains.uncache(q);
      this.#dirty = true; // its ghost (if any) goes at the re-rank
    }
    return this.#table.fits(bytes);
  }

  /**
   * Hands out the interval share of the budget to the pairs, shortest interval
   * first (ties: the older pair first). The ranking is kept sorted as pairs are
   * linked (a pair's interval never changes), so this is one pass: drop dead
   * entries, re-measure each pair's cost, reserve it if it fits.
   */
  #rerank(): void {
    this.#dirty = false;
    const ranked = this.#chains.ranked;
    const budget = this.#intervalBudgetBytes;
    const blockBytes = this.blockBytes;
    const ghosts = this.#spentGhosts;
    let reserved = 0;
    let n = 0;
    // Pairs are written to only when something changes: most keep their rank and their place.
    for (let i = 0; i < ranked.length; i++) {
      const p = ranked[i]!;
      if (!p.alive) continue;
      if (n !== i) ranked[n] = p;
      if (p.rank !== n) p.rank = n;
      n++;
      // A departed leader adds nothing more; a live one keeps the gap filled.
      let cost = p.heldBytes;
      if (!p.ghostLeader) {
        const gapBytes = (Math.max(0, p.leaderPos - p.followerPos) + 1) * blockBytes;
        if (gapBytes > cost) cost = gapBytes;
      }
      if (reserved + cost <= budget) {
        reserved += cost;
        if (!p.cached) p.cached = true;
      } else if (p.cached) {
        this.#chains.uncache(p);
      }
      if (p.ghostLeader && (!p.cached || p.heldBytes === 0)) ghosts.push(p.leader);
    }
    ranked.length = n;
    if (ghosts.length === 0) return;
    for (const g of ghosts) this.#chains.unlink(g, false);
    ghosts.length = 0;
  }

  #prefixBlocksFor(asset: AssetState, info: StreamInfo): number {
    const perAssetBytes = Math.floor(this.#prefix.capBytes / MIN_PREFIXES);
    if (perAssetBytes < this.blockBytes) return 0;
    const wanted = asset.bytesPerMs > 0 ? Math.ceil(this.#prefixMs * asset.bytesPerMs) : PREFIX_FALLBACK_BYTES;
    const bytes = Math.min(wanted, perAssetBytes);
    const size = info.assetBytes;
    if (info.live !== true && size !== undefined && size <= bytes) return Math.ceil(size / this.blockBytes);
    return Math.floor(bytes / this.blockBytes);
  }
}
