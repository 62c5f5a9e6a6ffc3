// What every cache policy behind `createCache` must do: budget, integrity, events, handle lifecycle.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCK_BYTES } from '../../node-app/contracts.js';
import { CacheArgumentError, createCache, type CachePolicy } from '../../node-app/cache/index.js';

const B = 100;
const POLICIES: CachePolicy[] = ['interval', 'gic', 'lru'];

function bytesOf(assetId: string, block: number, length = B): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (assetId.charCodeAt(0) * 7 + block * 13 + i) & 0xff;
  return out;
}

const ASSET_BYTES: Record<string, number> = { a: 8 * B + 40, b: 5 * B, c: 12 * B };

type Step = { asset: 'a' | 'b' | 'c'; viewer: number; block: number; action: 'read' | 'close' | 'seek' | 'forget'; dt: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  asset: fc.constantFrom('a' as const, 'b' as const, 'c' as const),
  viewer: fc.nat(3),
  block: fc.nat(12),
  action: fc.constantFrom(
    'read' as const,
    'read' as const,
    'read' as const,
    'read' as const,
    'close' as const,
    'seek' as const,
    'forget' as const,
  ),
  dt: fc.nat(2000),
});

describe.each(POLICIES)('%s cache conformance', (policy) => {
  it('is the policy asked for, with the default block size', () => {
    const cache = createCache({ policy, budgetBytes: 1000 });
    expect(cache.policy).toBe(policy);
    expect(cache.blockBytes).toBe(BLOCK_BYTES);
    expect(cache.budgetBytes).toBe(1000);
  });

  it('never exceeds the budget, serves only true bytes (the current file’s, across forgets), and its events track assets()', () => {
    fc.assert(
      fc.property(fc.nat(30), fc.array(stepArb, { maxLength: 150, size: 'max' }), (budgetBlocks, steps) => {
        const cache = createCache({ policy, budgetBytes: budgetBlocks * B + 37, blockBytes: B });
        const fromEvents = new Set<string>();
        cache.onChange((c) => {
          for (const id of c.added) fromEvents.add(id);
          for (const id of c.removed) fromEvents.delete(id);
        });
        const handles = new Map<string, ReturnType<typeof cache.openStream>>();
        // Each forget stands for a new file under the same id: other bytes, which the cache must serve from then on.
        const version: Record<string, number> = { a: 0, b: 0, c: 0 };
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          const key = `${s.asset}/${s.viewer}`;
          if (s.action === 'forget') {
            cache.forget(s.asset);
            version[s.asset]!++;
            if (cache.heldBlocks(s.asset).length > 0) throw new Error(`${s.asset} still holds blocks after forget`);
            for (const [k, old] of handles) {
              if (old.assetId !== s.asset) continue;
              if (old.get(0, now) !== undefined) throw new Error(`a forgotten stream ${k} still hits`);
              handles.delete(k);
            }
            continue;
          }
          let h = handles.get(key);
          if (!h) handles.set(key, (h = cache.openStream(s.asset, now, { assetBytes: ASSET_BYTES[s.asset], bitrateBps: 800 })));
          const blocks = Math.ceil(ASSET_BYTES[s.asset]! / B);
          const block = s.block % blocks;
          if (s.action === 'close') {
            h.close(now);
            handles.delete(key);
          } else if (s.action === 'seek') {
            h.seek(block, now);
          } else {
            const truth = bytesOf(s.asset, block + 50 * version[s.asset]!, Math.min(B, ASSET_BYTES[s.asset]! - block * B));
            const got = h.get(block, now);
            if (got) {
              if (!got.every((v, i) => v === truth[i]) || got.length !== truth.length) throw new Error(`wrong bytes ${key}#${block}`);
            } else h.put(block, truth, now);
          }
          if (cache.stats().peakBytes > cache.budgetBytes) throw new Error('went over budget');
          let sum = 0;
          for (const id of ['a', 'b', 'c']) for (const b of cache.heldBlocks(id)) sum += Math.min(B, ASSET_BYTES[id]! - b * B);
          if (sum !== cache.usedBytes) throw new Error(`usedBytes ${cache.usedBytes} vs held ${sum}`);
          if (cache.assets().sort().join() !== [...fromEvents].sort().join()) throw new Error('events disagree with assets()');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('with a zero budget holds nothing', () => {
    const cache = createCache({ policy, budgetBytes: 0, blockBytes: B });
    const a = cache.openStream('a', 0, { assetBytes: 10 * B });
    const b = cache.openStream('a', 0, { assetBytes: 10 * B });
    expect(a.put(0, bytesOf('a', 0), 0)).toBe(false);
    expect(b.get(0, 1)).toBeUndefined();
    expect(cache.assets()).toEqual([]);
  });

  it('a second viewer right behind the first one gets hits', () => {
    const cache = createCache({ policy, budgetBytes: 100 * B, blockBytes: B });
    const a = cache.openStream('a', 0, { assetBytes: 10 * B, bitrateBps: 800 });
    const b = cache.openStream('a', 0, { assetBytes: 10 * B, bitrateBps: 800 });
    for (let k = 0; k < 10; k++) {
      expect(a.get(k, k * 1000)).toBeUndefined();
      a.put(k, bytesOf('a', k), k * 1000);
      expect(b.get(k, k * 1000 + 1)).toEqual(bytesOf('a', k));
    }
  });

  it('a closed handle is inert and close is idempotent', () => {
    const cache = createCache({ policy, budgetBytes: 100 * B, blockBytes: B });
    const a = cache.openStream('a', 0, { assetBytes: 10 * B });
    expect(cache.stats().openStreams).toBe(1);
    a.close(1);
    a.close(2);
    expect(cache.stats().openStreams).toBe(0);
    expect(a.put(0, bytesOf('a', 0), 3)).toBe(false);
    expect(a.get(0, 3)).toBeUndefined();
  });

  it('forget drops every block of the asset, closes its streams and reports it gone; other assets stay', () => {
    const cache = createCache({ policy, budgetBytes: 100 * B, blockBytes: B });
    const changes: Array<{ added: string[]; removed: string[] }> = [];
    cache.onChange((c) => changes.push(c));
    const info = { assetBytes: 10 * B, bitrateBps: 800 };
    const a1 = cache.openStream('a', 0, info);
    const a2 = cache.openStream('a', 0, info);
    const b1 = cache.openStream('b', 0, info);
    for (let k = 0; k < 10; k++) {
      if (!a1.get(k, k * 1000)) a1.put(k, bytesOf('a', k), k * 1000);
      a2.get(k, k * 1000 + 1);
      if (!b1.get(k, k * 1000)) b1.put(k, bytesOf('b', k), k * 1000);
    }
    expect(cache.heldBlocks('a').length).toBeGreaterThan(0);
    const bBlocks = cache.heldBlocks('b');
    changes.length = 0;
    cache.forget('a');
    expect(cache.holds('a')).toBe(false);
    expect(cache.heldBlocks('a')).toEqual([]);
    expect(cache.assets()).toEqual(bBlocks.length ? ['b'] : []);
    expect(cache.heldBlocks('b')).toEqual(bBlocks);
    expect(cache.usedBytes).toBe(bBlocks.length * B);
    expect(changes).toEqual([{ added: [], removed: ['a'] }]);
    expect(cache.stats().openStreams).toBe(1);
    // The old file's streams are closed: they never hit, keep nothing, and closing them again changes nothing.
    expect(a2.get(3, 20_000)).toBeUndefined();
    expect(a1.put(0, bytesOf('a', 0), 20_000)).toBe(false);
    a1.close(20_001);
    a2.close(20_001);
    expect(cache.stats().openStreams).toBe(1);
    expect(cache.holds('a')).toBe(false);
    // The new file under the same id: its viewers get its bytes, never the old ones.
    const n1 = cache.openStream('a', 30_000, info);
    const n2 = cache.openStream('a', 30_000, info);
    for (let k = 0; k < 10; k++) {
      const t = 30_000 + k * 1000;
      expect(n1.get(k, t)).toBeUndefined();
      n1.put(k, bytesOf('z', k), t);
      expect(n2.get(k, t + 1)).toEqual(bytesOf('z', k));
    }
  });

  it('forget of an asset it never saw is a no-op; a bad id is refused', () => {
    const cache = createCache({ policy, budgetBytes: 100 * B, blockBytes: B });
    const changes: unknown[] = [];
    cache.onChange((c) => changes.push(c));
    const a = cache.openStream('a', 0, { assetBytes: 10 * B });
    a.put(0, bytesOf('a', 0), 0);
    changes.length = 0;
    cache.forget('x');
    expect(changes).toEqual([]);
    expect(cache.stats().openStreams).toBe(1);
    expect(() => cache.forget('')).toThrow(CacheArgumentError);
  });

  it('never caches a live asset’s short block', () => {
    const cache = createCache({ policy, budgetBytes: 100 * B, blockBytes: B });
    const a = cache.openStream('a', 0, { assetBytes: 2 * B + 10, live: true });
    cache.openStream('a', 0, { assetBytes: 2 * B + 10, live: true });
    expect(a.put(0, bytesOf('a', 0), 0)).toBe(true);
    expect(a.put(1, bytesOf('a', 1), 0)).toBe(true);
    expect(a.put(2, bytesOf('a', 2, 10), 0)).toBe(false);
    expect(cache.heldBlocks('a')).toEqual([0, 1]);
  });

  it('rejects bad arguments with a named error', () => {
    const cache = createCache({ policy, budgetBytes: 100 * B, blockBytes: B });
    const a = cache.openStream('a', 0);
    const err = (() => {
      try {
        a.get(-1, 0);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CacheArgumentError);
    expect((err as CacheArgumentError).code).toBe('bad-request');
    expect(() => a.put(0, 'nope' as unknown as Uint8Array, 0)).toThrow(CacheArgumentError);
    expect(() => a.seek(0.5, 0)).toThrow(CacheArgumentError);
    expect(() => cache.openStream('a', Number.POSITIVE_INFINITY)).toThrow(CacheArgumentError);
    expect(() => cache.openStream('', 0)).toThrow(CacheArgumentError);
    expect(() => createCache({ policy, budgetBytes: 10, blockBytes: 0 })).toThrow(CacheArgumentError);
  });
});
