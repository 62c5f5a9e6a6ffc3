// The interval share of the budget handed out by interval: pairs (and, generalized, whole assets) shortest interval first.
import type { BlockTable } from './block-table.js';
import {
  type Chains,
  PAIR_ALIVE,
  PAIR_ASSET_SHIFT,
  PAIR_CACHED,
  PAIR_GHOST,
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

/**
 * Reads one number per 64-byte line of `a[0, end)`, in address order, and returns nothing useful.
 * A pass over the ranking reads the pairs' records in rank order, which is slot order shuffled: by
 * the time it runs (other caches' reads in between) they are out of the CPU's nearer caches, and
 * one miss at a time, each behind the last one's branch, costs more than this whole sequential
 * sweep, whose loads the hardware prefetches and overlaps.
 */
export function warm(a: Float64Array, end: number): number {
  let x = 0;
  for (let i = 0; i < end; i += 8) x += a[i]!;
  return x;
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
  /** What `warm` returned last (never read). */
  #warmed = 0;

  /** `budgetBytes`: the interval share of the cache's budget. */
  constructor(chains: Chains, table: BlockTable, whole: WholeAssets<A> | null, budgetBytes: number, blockBytes: number) {
    this.#chains = chains;
    this.#table = table;
    this.#whole = whole;
    this.#budgetBytes = budgetBytes;
    this.#blockBytes = blockBytes;
  }

  /** The follower of `p` moved (its cost may have fallen): marks a re-rank due if that may let something in. */
  followerMoved(p: Pair, now: number): void {
    // The cheap tests first: most moves happen while every pair fits or soon after a re-rank.
    if (this.#shortfallBytes === Infinity || now - this.#lastRerankMs < COST_RERANK_MIN_GAP_MS) return;
    if (this.#chains.slots[SLOT_STRIDE * p.slot + SLOT_CHARGED]! - this.#cost(p) >= this.#shortfallBytes) {
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
      const r = SLOT_STRIDE * rs[i]!;
      if ((slots[r + SLOT_FLAGS]! & LIVE_CACHED) !== LIVE_CACHED || slots[r + SLOT_HELD] === 0) continue;
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
   */
  rerank(nowMs: number): void {
    this.dirty = false;
    const chains = this.#chains;
    const ranked = chains.ranked;
    const budget = this.#budgetBytes;
    const ghosts = this.#spentGhosts;
    let reserved = 0;
    this.#shortfallBytes = Infinity;
    let n = 0;
    const entries: readonly A[] = this.#whole !== null ? this.#whole.rank(nowMs) : NO_ASSETS;
    let e = 0;
    /** `entries[e].entryKey`, or Infinity past the last: compared with every pair's interval. */
    let nextKey = entries.length > 0 ? entries[0]!.entryKey : Infinity;
    // The pass reads the pairs' typed arrays only; a pair object is written to only when its outcome changes.
    const iv = chains.rankedIntervalMs;
    const rs = chains.rankedSlot;
    const slots = chains.slots;
    this.#warmed = warm(slots, SLOT_STRIDE * chains.slotsUsed); // kept, so that the compiler keeps the reads
    for (let i = 0; i < ranked.length; i++) {
      const slot = rs[i]!;
      const r = SLOT_STRIDE * slot;
      if ((slots[r + SLOT_FLAGS]! & PAIR_ALIVE) === 0) {
        chains.freeSlot(slot);
        continue;
      }
      const intervalMs = iv[i]!;
      if (n !== i) {
        ranked[n] = ranked[i]!;
        iv[n] = intervalMs;
        rs[n] = slot;
      }
      n++;
      // Assets kept whole on a shorter predicted interval go first.
      for (; nextKey < intervalMs; nextKey = ++e < entries.length ? entries[e]!.entryKey : Infinity)
        reserved = this.#offerWhole(entries[e]!, reserved);
      // (Read after the assets above: admitting one marks its pairs.)
      const f = slots[r + SLOT_FLAGS]!;
      // A pair of an asset kept whole needs no room of its own: its blocks are kept anyway.
      let cost = 0;
      if (chains.assetKeeping[f >>> PAIR_ASSET_SHIFT] !== 1) {
        const held = slots[r + SLOT_HELD]!;
        if ((f & PAIR_GHOST) !== 0) cost = held;
        else {
          let need = slots[r + SLOT_NEED]!;
          if (Number.isNaN(need)) need = this.#need(ranked[n - 1]!);
          cost = Math.max(need, held);
        }
      }
      slots[r + SLOT_CHARGED] = cost;
      if (reserved + cost <= budget) {
        reserved += cost;
        if ((f & PAIR_CACHED) === 0) chains.setCached(ranked[n - 1]!, true);
      } else {
        if ((f & PAIR_CACHED) !== 0) chains.uncache(ranked[n - 1]!);
        this.#leftOut(reserved + cost - budget);
      }
      if ((f & PAIR_GHOST) !== 0 && ((slots[r + SLOT_FLAGS]! & PAIR_CACHED) === 0 || slots[r + SLOT_HELD] === 0))
        ghosts.push(ranked[n - 1]!.leader);
    }
    ranked.length = n;
    for (; e < entries.length; e++) reserved = this.#offerWhole(entries[e]!, reserved);
    if (ghosts.length === 0) return;
    for (const g of ghosts) chains.unlink(g, false);
    ghosts.length = 0;
  }

  /** What a pair is charged: what it holds, or its steady-state need if that is more. A departed leader adds nothing more. */
  #cost(p: Pair): number {
    const slots = this.#chains.slots;
    const r = SLOT_STRIDE * p.slot;
    const held = slots[r + SLOT_HELD]!;
    if ((slots[r + SLOT_FLAGS]! & PAIR_GHOST) !== 0) return held;
    let need = slots[r + SLOT_NEED]!;
    if (Number.isNaN(need)) need = this.#need(p);
    return need > held ? need : held;
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
