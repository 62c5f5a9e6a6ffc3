// One asset's streams as a chain ordered by position (leader first) and the pairs between neighbours.
import type { BlockOwner, BlockTable, HeldBlock } from './block-table.js';

/** An asset as the chain sees it: its held blocks and its ordered members. */
export interface ChainAsset extends BlockOwner {
  head: Member | null;
  tail: Member | null;
}

/** A stream's place in its asset's chain. */
export interface Member {
  readonly asset: ChainAsset;
  /**
   * The stream this member stands for. Null for a *ghost*: a leader that left
   * (closed or seeked away) but whose cached blocks its follower still reads.
   * A ghost is always the head of its chain and has no stream behind it but one.
   */
  owner: object | null;
  /** Block the stream is at (the last one it read or seeked to). */
  pos: number;
  /** Start time (ms); after a jump, the time it would have started to be here now. */
  start: number;
  /** Pair with the member right behind (this one leads). */
  lead: Pair | null;
  /** Pair with the member right ahead (this one follows). */
  follow: Pair | null;
}

/**
 * Two consecutive streams of one asset. While cached, the blocks the leader
 * reads at or ahead of the follower are queued here (ascending) and stay held
 * until the follower has read past them.
 */
export class Pair {
  readonly #blocks: number[] = [];
  #head = 0;
  heldBytes = 0;
  cached = false;
  alive = true;
  /** Position in the last ranking (0 = shortest interval). */
  rank = 0;
  intervalMs = 0;
  costBytes = 0;

  constructor(
    readonly id: number,
    readonly leader: Member,
    readonly follower: Member,
  ) {}

  get size(): number {
    return this.#blocks.length - this.#head;
  }

  first(): number {
    return this.#blocks[this.#head]!;
  }

  last(): number {
    return this.#blocks[this.#blocks.length - 1]!;
  }

  items(): number[] {
    return this.#blocks.slice(this.#head);
  }

  push(block: number): void {
    this.#blocks.push(block);
  }

  shift(): number {
    const block = this.#blocks[this.#head++]!;
    if (this.#head > 64 && this.#head * 2 > this.#blocks.length) {
      this.#blocks.splice(0, this.#head); // compact now and then; amortised O(1)
      this.#head = 0;
    }
    return block;
  }
}

/** The chains of all assets of one cache, and every pair among them. */
export class Chains {
  readonly pairs = new Set<Pair>();
  readonly #table: BlockTable;
  #nextId = 1;

  constructor(table: BlockTable) {
    this.#table = table;
  }

  /** `p`'s leader read `block` (held) while the follower is at or behind it. */
  add(p: Pair, block: number, held: HeldBlock): void {
    p.push(block);
    p.heldBytes += held.bytes.length;
    held.refs++;
  }

  /**
   * The follower moved to `block`: what lies behind it is no longer needed by
   * this pair. A block it skipped without reading may still be needed by its
   * own follower (`next`): that pair takes it over instead of letting it go.
   */
  releaseBefore(p: Pair, block: number, next: Pair | null): void {
    const blocks = p.leader.asset.blocks;
    while (p.size > 0 && p.first() < block) {
      const b = p.first();
      const held = blocks.get(b);
      if (held && next && next.cached && next.follower.pos <= b && (next.size === 0 || next.last() < b)) this.add(next, b, held);
      this.#pop(p);
    }
  }

  /** Stops caching a pair: its blocks lose this reason to stay. */
  uncache(p: Pair): void {
    p.cached = false;
    while (p.size > 0) this.#pop(p);
  }

  /** Places a new member by position: after every member at or ahead of it. */
  insert(m: Member): void {
    const a = m.asset;
    // Positions never increase along the chain, so a newcomer at or behind the tail (every arrival) goes last.
    let x = a.tail !== null && a.tail.pos >= m.pos ? null : a.head;
    while (x !== null && x.pos >= m.pos) x = x.lead?.follower ?? null;
    if (x === null) {
      if (a.tail) this.#link(a.tail, m);
      else a.head = m;
      a.tail = m;
      return;
    }
    const old = x.follow;
    if (old) {
      // m lands inside the pair (K, x): split its queue at m's position.
      const items = old.items();
      this.#kill(old);
      const upper = this.#link(old.leader, m);
      const lower = this.#link(m, x);
      upper.cached = lower.cached = old.cached;
      for (const b of items) this.#move(b < m.pos ? lower : upper, b);
      return;
    }
    this.#link(m, x);
    a.head = m;
    // A ghost never follows anyone: the newcomer takes over what it held.
    if (x.owner === null) this.unlink(x, false);
  }

  /**
   * Takes a member out of its chain. Its two pairs merge into one (the blocks
   * between them stay useful to the follower). A head whose cached pair still
   * holds blocks becomes a ghost when `keepGhost`, so its follower can drain them.
   */
  unlink(m: Member, keepGhost: boolean): void {
    const a = m.asset;
    const inP = m.follow;
    const outP = m.lead;
    if (inP && outP) {
      const lower = outP.items();
      const upper = inP.items();
      if (lower.length > 0 && upper.length > 0 && lower[lower.length - 1] === upper[0]) {
        this.#table.unref(a, upper.shift()!); // the same block, referenced by both halves
      }
      this.#kill(inP);
      this.#kill(outP);
      const merged = this.#link(inP.leader, outP.follower);
      merged.cached = inP.cached || outP.cached;
      for (const b of lower) this.#move(merged, b);
      for (const b of upper) this.#move(merged, b);
      return;
    }
    if (outP) {
      if (keepGhost && outP.cached && outP.heldBytes > 0) {
        m.owner = null;
        return;
      }
      this.#drop(outP);
      a.head = outP.follower;
      return;
    }
    if (inP) {
      this.#drop(inP);
      a.tail = inP.leader;
      if (a.tail.owner === null) a.head = a.tail = null; // a ghost with nobody left to drain for
      return;
    }
    a.head = a.tail = null;
  }

  #link(leader: Member, follower: Member): Pair {
    const p = new Pair(this.#nextId++, leader, follower);
    leader.lead = p;
    follower.follow = p;
    this.pairs.add(p);
    return p;
  }

  #kill(p: Pair): void {
    p.alive = false;
    this.pairs.delete(p);
    if (p.leader.lead === p) p.leader.lead = null;
    if (p.follower.follow === p) p.follower.follow = null;
  }

  #drop(p: Pair): void {
    this.uncache(p);
    this.#kill(p);
  }

  /** Hands a queued block (and its reference) to another pair. */
  #move(to: Pair, block: number): void {
    to.push(block);
    to.heldBytes += to.leader.asset.blocks.get(block)?.bytes.length ?? 0;
  }

  #pop(p: Pair): void {
    const a = p.leader.asset;
    const block = p.shift();
    p.heldBytes -= a.blocks.get(block)?.bytes.length ?? 0;
    this.#table.unref(a, block);
  }
}
