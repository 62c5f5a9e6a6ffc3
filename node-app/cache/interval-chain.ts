// One asset's streams as a chain ordered by position (leader first) and the pairs between neighbours.
import type { BlockTable, HeldBlock } from './block-table.js';
import { type ChainAsset, type Member, Pair } from './pair.js';

/** The `SLOT_FLAGS` bits: the pair is alive, cached, its leader a ghost. */
export const PAIR_ALIVE = 1;
export const PAIR_CACHED = 2;
export const PAIR_GHOST = 4;
/**
 * Above those bits, `SLOT_FLAGS` holds the asset's `keepSlot`: whether the pair's asset is kept
 * whole is `Chains.assetKeeping[flags >>> PAIR_ASSET_SHIFT]`, one byte per asset, so that keeping an
 * asset or letting it go is one write, not one per pair of a chain that may be long.
 */
export const PAIR_ASSET_SHIFT = 3;

/** Numbers per slot in `Chains.slots`, and their offsets. */
export const SLOT_STRIDE = 4;
/** The bytes of the blocks the pair's queue lists (the only record of them). */
export const SLOT_HELD = 0;
/** The pair's steady-state need (bytes) once the owner has worked it out; NaN until then, or when it moves with the positions. */
export const SLOT_NEED = 1;
/** What the last re-rank charged the pair (bytes): a fall from it may let another pair in. */
export const SLOT_CHARGED = 2;
/** `PAIR_*` bits, mirroring `alive`, `cached` and `ghostLeader`, then the asset's `keepSlot` (`PAIR_ASSET_SHIFT`). */
export const SLOT_FLAGS = 3;

/**
 * The chains of all assets of one cache, and every pair among them.
 *
 * What a re-rank reads of each pair is also kept in one typed array, a record
 * of `SLOT_STRIDE` numbers per pair `slot` (held bytes, need, charge, flags),
 * written wherever the pair's own fields change: a re-rank walks it instead of
 * one object (and its cache lines) per pair, and a block read that moves a
 * pair's held bytes finds its flags, need and charge on the same cache line.
 */
export class Chains {
  /**
   * Every pair, shortest interval first (ties: older pair first), kept sorted
   * as pairs are linked. A killed pair stays here (with `alive` false) until
   * the owner's next pass over the ranking drops it.
   */
  readonly ranked: Pair[] = [];
  /**
   * `ranked[i].intervalMs` at `[i]`, kept in step with `ranked` (by `#link` and
   * by the owner's compacting pass): a re-rank compares intervals without
   * touching each pair's boxed number. Its length is a capacity.
   */
  rankedIntervalMs = new Float64Array(64);
  /** `ranked[i].slot` at `[i]`, kept in step with `ranked` like `rankedIntervalMs`. */
  rankedSlot = new Int32Array(64);
  /** By slot, from `SLOT_STRIDE × slot`: the `SLOT_*` fields. Its length is a capacity. */
  slots = new Float64Array(SLOT_STRIDE * 64);
  /** By asset `keepSlot`: 1 while the asset is kept whole. Its length is a capacity. */
  assetKeeping = new Uint8Array(64);
  /** Live pairs. */
  count = 0;
  readonly #table: BlockTable;
  #nextId = 1;
  /** Slots the owner's pass released (their pairs dead and out of `ranked`), and the next never used. */
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;
  /** Asset keep slots released (their asset's last pair died), and the next never used. */
  readonly #freeAssetSlots: number[] = [];
  #nextAssetSlot = 0;

  constructor(table: BlockTable) {
    this.#table = table;
  }

