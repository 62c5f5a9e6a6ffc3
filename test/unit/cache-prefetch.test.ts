// `StreamHandle.prefetch` is a hint that changes nothing: a cache given it everywhere answers as one never given it.
import { describe, expect, it } from 'vitest';
import { createCache, type BlockCache, type StreamHandle } from '../../node-app/cache/index.js';
import { seededRng } from '../helpers/seeded-rng.js';

const B = 100;

/** Everything a caller can see of a cache. */
function snapshot(cache: BlockCache): unknown {
  const assets = cache.assets().sort();
  return { used: cache.usedBytes, stats: cache.stats(), assets, blocks: assets.map((a) => cache.heldBlocks(a)) };
}

/**
 * Random viewers (arrivals, reads one block on, seeks, departures) on two caches alike, one of
 * them also told to prefetch random blocks of random streams before every operation; the answers
 * of every read and everything the caches show must agree throughout.
 */
function replay(policy: 'gic' | 'interval', seed: number): void {
  const rng = seededRng(seed);
  const opts = { policy, budgetBytes: (4 + Math.floor(rng() * 30)) * B, blockBytes: B, prefixShare: rng() * 0.5 };
  const plain = createCache(opts);
  const hinted = createCache(opts);
  const changes: [string[], string[]] = [[], []];
  plain.onChange((c) => changes[0].push(JSON.stringify(c)));
  hinted.onChange((c) => changes[1].push(JSON.stringify(c)));
  const open: { a: StreamHandle; b: StreamHandle; next: number; blocks: number }[] = [];
  let now = 0;
  let prefetches = 0;
  for (let op = 0; op < 2500; op++) {
    now += Math.floor(rng() * 700);
    for (let k = Math.floor(rng() * 3); k > 0 && open.length > 0; k--) {
      const s = open[Math.floor(rng() * open.length)]!;
      expect(s.b.prefetch).toBeTypeOf('function');
      s.b.prefetch!(Math.floor(rng() * (s.blocks + 2)));
      prefetches++;
    }
    const r = rng();
    if (r < 0.15 || open.length === 0) {
      const asset = `a${Math.floor(rng() * 4)}`;
      const blocks = 5 + 5 * Number(asset.slice(1));
      const info = { assetBytes: blocks * B - (asset === 'a3' ? 30 : 0), bitrateBps: 800 };
      open.push({ a: plain.openStream(asset, now, info), b: hinted.openStream(asset, now, info), next: 0, blocks });
    } else if (r < 0.9) {
      const i = Math.floor(rng() * open.length);
      const s = open[i]!;
      if (s.next >= s.blocks) {
        s.a.close(now);
        s.b.close(now);
        open.splice(i, 1);
      } else {
        const block = s.next++;
        const bytes = new Uint8Array(block === s.blocks - 1 && s.blocks === 20 ? B - 30 : B).fill(block);
        const got = [s.a.get(block, now), s.b.get(block, now)];
        expect(got[1]).toEqual(got[0]);
        if (got[0] === undefined) expect(s.b.put(block, bytes, now)).toBe(s.a.put(block, bytes, now));
      }
    } else {
      const s = open[Math.floor(rng() * open.length)]!;
      s.next = Math.floor(rng() * s.blocks);
      s.a.seek(s.next, now);
      s.b.seek(s.next, now);
    }
    expect(snapshot(hinted)).toEqual(snapshot(plain));
  }
  expect(changes[1]).toEqual(changes[0]);
  expect(prefetches).toBeGreaterThan(1000);
}

describe('StreamHandle.prefetch: a hint only', () => {
  for (const policy of ['gic', 'interval'] as const)
    it(`${policy}: reads, held blocks, stats and changes are those of a cache never given the hint`, () => {
      for (let seed = 1; seed <= 4; seed++) replay(policy, seed);
    });
});
