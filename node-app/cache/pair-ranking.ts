// The interval share of the budget handed out by interval: pairs (and, generalized, whole assets) shortest interval first.
import type { BlockTable } from './block-table.js';
import {
  type Chains,
  PAIR_ALIVE,
  PAIR_CACHED,
  PAIR_GHOST,
  PAIR_KEEPING,
  SLOT_CHARGED,
  SLOT_FLAGS,
  SLOT_HELD,
  SLOT_NEED,
  SLOT_STRIDE,
} from './interval-chain.js';
import type { ChainAsset, Member, Pair } from './pair.js';
import type { KeptAsset, WholeAssets } from './whole-assets.js';

/** Least time between two re-ranks started because a pair's cost fell (ms). */
export const COST_RERANK_MIN_GAP_MS = 1000;

/** An asset as the ranking sees it. */
export interface RankedAsset extends ChainAsset, KeptAsset {
  /** Media bytes per ms (0 = unknown): with it, a pair's steady-state need is fixed. */
  bytesPerMs: number;
}

const NO_ASSETS: readonly never[] = [];
const LIVE_CACHED = PAIR_ALIVE | PAIR_CACHED;

/** The first of `intervals[0, length)` (ascending) above `key`, or at or above it when not `strictly`. */
function firstIndexAbove(intervals: Float64Array, length: number, key: number, strictly: boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (intervals[mid]! < key || (strictly && intervals[mid] === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A pair's steady-state need (bytes): with the bitrate known, the interval's
 * worth of media plus the block being read; without it, the blocks between
 * the two viewers now.
 */
export function pairNeedBytes(intervalMs: number, bytesPerMs: number, leaderPos: number, followerPos: number, blockBytes: number): number {
  if (bytesPerMs > 0) return (Math.floor((intervalMs * bytesPerMs) / blockBytes) + 1) * blockBytes;
  return (Math.max(0, leaderPos - followerPos) + 1) * blockBytes;
}

/**
 * Decides which pairs (and, generalized, which whole assets) the interval share
 * holds. Each pair is charged what it needs in steady state (`pairNeedBytes`)
 * and at least what it holds; a pair of an asset kept whole is charged nothing.
 *
 * Cost: a pair's interval never changes, so the ranking (`Chains.ranked`) is
 * kept sorted as pairs come and go and a re-rank is one pass over the pairs (no
 * sort), reading the chains' typed arrays only.
 *
 * A pair's cost only falls as its follower catches up; when one falls by as
 * much as the first pair left out lacked, the pairs are re-ranked too (at most
 * once per `COST_RERANK_MIN_GAP_MS`, so that a pair whose cost wobbles by a
 * block as its two viewers take turns cannot make every read a re-rank).
 */
export class PairRanking<A extends RankedAsset> {
  /** Something changed that may change the outcome: the owner re-ranks before its operation returns. */
  dirty = false;
  readonly #chains: Chains;
  readonly #table: BlockTable;
  readonly #whole: WholeAssets<A> | null;
  readonly #budgetBytes: number;
  readonly #blockBytes: number;
  /** Ghost leaders the last re-rank found with nothing left to hand over (reused, normally empty). */
  readonly #spentGhosts: Member[] = [];
  /**
   * Bytes the first pair left out by the last re-rank lacked (Infinity when
   * every pair got in): a pair whose cost falls this much may change the outcome.
   */
  #shortfallBytes = Infinity;
  #lastRerankMs = -Infinity;
  /** Every re-rank passes over every pair (a check: the resumed pass must agree with it). */
  readonly #fullPasses: boolean;
  /**
   * Where the last pass stood on reaching the pair at each index of the ranking
   * (before the whole assets ranked ahead of that pair): bytes reserved, the
   * shortfall so far, the whole assets handed out. Valid up to `#passLength`
   * (the ranking's length after that pass, whose entry is the state after the last pair).
   */
  #atReserved = new Float64Array(64);
  #atShortfall = new Float64Array(64);
  #atEntry = new Int32Array(64);
  #passLength = 0;
  /** Generalized: the whole assets as the last pass saw them, in its order: the record, its key and what decides its cost and mark. */
  #lastEntries: A[] = [];
  #lastKey: number[] = [];
  #lastSize: number[] = [];
  #lastRate: number[] = [];
  #lastKept: number[] = [];
  #lastKeeping: boolean[] = [];

  /** `budgetBytes`: the interval share of the cache's budget. */
  constructor(
    chains: Chains,
    table: BlockTable,
    whole: WholeAssets<A> | null,
    budgetBytes: number,
    blockBytes: number,
    fullPasses = false,
  ) {
    this.#chains = chains;
    this.#table = table;
    this.#whole = whole;
    this.#budgetBytes = budgetBytes;
    this.#blockBytes = blockBytes;
    this.#fullPasses = fullPasses;
  }

  /** The follower of `p` moved (its cost may have fallen): marks a re-rank due if that may let something in. */
  followerMoved(p: Pair, now: number): void {
    // The clock test first: within a second of the last such re-rank, the cost need not be worked out.
    if (this.#shortfallBytes === Infinity || now - this.#lastRerankMs < COST_RERANK_MIN_GAP_MS) return;
    // What it is charged now (what it holds, or its need if more; a departed leader adds nothing more),
    // from the pair's record: one line, no boxed numbers.
    const slots = this.#chains.slots;
    const o = SLOT_STRIDE * p.slot;
    const held = slots[o + SLOT_HELD]!;
    let cost = held;
    if ((slots[o + SLOT_FLAGS]! & PAIR_GHOST) === 0) {
      let need = slots[o + SLOT_NEED]!;
      if (Number.isNaN(need)) need = this.#need(p);
      if (need > held) cost = need;
    }
    if (slots[o + SLOT_CHARGED]! - cost >= this.#shortfallBytes) {
      this.#lastRerankMs = now; // the owner re-ranks before this operation returns
      this.dirty = true;
    }
  }

  /**
   * Frees space for something ranked at interval `key` (a pair: also at index
   * `rank` of the ranking; a whole asset: -1): drops the assets kept whole on a
   * longer predicted interval, then cached pairs ranked after it (longest
   * intervals first). A pair killed since the last re-rank only leaves a dead
   * entry behind, skipped here.
   */
  makeRoom(bytes: number, key: number, rank: number): boolean {
    if (this.#whole?.makeRoom(bytes, key)) this.dirty = true;
    const chains = this.#chains;
    const ranked = chains.ranked;
    const { rankedIntervalMs: iv, rankedSlot: rs, slots } = chains;
    for (let i = ranked.length - 1; i > rank && !this.#table.fits(bytes); i--) {
      if (rank < 0 && iv[i]! <= key) break;
      const o = SLOT_STRIDE * rs[i]!;
      if ((slots[o + SLOT_FLAGS]! & LIVE_CACHED) !== LIVE_CACHED || slots[o + SLOT_HELD] === 0) continue;
      chains.uncache(ranked[i]!);
      this.dirty = true; // its ghost (if any) goes at the re-rank
    }
    return this.#table.fits(bytes);
  }

  /**
   * Hands out the interval share of the budget to the pairs, shortest interval
   * first (ties: the older pair first). The ranking is kept sorted as pairs are
   * linked (a pair's interval never changes), so this is one pass: drop dead
   * entries, re-measure each pair's cost, reserve it if it fits. `nowMs` dates
   * the whole assets' predicted intervals.
   *
   * The pass resumes where the last one first reads something else: at the
   * first pair whose cost, flags or presence may have changed (`Chains.dirtyMs`),
   * or before the first whole asset whose place, key or cost did. Everything
   * ranked before that point is handed out exactly as last time, so the pass
   * starts from where the last one stood there.
   */
  rerank(nowMs: number): void {
    this.dirty = false;
    const chains = this.#chains;
    const ranked = chains.ranked;
    const budget = this.#budgetBytes;
    const ghosts = this.#spentGhosts;
    // (Ranking the whole assets may release some, which marks their pairs: before the resume point is read.)
    const entries: readonly A[] = this.#whole !== null ? this.#whole.rank(nowMs) : NO_ASSETS;
    const iv = chains.rankedIntervalMs;
    const from = this.#fullPasses ? 0 : this.#resumeAt(entries);
    chains.dirtyMs = Number.POSITIVE_INFINITY;
    if (ranked.length + 1 > this.#atReserved.length) this.#growCheckpoints(ranked.length + 1);
    const atReserved = this.#atReserved;
    const atShortfall = this.#atShortfall;
    const atEntry = this.#atEntry;
    let reserved = from > 0 ? atReserved[from]! : 0;
    this.#shortfallBytes = from > 0 ? atShortfall[from]! : Infinity;
    let e = from > 0 ? atEntry[from]! : 0;
    let n = from;
    // The pass reads the pairs' typed arrays only; a pair object is written to only when its outcome changes.
    const rs = chains.rankedSlot;
    const slots = chains.slots;
    for (let i = from; i < ranked.length; i++) {
      const slot = rs[i]!;
      const o = SLOT_STRIDE * slot;
      if ((slots[o + SLOT_FLAGS]! & PAIR_ALIVE) === 0) {
        chains.freeSlot(slot);
        continue;
      }
      const intervalMs = iv[i]!;
      if (n !== i) {
        ranked[n] = ranked[i]!;
        iv[n] = intervalMs;
        rs[n] = slot;
      }
      atReserved[n] = reserved;
      atShortfall[n] = this.#shortfallBytes;
      atEntry[n] = e;
      n++;
      // Assets kept whole on a shorter predicted interval go first.
      for (; e < entries.length && entries[e]!.entryKey < intervalMs; e++) reserved = this.#offerWhole(entries[e]!, reserved);
      // (Read after the assets above: admitting one marks its pairs.)
      const f = slots[o + SLOT_FLAGS]!;
      // A pair of an asset kept whole needs no room of its own: its blocks are kept anyway.
      // What it costs without the bytes it holds (what it costs once uncached).
      let bare = 0;
      let cost = 0;
      if ((f & PAIR_KEEPING) === 0) {
        const held = slots[o + SLOT_HELD]!;
        if ((f & PAIR_GHOST) !== 0) cost = held;
        else {
          bare = slots[o + SLOT_NEED]!;
          if (Number.isNaN(bare)) bare = this.#need(ranked[n - 1]!);
          cost = Math.max(bare, held);
        }
      }
      if (slots[o + SLOT_CHARGED] !== cost) {
        slots[o + SLOT_CHARGED] = cost;
        ranked[n - 1]!.charged = cost;
      }
      if (reserved + cost <= budget) {
        reserved += cost;
        if ((f & PAIR_CACHED) === 0) {
          // The pass's own outcome is what the next pass reads, not a change since.
          const marked = chains.dirtyMs;
          chains.setCached(ranked[n - 1]!, true);
          chains.dirtyMs = marked;
        }
      } else {
        if ((f & PAIR_CACHED) !== 0) {
          // Unless dropping its bytes lowers its cost: then the next pass reads another cost here.
          const marked = chains.dirtyMs;
          chains.uncache(ranked[n - 1]!);
          if (bare === cost) chains.dirtyMs = marked;
        }
        this.#leftOut(reserved + cost - budget);
      }
      if ((f & PAIR_GHOST) !== 0 && ((slots[o + SLOT_FLAGS]! & PAIR_CACHED) === 0 || slots[o + SLOT_HELD] === 0))
        ghosts.push(ranked[n - 1]!.leader);
    }
    ranked.length = n;
    atReserved[n] = reserved;
    atShortfall[n] = this.#shortfallBytes;
    atEntry[n] = e;
    this.#passLength = n;
    for (; e < entries.length; e++) reserved = this.#offerWhole(entries[e]!, reserved);
    if (this.#whole !== null) this.#rememberEntries(entries);
    if (ghosts.length === 0) return;
    for (const g of ghosts) chains.unlink(g, false);
    ghosts.length = 0;
  }

  /**
   * The index of the ranking the pass may resume at: the first pair marked
   * changed, and no later than the first pair ranked after a whole asset that
   * differs from last time (a different record at its place, another
   * predicted interval, another cost or mark), since that asset comes before
   * such a pair in one pass or the other.
   */
  #resumeAt(entries: readonly A[]): number {
    const chains = this.#chains;
    // The first pair marked changed: the first with an interval at or above the mark (ties: older pairs first).
    let at = firstIndexAbove(chains.rankedIntervalMs, chains.ranked.length, chains.dirtyMs, false);
    const last = this.#lastEntries;
    const common = Math.min(entries.length, last.length);
    let j = 0;
    while (
      j < common &&
      entries[j] === last[j] &&
      entries[j]!.entryKey === this.#lastKey[j] &&
      entries[j]!.sizeBytes === this.#lastSize[j] &&
      entries[j]!.bytesPerMs === this.#lastRate[j] &&
      entries[j]!.keptBytes === this.#lastKept[j] &&
      entries[j]!.keeping === this.#lastKeeping[j]
    )
      j++;
    if (j < entries.length || j < last.length) {
      // Pairs at or under both keys come before the differing asset in both passes.
      let key = j < entries.length ? entries[j]!.entryKey : Infinity;
      if (j < last.length && this.#lastKey[j]! < key) key = this.#lastKey[j]!;
      at = Math.min(at, firstIndexAbove(chains.rankedIntervalMs, chains.ranked.length, key, true));
    }
    return Math.min(at, this.#passLength);
  }

  /** The whole assets as this pass handed them out, for the next pass to compare with. */
  #rememberEntries(entries: readonly A[]): void {
    const n = entries.length;
    const last = this.#lastEntries;
    last.length =
      this.#lastKey.length =
      this.#lastSize.length =
      this.#lastRate.length =
      this.#lastKept.length =
      this.#lastKeeping.length =
        n;
    for (let j = 0; j < n; j++) {
      const a = entries[j]!;
      last[j] = a;
      this.#lastKey[j] = a.entryKey;
      this.#lastSize[j] = a.sizeBytes;
      this.#lastRate[j] = a.bytesPerMs;
      this.#lastKept[j] = a.keptBytes;
      this.#lastKeeping[j] = a.keeping;
    }
  }

  #growCheckpoints(atLeast: number): void {
    let size = this.#atReserved.length;
    while (size < atLeast) size *= 2;
    const reserved = new Float64Array(size);
    reserved.set(this.#atReserved);
    const shortfall = new Float64Array(size);
    shortfall.set(this.#atShortfall);
    const entry = new Int32Array(size);
    entry.set(this.#atEntry);
    this.#atReserved = reserved;
    this.#atShortfall = shortfall;
    this.#atEntry = entry;
  }

  /** A pair's steady-state need; with the bitrate known it is fixed (until the bitrate changes), and recorded for the next passes. */
  #need(p: Pair): number {
    const bytesPerMs = (p.asset as A).bytesPerMs;
    const need = pairNeedBytes(p.intervalMs, bytesPerMs, p.leaderPos, p.followerPos, this.#blockBytes);
    if (bytesPerMs > 0) this.#chains.slots[SLOT_STRIDE * p.slot + SLOT_NEED] = need;
    return need;
  }

  /** Generalized: keeps the asset if it fits after `reserved` bytes; returns the bytes reserved after it. */
  #offerWhole(a: A, reserved: number): number {
    const whole = this.#whole!;
    const cost = whole.cost(a);
    if (reserved + cost <= this.#budgetBytes) {
      whole.admit(a);
      return reserved + cost;
    }
    if (a.keeping) whole.release(a);
    this.#leftOut(reserved + cost - this.#budgetBytes);
    return reserved;
  }

  /** Something did not fit by `overBytes`: a cost fall that large may let it in. */
  #leftOut(overBytes: number): void {
    if (overBytes < this.#shortfallBytes) this.#shortfallBytes = overBytes;
  }
}
