// The interval cache: pairs, shortest interval first, release behind followers, prefixes, events, budget.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createCache, MIN_PREFIXES, type BlockCache, type StreamHandle, type StreamInfo } from '../../node-app/cache/index.js';
import type { CacheChange } from '../../node-app/contracts.js';

/** Tiny blocks keep scenarios readable: 100 bytes, and 800 bit/s = one block per second. */
const B = 100;
const BPS = 800;

function bytesOf(assetId: string, block: number, length = B): Uint8Array {
  let seed = block * 31 + 7;
  for (const ch of assetId) seed = (seed * 131 + ch.charCodeAt(0)) | 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 17) & 0xff;
  return out;
}

/** One block as a viewer reads it: from the cache on a hit, else from "storage", offered back. */
function read(h: StreamHandle, block: number, nowMs: number): 'hit' | 'miss' {
  const got = h.get(block, nowMs);
  if (got) {
    expect(got).toEqual(bytesOf(h.assetId, block));
    return 'hit';
  }
  h.put(block, bytesOf(h.assetId, block), nowMs);
  return 'miss';
}

function intervalCache(budgetBlocks: number, prefixShare = 0): BlockCache {
  return createCache({ policy: 'interval', budgetBytes: budgetBlocks * B, blockBytes: B, prefixShare });
}

