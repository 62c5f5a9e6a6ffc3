// A pair of consecutive streams of one asset, and the queue of blocks it holds for its follower.
import type { BlockOwner, HeldBlock } from './block-table.js';

/** The ring of a pair that never held more than two blocks (shared: never written to). */
const NO_SLOTS: (number | HeldBlock | null)[] = [];

/** An asset as the chain sees it: its held blocks and its ordered members. */
export interface ChainAsset extends BlockOwner {
  head: Member | null;
  tail: Member | null;
  /** Kept whole (generalized interval caching): its pairs are charged nothing. Change it with `Chains.setKeeping`. */
  keeping: boolean;
  /** Live pairs of the asset (`Chains` counts them). */
  pairs: number;
  /**
   * While the asset has a live pair, its index in `Chains.assetKeeping` (which mirrors `keeping`
   * there, for its pairs' records to point at); -1 otherwise. Set by `Chains` only.
   */
  keepSlot: number;
}

/**
 * A stream's place in its asset's chain. An open stream is its own member (the
 * cache's stream handle), so that a block read touches as few objects as it can.
 */
export interface Member {
  readonly asset: ChainAsset;
  /**
   * The stream this member stands for. Null for a *ghost*: a leader that left
   * (closed or seeked away) but whose cached blocks its follower still reads.
   * A ghost is always the head of its chain and has no stream behind it but one.
   */
  owner: object | null;
  /** Block the stream is at (the last one it read or seeked to). Change it with `Chains.moved`. */
  pos: number;
  /**
   * Start time (ms); after a jump, the time it would have started to be here
   * now. Changes only while the member is out of its chain (a jump re-inserts
   * it), so the pairs it is part of never see it change.
   */
  start: number;
  /** Pair with the member right behind (this one leads). */
  lead: Pair | null;
  /** Pair with the member right ahead (this one follows). */
  follow: Pair | null;
}

/**
 * Two consecutive streams of one asset. While cached, the blocks the leader
 * reads at or ahead of the follower are queued here (ascending, each with its
 * held block) and stay held until the follower has read past them.
 *
 * The pair mirrors what it needs of its two members (their positions, whether
 * the leader is a ghost), so that ranking pairs and moving a stream touch the
 * pairs only, not the other streams.
 */
export class Pair {
  // Fields are assigned in the constructor, hottest first, so that they share as few cache lines
  // as can be: first what a re-rank reads of every pair, then the queue's head, then the rest.
  /** The pair's asset (both members'): a re-rank reads it for every pair, without going through a member. */
  readonly asset: ChainAsset;
  /**
   * The difference of the two start times (never negative). Fixed for the
   * pair's life: a member's start changes only while it is out of its chain,
   * which is what lets the ranking stay sorted without re-sorting.
   */
  readonly intervalMs: number;
  /** `follower.pos` and `leader.pos`, kept up to date by `Chains.moved`. */
  followerPos: number;
  leaderPos: number;
  cached: boolean;
  /** The leader is a ghost (`leader.owner === null`). */
  ghostLeader: boolean;
  alive: boolean;
  /**
   * The pair's index in its `Chains`' per-pair arrays, fixed for its life. The
   * bytes it holds and what the last re-rank charged it live there only
   * (`Chains.held`, `Chains.charged`): a block read then writes no number into
   * the pair object.
   */
  readonly slot: number;
  // The queue: `#n` entries (block index, held block). The first two live in the
  // pair itself (`#b0`/`#h0`, `#b1`/`#h1`): a stream's pairs mostly hold one or two
  // blocks, so a block read then touches no other object. Entries past the
  // second go to `#ring`.
  #n: number;
  #b0: number;
  #h0: HeldBlock | null;
  #b1: number;
  #h1: HeldBlock | null;
  /**
   * Queue entries from the third on: a ring of `#ring.length / 2` slots (block
   * index, then held block), `#n - 2` of them from slot `#r` on. It grows by
   * doubling and never shrinks, so queueing and releasing allocate nothing.
   */
  #ring: (number | HeldBlock | null)[];
  #r: number;
  /** The last entry's block index (`last()` then never reads the ring). */
  #bLast: number;
  /** Replaced only by the ghost that takes the leader's place (`Chains.unlink`). */
  leader: Member;
  readonly follower: Member;
  readonly id: number;

