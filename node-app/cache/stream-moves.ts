// How a read or a seek moves an open stream along its asset's chain: one block forward is streaming, anything else a seek.
import type { Chains } from './interval-chain.js';
import type { Member } from './pair.js';
import type { PairRanking, RankedAsset } from './pair-ranking.js';

/** A chain member whose asset's bitrate (when known) dates where a seek puts it. */
export interface MovingStream extends Member {
  readonly asset: RankedAsset;
}

/**
 * Streaming forward releases what the follower has read past (and may re-rank its pair as its
 * cost falls); overtaking its leader, or any jump, takes the stream out of its chain and puts it
 * back where it now is, and the pairs are re-ranked.
 */
export class StreamMoves<A extends RankedAsset> {
  readonly #chains: Chains;
  readonly #ranking: PairRanking<A>;
  readonly #blockBytes: number;

  constructor(chains: Chains, ranking: PairRanking<A>, blockBytes: number) {
    this.#chains = chains;
    this.#ranking = ranking;
    this.#blockBytes = blockBytes;
  }

  /** Moves the stream to `block` (read at `now`): one block forward is streaming, anything else a seek. */
  moveTo(s: MovingStream, block: number, now: number): void {
    if (block === s.pos) return;
    if (block !== s.pos + 1) return this.reposition(s, block, now, true);
    const inP = s.follow;
    if (inP !== null && block > inP.leaderPos) {
      if (!inP.ghostLeader) return this.reposition(s, block, now, false); // overtook its leader
      this.#chains.moved(s, block);
      this.#chains.releaseBefore(inP, block, s.lead);
      this.#chains.unlink(inP.leader, false); // drained everything the departed leader left
      this.#ranking.dirty = true;
      return;
    }
    this.#chains.moved(s, block);
    if (inP === null) return;
    this.#chains.releaseBefore(inP, block, s.lead);
    this.#ranking.followerMoved(inP, now);
  }

  /** Moves the stream's place in the chain; a seek also moves its (virtual) start time. */
  reposition(s: MovingStream, block: number, now: number, seek: boolean): void {
    const start = seek ? this.#virtualStart(s, block, now) : s.start;
    this.#chains.unlink(s, true);
    s.pos = block; // out of the chain: no pair to update
    s.start = start;
    this.#chains.insert(s);
    this.#ranking.rerank(now);
  }

  /** When a stream now at `block` would have started, had it played straight through. */
  #virtualStart(old: MovingStream, block: number, now: number): number {
    const bytesPerMs = old.asset.bytesPerMs;
    if (bytesPerMs > 0) return now - (block * this.#blockBytes) / bytesPerMs;
    const elapsed = now - old.start;
    if (elapsed > 0 && old.pos > 0) return now - block * (elapsed / old.pos);
    return now;
  }
}
