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

interface StreamState {
  readonly asset: AssetState;
  readonly info: StreamInfo;
  /** Null once closed. */
  member: Member | null;
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
 * first, and the interval share of the budget goes to them in that order, each
 * reserving the bytes the leader is ahead of the follower (at least what it
 * already holds). For viewers streaming at the media rate, a pair's benefit
 * (storage bytes saved per second) over its cost (bytes held) is 1/interval
 * whatever the bitrate, which is why the interval and not the byte gap ranks them.
 *
 * While a pair is cached, each block its leader reads (from storage or from
 * the cache) at or ahead of the follower is held, and released once the
 * follower has read past it. Every arrival, departure and seek re-ranks the
 * pairs; a pair that no longer fits drops its blocks and its follower reads
 * from storage from where it is. Pure: the clock is the `now` passed in.
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
  #ranked: Pair[] = [];
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
    // Each operation is bracketed by #begin/#end (no closures: this is the per-block hot path).
    this.#begin();
    let stream: StreamState;
    try {
      stream = this.#open(assetId, now, info);
    } finally {
      this.#end();
    }
    return {
      assetId,
      get: (block, t) => {
        this.#begin();
        try {
          return this.#get(stream, block, t);
        } finally {
          this.#end();
        }
      },
      put: (block, bytes, t) => {
        this.#begin();
        try {
          return this.#put(stream, block, bytes, t);
        } finally {
          this.#end();
        }
      },
      seek: (block, t) => {
        this.#begin();
        try {
          this.#seek(stream, block, t);
        } finally {
          this.#end();
        }
      },
      close: (t) => {
        this.#begin();
        try {
          this.#close(stream, t);
        } finally {
          this.#end();
        }
      },
    };
  }

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
    for (const p of this.#chains.pairs) if (p.cached) cachedPairs++;
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
      pairs: this.#chains.pairs.size,
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

  #open(assetId: string, now: number, info: StreamInfo): StreamState {
    let asset = this.#assets.get(assetId);
    if (!asset) {
      asset = { id: assetId, blocks: new Map(), head: null, tail: null, prefixBlocks: 0, pinned: new Set(), bytesPerMs: 0 };
      this.#assets.set(assetId, asset);
    }
    const bitrate = info.bitrateBps;
    if (bitrate !== undefined && Number.isFinite(bitrate) && bitrate > 0) asset.bytesPerMs = bitrate / 8000;
    asset.prefixBlocks = this.#prefixBlocksFor(asset, info);
    this.#prefix.touch(asset);
    const stream: StreamState = { asset, info: { ...info }, member: null };
    const m: Member = { asset, owner: stream, pos: 0, start: now, lead: null, follow: null };
    stream.member = m;
    this.#chains.insert(m);
    this.#openStreams++;
    this.#dirty = true;
    return stream;
  }

  #get(stream: StreamState, block: number, now: number): Uint8Array | undefined {
    if (!stream.member) return undefined;
    assertBlockIndex(block);
    assertTime(now);
    const m = this.#moveTo(stream, block, now);
    const held = stream.asset.blocks.get(block);
    if (held) {
      this.#retain(m, block, held);
      this.#hits++;
      this.#hitBytes += held.bytes.length;
      return held.bytes;
    }
    this.#misses++;
    return undefined;
  }

  #put(stream: StreamState, block: number, bytes: Uint8Array, now: number): boolean {
    if (!stream.member) return false;
    assertBlockIndex(block);
    assertBytes(bytes);
    assertTime(now);
    const m = this.#moveTo(stream, block, now);
    const asset = stream.asset;
    this.#missBytes += bytes.length;
    let held = asset.blocks.get(block);
    if (held) {
      this.#retain(m, block, held);
      return true;
    }
    if (!isCompleteBlock(block, bytes.length, this.blockBytes, stream.info)) return false;
    const p = m.lead;
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

  #seek(stream: StreamState, block: number, now: number): void {
    if (!stream.member) return;
    assertBlockIndex(block);
    assertTime(now);
    if (block !== stream.member.pos) this.#reposition(stream, block, now, true);
  }

  #close(stream: StreamState, now: number): void {
    assertTime(now);
    const m = stream.member;
    if (!m) return;
    stream.member = null;
    this.#chains.unlink(m, true);
    this.#openStreams--;
    this.#dirty = true;
    this.#gcCandidates.add(stream.asset);
  }

  // ---- policy --------------------------------------------------------------------------

  /** Moves the stream to `block`: one block forward is streaming, anything else a seek. */
  #moveTo(stream: StreamState, block: number, now: number): Member {
    const m = stream.member!;
    if (block === m.pos) return m;
    if (block !== m.pos + 1) return this.#reposition(stream, block, now, true);
    const inP = m.follow;
    const leader = inP?.leader;
    if (inP && leader && block > leader.pos) {
      if (leader.owner !== null) return this.#reposition(stream, block, now, false); // overtook its leader
      m.pos = block;
      this.#chains.releaseBefore(inP, block, m.lead);
      this.#chains.unlink(leader, false); // drained everything the departed leader left
      this.#dirty = true;
      return m;
    }
    m.pos = block;
    if (inP) this.#chains.releaseBefore(inP, block, m.lead);
    return m;
  }

  /** Moves the stream's place in the chain; a seek also moves its (virtual) start time. */
  #reposition(stream: StreamState, block: number, now: number, seek: boolean): Member {
    const old = stream.member!;
    const start = seek ? this.#virtualStart(old, block, now) : old.start;
    const m: Member = { asset: stream.asset, owner: stream, pos: block, start, lead: null, follow: null };
    stream.member = m;
    this.#chains.unlink(old, true);
    this.#chains.insert(m);
    this.#rerank();
    return m;
  }

  /** When a stream now at `block` would have started, had it played straight through. */
  #virtualStart(old: Member, block: number, now: number): number {
    const bytesPerMs = (old.asset as AssetState).bytesPerMs;
    if (bytesPerMs > 0) return now - (block * this.blockBytes) / bytesPerMs;
    const elapsed = now - old.start;
    if (elapsed > 0 && old.pos > 0) return now - block * (elapsed / old.pos);
    return now;
  }

  /** The stream has `block` in hand: keep it for its follower and for the prefix. */
  #retain(m: Member, block: number, held: HeldBlock): void {
    const p = m.lead;
    if (p && this.#pairWants(p, block)) this.#chains.add(p, block, held);
    const asset = m.asset as AssetState;
    if (this.#prefix.wants(asset, block) && this.#prefix.reserve(asset, held.bytes.length)) this.#prefix.pin(asset, block, held);
  }

  #pairWants(p: Pair, block: number): boolean {
    return p.cached && p.follower.pos <= block && (p.size === 0 || p.last() < block);
  }

  /** Frees space by dropping cached pairs ranked after `rank` (longest intervals first). */
  #makeRoom(bytes: number, rank: number): boolean {
    for (let i = this.#ranked.length - 1; i > rank && !this.#table.fits(bytes); i--) {
      const q = this.#ranked[i]!;
      if (!q.alive || !q.cached || q.heldBytes === 0) continue;
      this.#chains.uncache(q);
      this.#dirty = true; // its ghost (if any) goes at the re-rank
    }
    return this.#table.fits(bytes);
  }

  /** Ranks every pair by interval and hands out the interval share of the budget. */
  #rerank(): void {
    this.#dirty = false;
    const ranked = [...this.#chains.pairs];
    for (const p of ranked) this.#measure(p);
    ranked.sort((a, b) => a.intervalMs - b.intervalMs || a.costBytes - b.costBytes || a.id - b.id);
    let reserved = 0;
    for (let i = 0; i < ranked.length; i++) {
      const p = ranked[i]!;
      p.rank = i;
      if (reserved + p.costBytes <= this.#intervalBudgetBytes) {
        reserved += p.costBytes;
        p.cached = true;
      } else if (p.cached) {
        this.#chains.uncache(p);
      }
    }
    this.#ranked = ranked;
    for (const p of ranked) {
      if (p.alive && p.leader.owner === null && (!p.cached || p.heldBytes === 0)) this.#chains.unlink(p.leader, false);
    }
  }

  #measure(p: Pair): void {
    const leader = p.leader;
    const gapBlocks = Math.max(0, leader.pos - p.follower.pos);
    p.intervalMs = Math.max(0, p.follower.start - leader.start);
    // A departed leader adds nothing more; a live one keeps the gap filled.
    p.costBytes = leader.owner === null ? p.heldBytes : Math.max(p.heldBytes, (gapBlocks + 1) * this.blockBytes);
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
