// The LRU block cache: least recently used blocks go first, whoever is watching.
import { describe, expect, it } from 'vitest';
import { createCache, type BlockCache } from '../../node-app/cache/index.js';
import type { CacheChange } from '../../node-app/contracts.js';

const B = 100;

const block = (seed: number, length = B) => new Uint8Array(length).fill(seed & 0xff);

function lru(budgetBlocks: number): BlockCache {
  return createCache({ policy: 'lru', budgetBytes: budgetBlocks * B, blockBytes: B });
}

describe('LRU cache', () => {
  it('keeps what a lone viewer read, up to the budget, dropping the least recently used first', () => {
    const cache = lru(3);
    const h = cache.openStream('film', 0, { assetBytes: 10 * B });
    for (let k = 0; k < 5; k++) expect(h.put(k, block(k), k)).toBe(true);
    expect(cache.heldBlocks('film')).toEqual([2, 3, 4]);
    expect(cache.usedBytes).toBe(3 * B);
    h.close(6);
    expect(cache.heldBlocks('film')).toEqual([2, 3, 4]); // closing a stream frees nothing
  });

  it('a hit makes a block recent again', () => {
    const cache = lru(3);
    const h = cache.openStream('film', 0, { assetBytes: 10 * B });
    h.put(0, block(0), 0);
    h.put(1, block(1), 1);
    h.put(2, block(2), 2);
    expect(h.get(0, 3)).toEqual(block(0));
    h.put(3, block(3), 4);
    expect(cache.heldBlocks('film')).toEqual([0, 2, 3]);
    expect(cache.stats()).toMatchObject({ hits: 1, hitBytes: B, misses: 0, missBytes: 4 * B, droppedBlocks: 1 });
  });

  it('serves any viewer of the asset, whenever it comes', () => {
    const cache = lru(10);
    const a = cache.openStream('film', 0, { assetBytes: 10 * B });
    for (let k = 0; k < 4; k++) a.put(k, block(k), k);
    a.close(5);
    const b = cache.openStream('film', 60_000, { assetBytes: 10 * B });
    expect([0, 1, 2, 3, 4].map((k) => b.get(k, 60_000 + k) !== undefined)).toEqual([true, true, true, true, false]);
  });

  it('reports an asset when its first block comes and when its last block goes', () => {
    const cache = lru(2);
    const changes: CacheChange[] = [];
    cache.onChange((c) => changes.push(c));
    const x = cache.openStream('x', 0, { assetBytes: 10 * B });
    const y = cache.openStream('y', 0, { assetBytes: 10 * B });
    x.put(0, block(0), 0);
    x.put(1, block(1), 1);
    y.put(0, block(9), 2); // evicts x#0
    expect(cache.assets().sort()).toEqual(['x', 'y']);
    y.put(1, block(8), 3); // evicts x#1: x is gone, in the same operation y gains nothing new
    expect(changes).toEqual([
      { added: ['x'], removed: [] },
      { added: ['y'], removed: [] },
      { added: [], removed: ['x'] },
    ]);
    expect(cache.holds('x')).toBe(false);
  });

  it('refuses a block larger than the whole budget, and incomplete blocks', () => {
    const cache = createCache({ policy: 'lru', budgetBytes: 50, blockBytes: B });
    const h = cache.openStream('film', 0, { assetBytes: 10 * B });
    expect(h.put(0, block(0), 0)).toBe(false);
    expect(cache.stats().refusedBlocks).toBe(1);
    const live = createCache({ policy: 'lru', budgetBytes: 10 * B, blockBytes: B }).openStream('live', 0, { assetBytes: 150, live: true });
    expect(live.put(1, block(1, 50), 0)).toBe(false);
    expect(cache.usedBytes).toBe(0);
  });
});
