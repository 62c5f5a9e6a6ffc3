// Generalized interval caching: whole assets kept on the interval predicted from their arrivals.
import { describe, expect, it } from 'vitest';
import { ArrivalHistory, createCache, type BlockCache, type StreamHandle } from '../../node-app/cache/index.js';

/** 100-byte blocks at 800 bit/s: one block per second. */
const B = 100;
const BPS = 800;

const bytesOf = (block: number) => new Uint8Array(B).fill(block & 0xff);

function read(h: StreamHandle, block: number, nowMs: number): 'hit' | 'miss' {
  const got = h.get(block, nowMs);
  if (got) {
    expect(got).toEqual(bytesOf(block));
    return 'hit';
  }
  h.put(block, bytesOf(block), nowMs);
  return 'miss';
}

/** One viewer watching a `blocks`-second asset from `startMs` to the end; returns its hits and misses. */
function watch(cache: BlockCache, assetId: string, startMs: number, blocks: number): string[] {
  const h = cache.openStream(assetId, startMs, { assetBytes: blocks * B, bitrateBps: BPS });
  const got = Array.from({ length: blocks }, (_, k) => read(h, k, startMs + k * 1000));
  h.close(startMs + blocks * 1000);
  expect(cache.usedBytes).toBeLessThanOrEqual(cache.budgetBytes);
  return got;
}

const cacheOf = (policy: 'gic' | 'interval', budgetBlocks: number) =>
  createCache({ policy, budgetBytes: budgetBlocks * B, blockBytes: B, prefixShare: 0 });

describe('gic: short assets kept whole', () => {
  it('viewers of a 10-s clip 30 s apart never overlap; from the third on they read it from the cache', () => {
    const gic = cacheOf('gic', 20);
    const interval = cacheOf('interval', 20);
    const starts = [0, 30_000, 60_000, 90_000];
    const byGic = starts.map((t) => watch(gic, 'clip', t, 10));
    const byInterval = starts.map((t) => watch(interval, 'clip', t, 10));
    // The first two arrivals give the prediction (30 s); the second viewer's reads are kept for the third.
    expect(byGic[0]!.every((r) => r === 'miss')).toBe(true);
    expect(byGic[1]!.every((r) => r === 'miss')).toBe(true);
    expect(byGic[2]!.every((r) => r === 'hit')).toBe(true);
    expect(byGic[3]!.every((r) => r === 'hit')).toBe(true);
    expect(gic.holds('clip')).toBe(true);
    // Pure interval caching holds nothing once a viewer has left.
    expect(byInterval.flat().every((r) => r === 'miss')).toBe(true);
    expect(interval.holds('clip')).toBe(false);
  });

  it('an asset kept whole loses its room to a pair with a shorter interval', () => {
    const cache = cacheOf('gic', 12);
    watch(cache, 'clip', 0, 10);
    watch(cache, 'clip', 30_000, 10);
    expect(cache.heldBlocks('clip')).toHaveLength(10); // kept on a 30-s prediction
    // Two viewers of a film 2 s apart: a 2-s pair (3 blocks) ranks before the clip (10), and both do not fit.
    const a = cache.openStream('film', 40_000, { assetBytes: 100 * B, bitrateBps: BPS });
    const b = cache.openStream('film', 42_000, { assetBytes: 100 * B, bitrateBps: BPS });
    const gotB: string[] = [];
    for (let t = 0; t < 20; t++) {
      read(a, t, 40_000 + t * 1000);
      if (t >= 2) gotB.push(read(b, t - 2, 40_000 + t * 1000));
      expect(cache.usedBytes).toBeLessThanOrEqual(12 * B);
    }
    expect(cache.holds('clip')).toBe(false);
    expect(gotB.slice(2).every((r) => r === 'hit')).toBe(true);
  });

  it('an asset requested once, or still growing, is never kept whole', () => {
    const cache = cacheOf('gic', 100);
    watch(cache, 'once', 0, 10);
    expect(cache.holds('once')).toBe(false);
    for (const t of [0, 20_000, 40_000]) {
      const h = cache.openStream('live', t, { bitrateBps: BPS, live: true });
      for (let k = 0; k < 5; k++) read(h, k, t + k * 1000);
      h.close(t + 5000);
    }
    expect(cache.holds('live')).toBe(false);
  });
});

describe('gic: arrival history', () => {
  it('predicts the usual gap, or the time since the last request when that is longer', () => {
    const h = new ArrivalHistory(10);
    expect(h.predictedMs('a', 0)).toBe(Infinity);
    h.arrive('a', 0);
    expect(h.predictedMs('a', 5_000)).toBe(Infinity); // one request: nothing to predict from
    h.arrive('a', 10_000);
    expect(h.predictedMs('a', 12_000)).toBe(10_000);
    expect(h.predictedMs('a', 50_000)).toBe(40_000);
    h.arrive('a', 14_000); // gaps 10 s then 4 s: half the weight on the newest
    expect(h.predictedMs('a', 14_000)).toBe(7_000);
  });

  it('remembers at most maxAssets assets, forgetting the least recently requested', () => {
    const h = new ArrivalHistory(3);
    for (const [i, id] of ['a', 'b', 'c', 'a', 'd'].entries()) h.arrive(id, i * 1000);
    expect(h.size).toBe(3);
    h.arrive('b', 10_000); // b was forgotten: this is its first request again
    expect(h.predictedMs('b', 10_000)).toBe(Infinity);
    h.arrive('a', 11_000); // a survived (requested again before d came)
    expect(h.predictedMs('a', 11_000)).toBeLessThan(Infinity);
  });

  it('a cache given a small history bound keeps to it', () => {
    const cache = createCache({ policy: 'gic', budgetBytes: 100 * B, blockBytes: B, prefixShare: 0, arrivalHistoryMax: 2 });
    for (const id of ['a', 'b', 'c', 'd']) for (const t of [0, 10_000]) watch(cache, id, t, 3);
    // Only the two most recently requested assets have a prediction, so only they are kept whole.
    expect(cache.assets()).toEqual(['c', 'd']);
  });
});