function open(cache: BlockCache, assetId: string, nowMs: number, blocks = 40, bitrateBps: number | undefined = BPS) {
  return cache.openStream(assetId, nowMs, { assetBytes: blocks * B, bitrateBps });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('interval cache: one pair', () => {
  it('the follower reads from the cache what its leader streamed after it arrived', () => {
    const cache = intervalCache(100);
    const leader = open(cache, 'film', 0, 20);
    let follower: StreamHandle | undefined;
    const got: string[] = [];
    for (let t = 0; t < 25; t++) {
      if (t === 5) follower = open(cache, 'film', 5000, 20);
      if (t < 20) expect(read(leader, t, t * 1000)).toBe('miss');
      if (follower && t - 5 < 20) got.push(read(follower, t - 5, t * 1000));
    }
    // 5 s behind at one block per second: the first 5 blocks come from storage, the rest from the cache.
    expect(got).toEqual([...Array(5).fill('miss'), ...Array(15).fill('hit')]);
    expect(cache.stats()).toMatchObject({ hits: 15, hitBytes: 15 * B, misses: 25, missBytes: 25 * B });
  });

  it('holds only the blocks between follower and leader, and releases them behind the follower', () => {
    const cache = intervalCache(100);
    const leader = open(cache, 'film', 0);
    const follower = open(cache, 'film', 0);
    for (let t = 0; t < 12; t++) read(leader, t, t * 1000);
    expect(cache.heldBlocks('film')).toEqual(range(0, 12));
    for (let b = 0; b < 7; b++) read(follower, b, 12_000 + b);
    expect(cache.heldBlocks('film')).toEqual(range(6, 12)); // block 6 is still being read
    expect(cache.usedBytes).toBe(6 * B);
    follower.close(13_000);
    expect(cache.heldBlocks('film')).toEqual([]);
    expect(cache.usedBytes).toBe(0);
  });

  it('a departed leader leaves its blocks to the follower until it has read them', () => {
    const cache = intervalCache(100);
    const leader = open(cache, 'film', 0);
    let follower!: StreamHandle;
    const got: string[] = [];
    for (let t = 0; t < 20; t++) {
      if (t === 3) follower = open(cache, 'film', 3000);
      if (t < 10) read(leader, t, t * 1000);
      if (t === 10) leader.close(10_000);
      if (t >= 3) got.push(read(follower, t - 3, t * 1000));
    }
    // Blocks 0–2 were read before the follower came; 3–9 were cached; past 9 nobody reads ahead.
    expect(got).toEqual([...Array(3).fill('miss'), ...Array(7).fill('hit'), ...Array(7).fill('miss')]);
    expect(cache.heldBlocks('film')).toEqual([]);
  });

  it('a stream leaving the middle of a chain merges its pairs, so the last follower keeps its hits', () => {
    const cache = intervalCache(100);
    const a = open(cache, 'film', 0);
    let b!: StreamHandle;
    let c!: StreamHandle;
    const gotC: string[] = [];
    for (let t = 0; t < 20; t++) {
      if (t === 2) b = open(cache, 'film', 2000);
      if (t === 4) c = open(cache, 'film', 4000);
      if (t === 6) b.close(6000);
      read(a, t, t * 1000);
      if (t >= 2 && t < 6) read(b, t - 2, t * 1000);
      if (t >= 4) gotC.push(read(c, t - 4, t * 1000));
    }
    expect(gotC).toEqual([...Array(2).fill('miss'), ...Array(14).fill('hit')]);
  });
});

interface Viewer {
  asset: string;
  startMs: number;
  /** Milliseconds per block: 1000 at the 800 bit/s of these tests. */
  msPerBlock: number;
  blocks: number;
  /** When block k is read, if not every `msPerBlock` from the start (ms). */
  readAt?: (k: number) => number;
  /** What the stream says at open, if not a 1,000-block asset at its rate. */
  info?: StreamInfo;
}

/** Viewers reading their asset at their bitrate from `startMs` on; returns each one's hits and misses. */
function simulate(cache: BlockCache, viewers: Viewer[]): string[][] {
  type Ev = { at: number; order: number; run: () => void };
  const events: Ev[] = [];
  const results = viewers.map(() => [] as string[]);
  viewers.forEach((v, i) => {
    let h!: StreamHandle;
    const info = v.info ?? { assetBytes: 1000 * B, bitrateBps: (8000 * B) / v.msPerBlock };
    events.push({ at: v.startMs, order: -1, run: () => (h = cache.openStream(v.asset, v.startMs, info)) });
    for (let k = 0; k < v.blocks; k++) {
      const at = v.readAt ? v.readAt(k) : v.startMs + k * v.msPerBlock;
      events.push({ at, order: i, run: () => results[i]!.push(read(h, k, at)) });
    }
  });
  events.sort((x, y) => x.at - y.at || x.order - y.order);
  for (const e of events) {
    e.run();
    expect(cache.usedBytes).toBeLessThanOrEqual(cache.budgetBytes);
  }
  return results;
}

describe('interval cache: ranking', () => {
  it('skips a pair that does not fit and gives the space to a longer but smaller one', () => {
    const cache = intervalCache(11);
    const [, a2, , b2, , c2] = simulate(cache, [
      { asset: 'a', startMs: 0, msPerBlock: 1000, blocks: 30 },
      { asset: 'a', startMs: 2000, msPerBlock: 1000, blocks: 28 }, // 2 s: 3 blocks
      { asset: 'b', startMs: 0, msPerBlock: 1000, blocks: 30 },
      { asset: 'b', startMs: 9000, msPerBlock: 1000, blocks: 21 }, // 9 s: 9–10 blocks, does not fit
      { asset: 'c', startMs: 0, msPerBlock: 2000, blocks: 15 },
      { asset: 'c', startMs: 10_000, msPerBlock: 2000, blocks: 10 }, // 10 s at half the bitrate: 5–6 blocks
    ]);
    expect(a2!.slice(2).every((r) => r === 'hit')).toBe(true);
    expect(b2!.every((r) => r === 'miss')).toBe(true);
    expect(c2).toEqual([...Array(5).fill('miss'), ...Array(5).fill('hit')]);
  });

  it('a new shorter interval takes the space of a longer one, whose follower goes back to storage', () => {
    const cache = intervalCache(6);
    const changes: CacheChange[] = [];
    cache.onChange((c) => changes.push(c));
    const x1 = open(cache, 'x', 0);
    let x2!: StreamHandle;
    let y1!: StreamHandle;
    let y2!: StreamHandle;
    const gotX2: string[] = [];
    const gotY2: string[] = [];
    for (let t = 0; t < 30; t++) {
      if (t === 4) x2 = open(cache, 'x', 4000); // 4 s behind: 4 blocks reserved
      if (t === 10) y1 = open(cache, 'y', 10_000);
      if (t === 12) {
        expect(cache.holds('x')).toBe(true);
        y2 = open(cache, 'y', 12_000); // 2 s behind: ranks first, and both no longer fit
        expect(cache.holds('x')).toBe(false);
        expect(changes.at(-1)).toEqual({ added: [], removed: ['x'] });
      }
      read(x1, t, t * 1000);
      if (t >= 4) gotX2.push(read(x2, t - 4, t * 1000));
      if (t >= 10) read(y1, t - 10, t * 1000);
      if (t >= 12) gotY2.push(read(y2, t - 12, t * 1000));
      expect(cache.usedBytes).toBeLessThanOrEqual(6 * B);
    }
    // x2: blocks 0–3 from storage, 4–7 from the cache, then (from t = 12) storage again.
    expect(gotX2).toEqual([...Array(4).fill('miss'), ...Array(4).fill('hit'), ...Array(18).fill('miss')]);
    expect(gotY2).toEqual([...Array(2).fill('miss'), ...Array(16).fill('hit')]);
    expect(cache.stats().cachedPairs).toBe(1);
    expect(cache.holds('x')).toBe(false);
  });

  it('a longer interval never takes space from a shorter one', () => {
    const cache = intervalCache(11);
    const y1 = open(cache, 'y', 0);
    let y2!: StreamHandle;
    let x1!: StreamHandle;
    let x2!: StreamHandle;
    const gotY2: string[] = [];
    const gotX2: string[] = [];
    for (let t = 0; t < 30; t++) {
      if (t === 3) y2 = open(cache, 'y', 3000);
      if (t === 4) x1 = open(cache, 'x', 4000);
      if (t === 13) x2 = open(cache, 'x', 13_000);
      read(y1, t, t * 1000);
      if (t >= 3) gotY2.push(read(y2, t - 3, t * 1000));
      if (t >= 4) read(x1, t - 4, t * 1000);
      if (t >= 13) gotX2.push(read(x2, t - 13, t * 1000));
    }
    expect(gotY2).toEqual([...Array(3).fill('miss'), ...Array(24).fill('hit')]);
    expect(gotX2.every((r) => r === 'miss')).toBe(true);
    expect(cache.holds('x')).toBe(false);
  });

  it('ranks by interval, not by bytes: a cheap 10 s pair loses to a costly 2 s one', () => {
    // x: 800 bit/s, 10 s apart (11 blocks); y: 8000 bit/s = 10 blocks/s, 2 s apart (20 blocks).
    const cache = intervalCache(25);
    const y = { assetBytes: 400 * B, bitrateBps: 10 * BPS };
    const x1 = open(cache, 'x', 0);
    let x2!: StreamHandle;
    let y1!: StreamHandle;
    let y2!: StreamHandle;
    const gotY2: string[] = [];
    for (let t = 0; t < 30; t++) {
      if (t === 10) {
        x2 = open(cache, 'x', 10_000);
        y1 = cache.openStream('y', 10_000, y);
      }
      if (t === 12) {
        expect(cache.holds('x')).toBe(true);
        y2 = cache.openStream('y', 12_000, y);
        expect(cache.holds('x')).toBe(false);
      }
      read(x1, t, t * 1000);
      if (t >= 10) read(x2, t - 10, t * 1000);
      for (let k = 0; k < 10; k++) {
        const at = t * 1000 + k * 100;
        if (t >= 10) read(y1, (t - 10) * 10 + k, at);
        if (t >= 12) gotY2.push(read(y2, (t - 12) * 10 + k, at));
      }
      expect(cache.usedBytes).toBeLessThanOrEqual(25 * B);
    }
    expect(gotY2.slice(0, 20).every((r) => r === 'miss')).toBe(true);
    expect(gotY2.slice(20).every((r) => r === 'hit')).toBe(true);
    expect(cache.heldBlocks('x')).toEqual([]);
  });

  it('equal intervals: the older pair ranks first, whatever it costs', () => {
    // Both pairs are 2 s apart. y (10 blocks/s) pairs up first and reserves about
    // 21 blocks; x (1 block/s) pairs up a second later and needs about 3. The
    // budget (22) fits one: y's, the older, although x's is cheaper.
    const cache = intervalCache(22);
    const [, y2, , x2] = simulate(cache, [
      { asset: 'y', startMs: 0, msPerBlock: 100, blocks: 100 },
      { asset: 'y', startMs: 2000, msPerBlock: 100, blocks: 80 },
      { asset: 'x', startMs: 1000, msPerBlock: 1000, blocks: 20 },
      { asset: 'x', startMs: 3000, msPerBlock: 1000, blocks: 18 },
    ]);
    expect(y2!.slice(0, 20).every((r) => r === 'miss')).toBe(true);
    expect(y2!.slice(20).every((r) => r === 'hit')).toBe(true);
    // x2 reads blocks 0–7 before y's leader leaves (t = 10 s): all from storage.
    expect(x2!.slice(0, 8).every((r) => r === 'miss')).toBe(true);
  });

  it('without a bitrate, ranks by the difference of start times', () => {
    const cache = intervalCache(14);
    const a1 = open(cache, 'a', 0, 40, undefined);
    const b1 = open(cache, 'b', 0, 40, undefined);
    let a2!: StreamHandle;
    let b2!: StreamHandle;
    const gotA2: string[] = [];
    const gotB2: string[] = [];
    for (let t = 0; t < 30; t++) {
      if (t === 9) a2 = open(cache, 'a', 9000, 40, undefined);
      if (t === 10) b2 = open(cache, 'b', 10_000, 40, undefined);
      read(a1, t, t * 1000);
      read(b1, t, t * 1000);
      if (t >= 9) gotA2.push(read(a2, t - 9, t * 1000));
      if (t >= 10) gotB2.push(read(b2, t - 10, t * 1000));
    }
    // 9 s beats 10 s; each pair needs about 10 blocks, the budget is 14.
    expect(gotA2.slice(0, 9).every((r) => r === 'miss')).toBe(true);
    expect(gotA2.slice(9).every((r) => r === 'hit')).toBe(true);
    expect(gotB2.every((r) => r === 'miss')).toBe(true);
  });
});

/**
 * Viewers paced like the media server's delivery: a fast-start burst of `burstS`
 * seconds of media at open, then 1.5× the bitrate until `leadS` seconds ahead of
 * playback, then the bitrate. At `blocksPerS`, block k goes out at
 * max((k + 1 − burst) / 1.5, k + 1 − lead) seconds after the start (0 within the burst).
 */
function simulatePaced(
  cache: BlockCache,
  starts: number[],
  o: { blocks: number; blocksPerS: number; bitrate: boolean; burstS?: number; leadS?: number },
): string[][] {
  const burst = (o.burstS ?? 8) * o.blocksPerS;
  const lead = (o.leadS ?? 10) * o.blocksPerS;
  const info = { assetBytes: o.blocks * B, bitrateBps: o.bitrate ? o.blocksPerS * 8 * B : undefined };
  const sentAtS = (k: number) => Math.max(0, (k + 1 - burst) / 1.5, k + 1 - lead) / o.blocksPerS;
  return simulate(
    cache,
    starts.map((startMs) => ({
      asset: 'film',
      startMs,
      msPerBlock: 1000 / o.blocksPerS,
      blocks: o.blocks,
      info,
      readAt: (k: number) => startMs + Math.round(sentAtS(k) * 1000),
    })),
  );
}

describe('interval cache: small budgets (issue 12, C1)', () => {
  // One server with room for 14 blocks, a 120-s asset at 2 blocks/s, viewers at 0, 20 and 22 s.
  // When C opens, B is 11 s of media into its fast start (22 blocks ahead); once both
  // are 10 s ahead of their playback they are 2 s (4 blocks) apart.
  const shape = { blocks: 240, blocksPerS: 2 };
  const misses = (got: string[]) => got.filter((r) => r === 'miss').length;

  it("caches the shortest pair for what it needs in steady state, not its leader's head start", () => {
    const cache = intervalCache(14);
    const [a, b, c] = simulatePaced(cache, [0, 20_000, 22_000], { ...shape, bitrate: true });
    expect(misses(a!)).toBe(240);
    expect(misses(b!)).toBe(240); // (A, B) is 20 s apart: 40 blocks, it never fits
    // C reads from storage only what B had read before C came: its own fast start.
    expect(misses(c!)).toBeLessThanOrEqual(0.15 * 240);
    expect(cache.stats().peakBytes).toBeLessThanOrEqual(14 * B);
  });

  it('without a bitrate, re-ranks as the gap closes, once the pair fits', () => {
    const cache = intervalCache(14);
    const [, , c] = simulatePaced(cache, [0, 20_000, 22_000], { ...shape, bitrate: false });
    // Cached once C is within 13 blocks of B (about 8 s after it opened), then hits to the end.
    expect(misses(c!)).toBeLessThanOrEqual(0.15 * 240);
    expect(c!.slice(-200).every((r) => r === 'hit')).toBe(true);
    expect(cache.stats().peakBytes).toBeLessThanOrEqual(14 * B);
  });
});

describe('interval cache: seeks', () => {
  it('a follower that overtakes its leader becomes the leader, and the old leader reads from it', () => {
    const cache = intervalCache(100);
    const a = open(cache, 'film', 0);
    const b = open(cache, 'film', 0);
    for (let k = 0; k < 5; k++) read(a, k, k * 1000);
    const gotB = range(0, 10).map((k) => read(b, k, 5000 + k * 100));
    const gotA = range(5, 10).map((k) => read(a, k, 6000 + k * 1000));
    expect(gotB).toEqual([...Array(5).fill('hit'), ...Array(5).fill('miss')]);
    expect(gotA).toEqual(Array(5).fill('hit'));
  });

  it('a viewer that seeks to just behind another one becomes its follower', () => {
    const cache = intervalCache(100);
    const a = open(cache, 'film', 0);
    for (let t = 0; t < 20; t++) read(a, t, t * 1000);
    const c = open(cache, 'film', 20_000);
    c.seek(18, 20_000);
    const got: string[] = [];
    for (let t = 20; t < 30; t++) {
      read(a, t, t * 1000);
      got.push(read(c, t - 2, t * 1000));
    }
    expect(got).toEqual(['miss', 'miss', ...Array(8).fill('hit')]);
  });

  it('a follower that jumps ahead of its leader reads storage, and the old leader then follows it', () => {
    const cache = intervalCache(100);
    const a = open(cache, 'film', 0);
    const b = open(cache, 'film', 0);
    for (let t = 0; t < 5; t++) read(a, t, t * 1000);
    expect(read(b, 10, 5000)).toBe('miss'); // a jump: b is now ahead of a
    for (let k = 11; k < 15; k++) expect(read(b, k, 5000 + k)).toBe('miss');
    const gotA: string[] = [];
    for (let k = 5; k < 15; k++) gotA.push(read(a, k, 6000 + k));
    expect(gotA).toEqual([...Array(5).fill('miss'), ...Array(5).fill('hit')]);
  });
});

describe('interval cache: prefix', () => {
  // 40 000 B budget, 10 % for prefixes: a 4 000 B pool, at most 1/8 of it (5 blocks) per asset.
  const prefixCache = () => createCache({ policy: 'interval', budgetBytes: 40_000, blockBytes: B, prefixShare: 0.1 });

  it('keeps the first blocks of a requested asset after its viewer left', () => {
    const cache = prefixCache();
    const a = open(cache, 'film', 0);
    for (let t = 0; t < 20; t++) read(a, t, t * 1000);
    a.close(20_000);
    // One prefix may take a quarter of the pool: 4,000 bytes / 4 = 10 blocks.
    expect(cache.heldBlocks('film')).toEqual(range(0, 10));
    const b = open(cache, 'film', 30_000);
    const got = range(0, 13).map((k) => read(b, k, 30_000 + k * 1000));
    expect(got).toEqual([...Array(10).fill('hit'), ...Array(3).fill('miss')]);
  });

  it('lets a follower arriving soon after its leader read nothing from storage', () => {
    const cache = prefixCache();
    const a = open(cache, 'film', 0);
    let b!: StreamHandle;
    const got: string[] = [];
    for (let t = 0; t < 30; t++) {
      if (t === 3) b = open(cache, 'film', 3000);
      read(a, t, t * 1000);
      if (t >= 3) got.push(read(b, t - 3, t * 1000));
    }
    expect(got.every((r) => r === 'hit')).toBe(true);
  });

  it('drops the prefix of the least recently requested asset when the pool is full', () => {
    const cache = prefixCache();
    const changes: CacheChange[] = [];
    cache.onChange((c) => changes.push(c));
    for (let i = 0; i < 8; i++) {
      const h = open(cache, `a${i}`, i * 10_000);
      for (let k = 0; k < 5; k++) read(h, k, i * 10_000 + k);
      h.close(i * 10_000 + 9000);
    }
    expect(cache.assets().sort()).toEqual(range(0, 8).map((i) => `a${i}`));
    open(cache, 'a0', 90_000).close(90_001); // a0 requested again: a1 is now the oldest
    const h = open(cache, 'a8', 100_000);
    read(h, 0, 100_000);
    expect(cache.holds('a1')).toBe(false);
    expect(cache.holds('a0')).toBe(true);
    expect(cache.holds('a8')).toBe(true);
    expect(changes.at(-1)).toEqual({ added: ['a8'], removed: ['a1'] });
    expect(cache.usedBytes).toBe(36 * B); // a1's 5 blocks went, a8's first one came
  });
});

describe('interval cache: budget, blocks and events', () => {
  it('never goes over the budget when a leader races ahead of its follower', () => {
    const cache = intervalCache(10);
    const a = open(cache, 'film', 0);
    const b = open(cache, 'film', 0);
    for (let k = 0; k < 40; k++) {
      read(a, k, 1000);
      expect(cache.usedBytes).toBeLessThanOrEqual(10 * B);
    }
    const got = range(0, 40).map((k) => read(b, k, 2000 + k));
    expect(got.slice(0, 10).every((r) => r === 'hit')).toBe(true);
    expect(cache.stats().peakBytes).toBe(10 * B);
    expect(cache.stats().refusedBlocks).toBeGreaterThan(0);
  });

  it('a shorter interval that outgrows its reservation takes space from longer ones, not the reverse', () => {
    const cache = intervalCache(10);
    const x1 = open(cache, 'x', 0);
    let x2!: StreamHandle;
    for (let t = 0; t < 10; t++) {
      if (t === 4) x2 = open(cache, 'x', 4000);
      read(x1, t, t * 1000);
      if (t >= 4) read(x2, t - 4, t * 1000);
    }
    expect(cache.heldBlocks('x')).toEqual(range(5, 10));
    // Two viewers start together (a 0 s interval); the first reads 8 s ahead at once.
    const y1 = open(cache, 'y', 10_000);
    const y2 = open(cache, 'y', 10_000);
    for (let k = 0; k < 8; k++) read(y1, k, 10_000 + k);
    expect(cache.holds('x')).toBe(false);
    expect(range(0, 8).map((k) => read(y2, k, 11_000 + k))).toEqual(Array(8).fill('hit'));
    expect(cache.stats().peakBytes).toBeLessThanOrEqual(10 * B);
  });

  it('caches a short block only as the final block of an asset that is not growing', () => {
    const cache = intervalCache(100);
    const live = cache.openStream('live', 0, { assetBytes: 250, bitrateBps: BPS, live: true });
    const follower = cache.openStream('live', 0, { assetBytes: 250, bitrateBps: BPS, live: true });
    expect(live.put(0, bytesOf('live', 0), 0)).toBe(true);
    expect(live.put(1, bytesOf('live', 1), 1)).toBe(true);
    expect(live.put(2, bytesOf('live', 2, 50), 2)).toBe(false);
    expect(follower.get(0, 3)).toBeDefined();
    const vod = cache.openStream('vod', 0, { assetBytes: 250, bitrateBps: BPS });
    const vodFollower = cache.openStream('vod', 0, { assetBytes: 250, bitrateBps: BPS });
    vod.put(0, bytesOf('vod', 0), 0);
    vod.put(1, bytesOf('vod', 1), 0);
    expect(vod.put(2, bytesOf('vod', 2, 40), 0)).toBe(false); // does not end where the asset ends
    expect(vod.put(2, bytesOf('vod', 2, 50), 0)).toBe(true);
    expect(vodFollower.get(0, 1)).toEqual(bytesOf('vod', 0));
    expect(vodFollower.get(1, 1)).toEqual(bytesOf('vod', 1));
    expect(vodFollower.get(2, 1)).toEqual(bytesOf('vod', 2, 50));
    expect(vod.put(3, new Uint8Array(B + 1), 0)).toBe(false);
  });

  it('reports each asset gained or lost once per operation, and survives a throwing listener', () => {
    const cache = intervalCache(100);
    const changes: CacheChange[] = [];
    cache.onChange(() => {
      throw new Error('listener bug');
    });
    const off = cache.onChange((c) => changes.push(c));
    const a = open(cache, 'film', 0);
    const b = open(cache, 'film', 0);
    expect(changes).toEqual([]);
    read(a, 0, 0);
    read(a, 1, 1);
    expect(changes).toEqual([{ added: ['film'], removed: [] }]);
    expect(read(b, 0, 2)).toBe('hit');
    b.close(3); // the only follower left: nothing is needed any more
    expect(changes).toEqual([
      { added: ['film'], removed: [] },
      { added: [], removed: ['film'] },
    ]);
    expect(cache.stats().listenerErrors).toBe(2);
    off();
    open(cache, 'film', 5);
    read(a, 2, 6);
    expect(cache.holds('film')).toBe(true);
    expect(changes).toHaveLength(2);
    expect(cache.stats().listenerErrors).toBe(3);
  });

  it('does nothing once a stream is closed, and close is idempotent', () => {
    const cache = intervalCache(100);
    const a = open(cache, 'film', 0);
    const b = open(cache, 'film', 0);
    read(a, 0, 0);
    a.close(1);
    a.close(2);
    expect(a.get(0, 3)).toBeUndefined();
    expect(a.put(1, bytesOf('film', 1), 3)).toBe(false);
    expect(cache.stats().openStreams).toBe(1);
    expect(read(b, 0, 4)).toBe('hit');
    b.close(5);
    expect(cache.stats()).toMatchObject({ openStreams: 0, pairs: 0 });
    expect(cache.assets()).toEqual([]);
  });

  it('rejects bad arguments without changing anything', () => {
    const cache = intervalCache(100);
    const a = open(cache, 'film', 0);
    expect(() => a.get(-1, 0)).toThrow(/non-negative integer/);
    expect(() => a.put(1.5, bytesOf('film', 1), 0)).toThrow(/non-negative integer/);
    expect(() => a.get(0, Number.NaN)).toThrow(/finite/);
    expect(() => createCache({ policy: 'interval', budgetBytes: -1 })).toThrow(/budgetBytes/);
    expect(() => createCache({ policy: 'interval', budgetBytes: 10, prefixShare: 0.9 })).toThrow(/prefixShare/);
    expect(() => createCache({ policy: 'nope' as 'lru', budgetBytes: 10 })).toThrow(/unknown cache policy/);
    expect(cache.usedBytes).toBe(0);
  });
});

// ---- properties against a reference model ------------------------------------------------

interface ModelAsset {
  id: string;
  bytes: number;
  bitrateBps?: number;
  live?: boolean;
}

const MODEL_ASSETS: ModelAsset[] = [
  { id: 'a', bytes: 10 * B + 50, bitrateBps: BPS },
  { id: 'b', bytes: 6 * B },
  { id: 'c', bytes: 15 * B + 30, bitrateBps: 2 * BPS, live: true },
];

type Op =
  | { kind: 'open'; asset: number; dt: number }
  | { kind: 'read'; stream: number; dt: number }
  | { kind: 'seek'; stream: number; block: number; dt: number }
  | { kind: 'jump'; stream: number; block: number; dt: number }
  | { kind: 'close'; stream: number; dt: number };

const dt = fc.integer({ min: 0, max: 3000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('open' as const), asset: fc.nat(2), dt }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('read' as const), stream: fc.nat(50), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('seek' as const), stream: fc.nat(50), block: fc.nat(16), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('jump' as const), stream: fc.nat(50), block: fc.nat(16), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), stream: fc.nat(50), dt }) },
);

