// The interval cache's two sizing rules, pure: how many blocks an asset's prefix is, and what a pair needs in steady state.
import { describe, expect, it } from 'vitest';
import { pairNeedBytes } from '../../node-app/cache/pair-ranking.js';
import { MIN_PREFIXES, PREFIX_FALLBACK_BYTES, prefixBlocksFor } from '../../node-app/cache/prefix-pool.js';

const B = 1000;

describe('prefixBlocksFor', () => {
  const poolBytes = 40 * B * MIN_PREFIXES; // one asset may take 40 blocks

  it('covers prefixMs of media at the known bitrate', () => {
    // 10 bytes/ms × 2,000 ms = 20,000 bytes = 20 blocks
    expect(prefixBlocksFor(poolBytes, B, 2000, 10, {})).toBe(20);
  });

  it('is capped at 1/MIN_PREFIXES of the pool', () => {
    expect(prefixBlocksFor(poolBytes, B, 60_000, 10, {})).toBe(40);
  });

  it('falls back to PREFIX_FALLBACK_BYTES without a bitrate', () => {
    const bigPool = PREFIX_FALLBACK_BYTES * MIN_PREFIXES * 2;
    expect(prefixBlocksFor(bigPool, B, 2000, 0, {})).toBe(Math.floor(PREFIX_FALLBACK_BYTES / B));
  });

  it('is the whole of a finished asset smaller than the prefix, rounded up to its last short block', () => {
    expect(prefixBlocksFor(poolBytes, B, 2000, 10, { assetBytes: 5500 })).toBe(6);
    // A live asset grows: its size at open is no limit.
    expect(prefixBlocksFor(poolBytes, B, 2000, 10, { assetBytes: 5500, live: true })).toBe(20);
  });

  it('is none when one asset’s share of the pool is under a block', () => {
    expect(prefixBlocksFor(B * MIN_PREFIXES - 1, B, 2000, 10, {})).toBe(0);
  });
});

describe('pairNeedBytes', () => {
  it('with a bitrate: the interval’s worth of media plus the block being read, whatever the positions', () => {
    // 1,500 ms × 2 bytes/ms = 3,000 bytes = 3 blocks, + 1
    expect(pairNeedBytes(1500, 2, 50, 10, B)).toBe(4 * B);
    expect(pairNeedBytes(1500, 2, 10, 10, B)).toBe(4 * B);
  });

  it('without one: the blocks from the follower to the leader', () => {
    expect(pairNeedBytes(1500, 0, 17, 10, B)).toBe(8 * B);
    // A follower momentarily ahead needs its one block.
    expect(pairNeedBytes(1500, 0, 9, 10, B)).toBe(B);
  });
});