  /**
   * Where `p` is in `ranked` (0 = shortest interval): found by its interval
   * (ties: by age, as `#link` placed them), so a re-rank that shifts the
   * ranking never has to write each pair's position into it.
   */
  indexOf(p: Pair): number {
    const iv = this.rankedIntervalMs;
    const interval = p.intervalMs;
    let lo = 0;
    let hi = this.ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (iv[mid]! < interval) lo = mid + 1;
      else hi = mid;
    }
    while (this.ranked[lo] !== p) lo++;
    return lo;
  }

  /** `p`'s leader read `block` (held) while the follower is at or behind it. */
  add(p: Pair, block: number, held: HeldBlock): void {
    p.push(block, held);
    this.slots[SLOT_STRIDE * p.slot + SLOT_HELD]! += held.bytes.length;
    held.refs++;
  }

  /** Caches the pair or stops doing so (without releasing anything: `uncache` does). */
  setCached(p: Pair, cached: boolean): void {
    p.cached = cached;
    const f = SLOT_STRIDE * p.slot + SLOT_FLAGS;
    this.slots[f] = cached ? this.slots[f]! | PAIR_CACHED : this.slots[f]! & ~PAIR_CACHED;
  }

  /** The asset is kept whole, or no longer: its pairs' records see it through its keep slot. */
  setKeeping(a: ChainAsset, keeping: boolean): void {
    a.keeping = keeping;
    if (a.keepSlot >= 0) this.assetKeeping[a.keepSlot] = keeping ? 1 : 0;
  }

  /** Whether the asset of the pair whose `SLOT_FLAGS` are `flags` is kept whole. */
  keepingOf(flags: number): boolean {
    return this.assetKeeping[flags >>> PAIR_ASSET_SHIFT] === 1;
  }

  /** Asset keep slots held now (by the assets that have a live pair). */
  get assetSlotsInUse(): number {
    return this.#nextAssetSlot - this.#freeAssetSlots.length;
  }

  /** The asset's bitrate changed: its pairs' needs are to be worked out again. */
  forgetNeeds(a: ChainAsset): void {
    for (let p = a.head?.lead ?? null; p !== null; p = p.follower.lead) this.slots[SLOT_STRIDE * p.slot + SLOT_NEED] = Number.NaN;
  }

  /** Slots ever handed out: every pair's record lies in `slots[0, SLOT_STRIDE × slotsUsed)`. */
  get slotsUsed(): number {
    return this.#nextSlot;
  }

  /** A dead pair's slot, once the owner has dropped it from `ranked`, may serve a new pair. */
  freeSlot(slot: number): void {
    this.#freeSlots.push(slot);
  }

  /** A member in a chain moved to `block` (streaming on): its pairs follow. */
  moved(m: Member, block: number): void {
    m.pos = block;
    if (m.follow !== null) m.follow.followerPos = block;
    if (m.lead !== null) m.lead.leaderPos = block;
  }

  /**
   * The follower moved to `block`: what lies behind it is no longer needed by
   * this pair. A block it skipped without reading may still be needed by its
   * own follower (`next`): that pair takes it over instead of letting it go.
   */
  releaseBefore(p: Pair, block: number, next: Pair | null): void {
    while (p.size > 0) {
      const b = p.first();
      if (b >= block) return;
      if (next !== null && next.cached && next.followerPos <= b && (next.size === 0 || next.last() < b)) this.add(next, b, p.firstHeld());
      this.#pop(p);
    }
  }

  /** Stops caching a pair: its blocks lose this reason to stay. */
  uncache(p: Pair): void {
    this.setCached(p, false);
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
      const items = old.entries();
      this.#kill(old);
      const upper = this.#link(old.leader, m);
      const lower = this.#link(m, x);
      this.setCached(upper, old.cached);
      this.setCached(lower, old.cached);
      for (const [b, held] of items) this.#move(b < m.pos ? lower : upper, b, held);
      return;
    }
    this.#link(m, x);
    a.head = m;
    // A ghost never follows anyone: the newcomer takes over what it held.
    if (x.owner === null) this.unlink(x, false);
  }

  /**
   * Takes a member out of its chain (it has no pair afterwards). Its two pairs
   * merge into one (the blocks between them stay useful to the follower). A
   * head whose cached pair still holds blocks leaves a ghost in its place when
   * `keepGhost`, so its follower can drain them.
   */
  unlink(m: Member, keepGhost: boolean): void {
    const a = m.asset;
    const inP = m.follow;
    const outP = m.lead;
    if (inP && outP) {
      const lower = outP.entries();
      const upper = inP.entries();
      if (lower.length > 0 && upper.length > 0 && lower[lower.length - 1]![0] === upper[0]![0]) {
        // The same block, referenced by both halves.
        const [b, held] = upper.shift()!;
        held.refs--;
        this.#table.freeIfUnused(a, b, held);
      }
      this.#kill(inP);
      this.#kill(outP);
      const merged = this.#link(inP.leader, outP.follower);
      this.setCached(merged, inP.cached || outP.cached);
      for (const [b, held] of lower) this.#move(merged, b, held);
      for (const [b, held] of upper) this.#move(merged, b, held);
      return;
    }
    if (outP) {
      if (keepGhost && outP.cached && this.slots[SLOT_STRIDE * outP.slot + SLOT_HELD]! > 0) {
        const ghost: Member = { asset: a, owner: null, pos: m.pos, start: m.start, lead: outP, follow: null };
        outP.leader = ghost;
        outP.ghostLeader = true;
        const f = SLOT_STRIDE * outP.slot + SLOT_FLAGS;
        this.slots[f] = this.slots[f]! | PAIR_GHOST;
        m.lead = null;
        a.head = ghost;
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
    const p = new Pair(this.#nextId++, this.#allocSlot(), leader, follower);
    const slot = p.slot;
    const r = SLOT_STRIDE * slot;
    const slots = this.slots;
    slots[r + SLOT_HELD] = 0;
    slots[r + SLOT_NEED] = Number.NaN;
    slots[r + SLOT_CHARGED] = 0;
    const a = p.asset;
    if (a.pairs++ === 0) a.keepSlot = this.#allocAssetSlot(a.keeping);
    slots[r + SLOT_FLAGS] = PAIR_ALIVE | (p.ghostLeader ? PAIR_GHOST : 0) | (a.keepSlot << PAIR_ASSET_SHIFT);
    leader.lead = p;
    follower.follow = p;
    // Its id is the highest: it goes after every pair with an interval not above its own.
    const ranked = this.ranked;
    const interval = p.intervalMs;
    const len = ranked.length;
    let iv = this.rankedIntervalMs;
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (iv[mid]! <= interval) lo = mid + 1;
      else hi = mid;
    }
    let rs = this.rankedSlot;
    if (len === iv.length) {
      const grown = new Float64Array(2 * len);
      grown.set(iv);
      this.rankedIntervalMs = iv = grown;
      const grownSlots = new Int32Array(2 * len);
      grownSlots.set(rs);
      this.rankedSlot = rs = grownSlots;
    }
    ranked.push(p);
    if (lo < len) {
      // By hand: `splice` would allocate the (empty) array of removed pairs.
      for (let i = len; i > lo; i--) ranked[i] = ranked[i - 1]!;
      ranked[lo] = p;
      iv.copyWithin(lo + 1, lo, len);
      rs.copyWithin(lo + 1, lo, len);
    }
    iv[lo] = interval;
    rs[lo] = slot;
    this.count++;
    return p;
  }

  #allocSlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.#nextSlot++;
    if (SLOT_STRIDE * slot === this.slots.length) {
      const grown = new Float64Array(2 * this.slots.length);
      grown.set(this.slots);
      this.slots = grown;
    }
    return slot;
  }

  #allocAssetSlot(keeping: boolean): number {
    let slot = this.#freeAssetSlots.pop();
    if (slot === undefined) {
      slot = this.#nextAssetSlot++;
      if (slot === this.assetKeeping.length) {
        const grown = new Uint8Array(2 * slot);
        grown.set(this.assetKeeping);
        this.assetKeeping = grown;
      }
    }
    this.assetKeeping[slot] = keeping ? 1 : 0;
    return slot;
  }

  #kill(p: Pair): void {
    p.alive = false;
    const f = SLOT_STRIDE * p.slot + SLOT_FLAGS;
    this.slots[f] = this.slots[f]! & ~PAIR_ALIVE;
    this.count--;
    const a = p.asset;
    if (--a.pairs === 0) {
      // A dead pair's record keeps pointing at the slot until the next pass drops it: every reader tests `PAIR_ALIVE` first.
      this.#freeAssetSlots.push(a.keepSlot);
      a.keepSlot = -1;
    }
    if (p.leader.lead === p) p.leader.lead = null;
    if (p.follower.follow === p) p.follower.follow = null;
  }

  #drop(p: Pair): void {
    this.uncache(p);
    this.#kill(p);
  }

  /** Hands a queued block (and its reference) to another pair. */
  #move(to: Pair, block: number, held: HeldBlock): void {
    to.push(block, held);
    this.slots[SLOT_STRIDE * to.slot + SLOT_HELD]! += held.bytes.length;
  }

  #pop(p: Pair): void {
    const b = p.first();
    const held = p.shift();
    this.slots[SLOT_STRIDE * p.slot + SLOT_HELD]! -= held.bytes.length;
    held.refs--;
    this.#table.freeIfUnused(p.asset, b, held);
  }
}