interface ModelStream {
  h: StreamHandle;
  asset: ModelAsset;
  /** Block the stream is at, as the cache defines it: the last one read or seeked to. */
  pos: number;
  fresh: boolean;
  open: boolean;
  /** Blocks the model says must be hits (unlimited budget only). */
  expect: Set<number>;
}

const blockCount = (a: ModelAsset) => Math.ceil(a.bytes / B);
const trueBytes = (a: ModelAsset, block: number) => bytesOf(a.id, block, Math.min(B, a.bytes - block * B));

/** Plain checks: the model runs tens of thousands of them per property, `expect` would be slow. */
function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** How many predicted hits the unlimited-budget property verified (it must exercise followers). */
let checkedPredictions = 0;

/**
 * Runs ops against the cache and a model that knows each stream's position and
 * each block's true bytes, checking after every op what must always hold.
 */
function runModel(cache: BlockCache, ops: Op[], opts: { prefixBlocksMax: number; predictHits: boolean }) {
  const streams: ModelStream[] = [];
  const fromEvents = new Set<string>();
  cache.onChange((c) => {
    for (const id of c.added) {
      check(!fromEvents.has(id), `${id} reported added while held`);
      fromEvents.add(id);
    }
    for (const id of c.removed) {
      check(fromEvents.has(id), `${id} reported removed while not held`);
      fromEvents.delete(id);
    }
  });
  let now = 0;
  const openStreams = () => streams.filter((s) => s.open);
  const consume = (s: ModelStream, block: number) => {
    const hit = s.h.get(block, now);
    if (hit) check(sameBytes(hit, trueBytes(s.asset, block)), `wrong bytes for ${s.asset.id}#${block}`);
    if (opts.predictHits && s.expect.has(block)) {
      check(hit !== undefined, `${s.asset.id}#${block} was read ahead of this viewer but is a miss`);
      checkedPredictions++;
    }
    if (!hit) s.h.put(block, trueBytes(s.asset, block), now);
    s.pos = block;
    s.fresh = false;
    if (opts.predictHits) {
      // Anyone behind this block will find it in the cache when they get there.
      // (A live asset's short last block is incomplete, so never cached.)
      const complete = !(s.asset.live && block === blockCount(s.asset) - 1 && s.asset.bytes % B !== 0);
      for (const o of openStreams()) if (complete && o !== s && o.asset === s.asset && o.pos < block) o.expect.add(block);
    }
  };
  for (const op of ops) {
    now += op.dt;
    const live = openStreams();
    const s = op.kind === 'open' ? undefined : live[op.stream % Math.max(1, live.length)];
    switch (op.kind) {
      case 'open': {
        const asset = MODEL_ASSETS[op.asset]!;
        const h = cache.openStream(asset.id, now, { assetBytes: asset.bytes, bitrateBps: asset.bitrateBps, live: asset.live });
        streams.push({ h, asset, pos: 0, fresh: true, open: true, expect: new Set() });
        break;
      }
      case 'read': {
        if (!s) break;
        const next = s.fresh ? s.pos : s.pos + 1;
        if (next >= blockCount(s.asset)) {
          s.h.close(now);
          s.open = false;
        } else consume(s, next);
        break;
      }
      case 'seek':
        if (!s) break;
        s.h.seek(op.block % blockCount(s.asset), now);
        s.pos = op.block % blockCount(s.asset);
        s.fresh = true;
        s.expect.clear();
        break;
      case 'jump':
        if (!s) break;
        s.expect.clear();
        consume(s, op.block % blockCount(s.asset));
        s.expect.clear();
        break;
      case 'close':
        if (!s) break;
        s.h.close(now);
        s.open = false;
        break;
    }
    // The budget holds, at the end of the op and at its highest point during it.
    check(cache.usedBytes <= cache.budgetBytes, 'over budget');
    check(cache.stats().peakBytes <= cache.budgetBytes, 'went over budget during an operation');
    // Accounting matches the blocks actually held; assets() matches blocks and events.
    let sum = 0;
    for (const a of MODEL_ASSETS) {
      const held = cache.heldBlocks(a.id);
      for (const b of held) sum += Math.min(B, a.bytes - b * B);
      check(cache.holds(a.id) === held.length > 0, `holds(${a.id}) disagrees with its blocks`);
      // Past the prefix, a block stays only while an open stream is at or behind it.
      for (const b of held) {
        if (b < opts.prefixBlocksMax) continue;
        check(
          openStreams().some((o) => o.asset === a && o.pos <= b),
          `${a.id}#${b} held with nobody behind it`,
        );
      }
      // A live asset's short last block is never held.
      if (a.live && a.bytes % B !== 0) check(!held.includes(blockCount(a) - 1), 'held an incomplete live block');
    }
    check(cache.usedBytes === sum, `usedBytes ${cache.usedBytes} but blocks add up to ${sum}`);
    check(cache.assets().sort().join() === [...fromEvents].sort().join(), 'assets() disagrees with the change events');
    check(cache.stats().openStreams === openStreams().length, 'open stream count');
  }
  for (const s of openStreams()) s.h.close(now);
  // With every viewer gone, only prefixes may remain.
  for (const a of MODEL_ASSETS)
    check(
      cache.heldBlocks(a.id).every((b) => b < opts.prefixBlocksMax),
      `${a.id} keeps blocks past its prefix`,
    );
}