  constructor(id: number, slot: number, leader: Member, follower: Member) {
    this.asset = follower.asset;
    this.intervalMs = Math.max(0, follower.start - leader.start);
    this.followerPos = follower.pos;
    this.leaderPos = leader.pos;
    this.cached = false;
    this.ghostLeader = leader.owner === null;
    this.alive = true;
    this.slot = slot;
    this.#n = 0;
    this.#b0 = 0;
    this.#h0 = null;
    this.#b1 = 0;
    this.#h1 = null;
    this.#ring = NO_SLOTS;
    this.#r = 0;
    this.#bLast = 0;
    this.leader = leader;
    this.follower = follower;
    this.id = id;
  }

  get size(): number {
    return this.#n;
  }

  first(): number {
    return this.#b0;
  }

  firstHeld(): HeldBlock {
    return this.#h0!;
  }

  /** The last entry's block index (call only when `size > 0`). */
  last(): number {
    return this.#bLast;
  }

  /** The held block queued for `block` when it is one of the first two entries (what a follower reads next). */
  peek(block: number): HeldBlock | undefined {
    const n = this.#n;
    if (n > 0 && this.#b0 === block) return this.#h0!;
    if (n > 1 && this.#b1 === block) return this.#h1!;
    return undefined;
  }

  /** The block index `shift` moves up from the ring next (-1 when the ring is empty): a prefetch reads it. */
  ringFirst(): number {
    return this.#n > 2 ? (this.#ring[2 * this.#r] as number) : -1;
  }

  /** The queue as [block, held] entries, oldest first (a copy). */
  entries(): [number, HeldBlock][] {
    const out: [number, HeldBlock][] = [];
    if (this.#n > 0) out.push([this.#b0, this.#h0!]);
    if (this.#n > 1) out.push([this.#b1, this.#h1!]);
    const ring = this.#ring;
    const mask = (ring.length >> 1) - 1;
    for (let i = 0; i < this.#n - 2; i++) {
      const e = 2 * ((this.#r + i) & mask);
      out.push([ring[e] as number, ring[e + 1] as HeldBlock]);
    }
    return out;
  }

  push(block: number, held: HeldBlock): void {
    this.#bLast = block;
    const n = this.#n++;
    if (n === 0) {
      this.#b0 = block;
      this.#h0 = held;
    } else if (n === 1) {
      this.#b1 = block;
      this.#h1 = held;
    } else {
      let ring = this.#ring;
      if (2 * (n - 2) === ring.length) ring = this.#grow(n - 2);
      const e = 2 * ((this.#r + n - 2) & ((ring.length >> 1) - 1));
      ring[e] = block;
      ring[e + 1] = held;
    }
  }

  /** Removes the first entry and returns its held block. */
  shift(): HeldBlock {
    const held = this.#h0!;
    const n = --this.#n;
    this.#b0 = this.#b1;
    this.#h0 = this.#h1;
    if (n < 2) {
      this.#h1 = null; // the queue must not keep a released block's bytes alive
      return held;
    }
    const ring = this.#ring;
    const e = 2 * this.#r;
    this.#b1 = ring[e] as number;
    this.#h1 = ring[e + 1] as HeldBlock;
    ring[e + 1] = null;
    this.#r = (this.#r + 1) & ((ring.length >> 1) - 1);
    return held;
  }

  #grow(count: number): (number | HeldBlock | null)[] {
    const old = this.#ring;
    const slots = old.length >> 1;
    const ring = new Array<number | HeldBlock | null>(slots === 0 ? 8 : 4 * slots).fill(null);
    for (let i = 0; i < count; i++) {
      const e = 2 * ((this.#r + i) & (slots - 1));
      ring[2 * i] = old[e]!;
      ring[2 * i + 1] = old[e + 1]!;
    }
    this.#ring = ring;
    this.#r = 0;
    return ring;
  }
}