const RUNS = Number(process.env.CACHE_PROPERTY_RUNS ?? 300);

describe('interval cache: properties', () => {
  it('budget never exceeded, accounting and events consistent, blocks released behind the last follower', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.nat(99), fc.array(opArb, { maxLength: 120, size: 'max' }), (blocks, extra, ops) => {
        const cache = createCache({ policy: 'interval', budgetBytes: blocks * B + extra, blockBytes: B, prefixShare: 0 });
        runModel(cache, ops, { prefixBlocksMax: 0, predictHits: false });
      }),
      { numRuns: RUNS },
    );
  });

  it('the same with a prefix share: only prefix blocks outlive their viewers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.array(opArb, { maxLength: 120, size: 'max' }), (blocks, ops) => {
        const budgetBytes = blocks * B;
        const cache = createCache({ policy: 'interval', budgetBytes, blockBytes: B, prefixShare: 0.2 });
        // Documented bound: one asset's prefix is at most 1/MIN_PREFIXES of the pool in bytes;
        // an asset smaller than that is held whole, its short last block included (hence ceil).
        const prefixBlocksMax = Math.ceil((budgetBytes * 0.2) / MIN_PREFIXES / B);
        runModel(cache, ops, { prefixBlocksMax, predictHits: false });
      }),
      { numRuns: RUNS },
    );
  });

  it('with room for everything, a block read ahead of a viewer is a hit when that viewer gets there', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
        const cache = createCache({ policy: 'interval', budgetBytes: 1e12, blockBytes: B, prefixShare: 0 });
        runModel(cache, ops, { prefixBlocksMax: 0, predictHits: true });
      }),
      { numRuns: RUNS },
    );
    expect(checkedPredictions).toBeGreaterThan(1000); // the generator does exercise followers
  });
});
