// The cached reader: block-split reads from cache or storage, byte-exact, with storage bytes counted.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCK_BYTES, type BlockStore } from '../../node-app/contracts.js';
import type { AssetInfo } from '../../signaling/protocol/types.js';
import { createCache, createCachedSource, SourceClosedError, UnknownAssetError, type CachedSource } from '../../node-app/cache/index.js';

/** An in-memory BlockStore with the contract's semantics; assets can grow (live). */
class MemoryStore implements BlockStore {
  readonly #assets = new Map<string, { info: AssetInfo; data: Uint8Array }>();
  bytesRead = 0;
  failReads = false;

  add(id: string, data: Uint8Array, bitrateBps?: number): void {
    this.#assets.set(id, { info: { id, bytes: data.length, mime: 'video/webm', bitrateBps }, data });
  }

  append(id: string, more: Uint8Array): void {
    const a = this.#assets.get(id)!;
    const data = new Uint8Array(a.data.length + more.length);
    data.set(a.data);
    data.set(more, a.data.length);
    a.data = data;
  }

  stat(id: string): AssetInfo | undefined {
    const a = this.#assets.get(id);
    return a ? { ...a.info, bytes: a.data.length } : undefined;
  }

  list(): AssetInfo[] {
    return [...this.#assets.keys()].map((id) => this.stat(id)!);
  }

  async read(id: string, offset: number, length: number): Promise<Uint8Array> {
    const a = this.#assets.get(id);
    if (!a) throw Object.assign(new Error(`unknown asset ${id}`), { code: 'unknown-asset' });
    if (this.failReads) throw Object.assign(new Error('disk on fire'), { code: 'io' });
    const out = a.data.slice(offset, offset + length);
    this.bytesRead += out.length;
    return out;
  }
}

function noise(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Byte-exact comparison; reports the first differing offset (toEqual is slow on megabytes). */
function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  const i = Buffer.compare(got, want) === 0 ? -1 : got.findIndex((v, k) => v !== want[k]);
  expect(i, 'first differing byte').toBe(-1);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A viewer reading 10 000-byte chunks (not block-aligned) at the asset's byte rate from `startMs`. */
interface Reader {
  source: CachedSource;
  startMs: number;
  at: number;
  parts: Uint8Array[];
}

const BITRATE_BPS = 1_000_000; // 125 000 bytes/s: a 64 KiB block about every half second
const CHUNK = 10_000;

async function playTogether(
  store: MemoryStore,
  sizeBytes: number,
  open: (startMs: number, clock: () => number) => CachedSource,
  startsMs: number[],
) {
  let now = 0;
  const clock = () => now;
  const readers: Reader[] = [];
  const endMs = Math.max(...startsMs) + (sizeBytes / (BITRATE_BPS / 8)) * 1000 + 1000;
  for (now = 0; now <= endMs; now += 100) {
    for (const s of startsMs) if (s === now) readers.push({ source: open(now, clock), startMs: s, at: 0, parts: [] });
    for (const r of readers) {
      const target = Math.min(sizeBytes, Math.floor(((now - r.startMs) * BITRATE_BPS) / 8000) + CHUNK);
      while (r.at < target) {
        const got = await r.source.read(r.at, CHUNK);
        if (got.length === 0) break;
        r.parts.push(got);
        r.at += got.length;
      }
    }
  }
  for (const r of readers) r.source.close();
  return readers;
}

describe('cached reader', () => {
  it('two viewers 2 s apart: the second reads nothing from storage, and both get the exact bytes', async () => {
    const size = 2_000_000 + 1234; // not a whole number of blocks
    const data = noise(size);
    const store = new MemoryStore();
    store.add('film', data, BITRATE_BPS);
    const cache = createCache({ policy: 'interval', budgetBytes: 64 * 1024 * 1024 });
    const [first, second] = await playTogether(store, size, (_, clock) => createCachedSource(store, cache, 'film', clock), [0, 2000]);
    expectSameBytes(concat(first!.parts), data);
    expectSameBytes(concat(second!.parts), data);
    expect(first!.source.storageBytes).toBe(size);
    expect(second!.source.storageBytes).toBe(0);
    expect(second!.source.cacheBytes).toBe(size);
    expect(store.bytesRead).toBe(size);
    expect(cache.stats().openStreams).toBe(0);
  });

  it('without a prefix, the second viewer reads from storage only what the first had read when it came', async () => {
    const size = 2_000_000;
    const data = noise(size, 7);
    const store = new MemoryStore();
    store.add('film', data, BITRATE_BPS);
    const cache = createCache({ policy: 'interval', budgetBytes: 64 * 1024 * 1024, prefixShare: 0 });
    const [, second] = await playTogether(store, size, (_, clock) => createCachedSource(store, cache, 'film', clock), [0, 2000]);
    expectSameBytes(concat(second!.parts), data);
    // 2 s at 125 000 B/s is 250 000 bytes: blocks 0–3 (the last one is re-read by the leader after the follower came).
    expect(second!.source.storageBytes).toBeGreaterThanOrEqual(3 * BLOCK_BYTES);
    expect(second!.source.storageBytes).toBeLessThanOrEqual(4 * BLOCK_BYTES);
  });

  it('with LRU behind it, a later viewer also reads from the cache', async () => {
    const size = 500_000;
    const data = noise(size, 3);
    const store = new MemoryStore();
    store.add('clip', data, BITRATE_BPS);
    const cache = createCache({ policy: 'lru', budgetBytes: 8 * 1024 * 1024 });
    const a = createCachedSource(store, cache, 'clip', () => 0);
    expectSameBytes(await a.read(0, size), data);
    a.close();
    const b = createCachedSource(store, cache, 'clip', () => 1);
    expectSameBytes(await b.read(0, size), data);
    expect(b.storageBytes).toBe(0);
  });

  it('any read (offset, length) returns exactly the source bytes', async () => {
    const size = 5 * BLOCK_BYTES + 777;
    const data = noise(size, 11);
    const store = new MemoryStore();
    store.add('film', data);
    const cache = createCache({ policy: 'interval', budgetBytes: 16 * BLOCK_BYTES });
    const leader = createCachedSource(store, cache, 'film', () => 0);
    await leader.read(0, size);
    await fc.assert(
      fc.asyncProperty(fc.nat(size + 100), fc.nat(3 * BLOCK_BYTES), async (offset, length) => {
        const source = createCachedSource(store, cache, 'film', () => 1);
        const got = await source.read(offset, length);
        source.close();
        expectSameBytes(got, data.slice(offset, Math.min(size, offset + length)));
      }),
      { numRuns: 150 },
    );
  });

  it('never caches the partial last block of a live asset, and serves it fresh as it grows', async () => {
    const store = new MemoryStore();
    const first = noise(2 * BLOCK_BYTES + 500, 5);
    store.add('live', first);
    const cache = createCache({ policy: 'interval', budgetBytes: 64 * BLOCK_BYTES, prefixShare: 0 });
    const opts = { isLive: () => true };
    const leader = createCachedSource(store, cache, 'live', () => 0, opts);
    const follower = createCachedSource(store, cache, 'live', () => 0, opts);
    expect(leader.isLive()).toBe(true);
    expectSameBytes(await leader.read(0, first.length), first);
    expect(cache.heldBlocks('live')).toEqual([0, 1]);
    const more = noise(BLOCK_BYTES, 6);
    store.append('live', more);
    expect(follower.size()).toBe(first.length + more.length);
    const all = concat([first, more]);
    expectSameBytes(await follower.read(0, all.length), all);
    // Block 2 was not cached half-full: it comes from storage, now full, and so does the new block 3.
    expect(follower.storageBytes).toBe(BLOCK_BYTES + 500);
  });

  it('caches the short last block of a finished asset', async () => {
    const store = new MemoryStore();
    const data = noise(BLOCK_BYTES + 10, 8);
    store.add('vod', data);
    const cache = createCache({ policy: 'interval', budgetBytes: 64 * BLOCK_BYTES, prefixShare: 0 });
    const a = createCachedSource(store, cache, 'vod', () => 0);
    const b = createCachedSource(store, cache, 'vod', () => 0);
    await a.read(0, data.length);
    expectSameBytes(await b.read(0, data.length), data);
    expect(b.storageBytes).toBe(0);
  });

  it('reads past the end are short or empty', async () => {
    const store = new MemoryStore();
    store.add('vod', noise(1000));
    const source = createCachedSource(store, createCache({ policy: 'interval', budgetBytes: 0 }), 'vod', () => 0);
    expect((await source.read(900, 500)).length).toBe(100);
    expect((await source.read(1000, 10)).length).toBe(0);
    expect((await source.read(5000, 10)).length).toBe(0);
    await expect(source.read(-1, 10)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('close releases the stream once; reads after close are refused', async () => {
    const store = new MemoryStore();
    store.add('vod', noise(1000));
    const cache = createCache({ policy: 'interval', budgetBytes: 1 << 20 });
    const source = createCachedSource(store, cache, 'vod', () => 0);
    expect(cache.stats().openStreams).toBe(1);
    source.close();
    source.close();
    expect(cache.stats().openStreams).toBe(0);
    await expect(source.read(0, 10)).rejects.toBeInstanceOf(SourceClosedError);
  });

  it('an unknown asset is refused up front, and a storage failure reaches the caller', async () => {
    const store = new MemoryStore();
    store.add('vod', noise(1000));
    const cache = createCache({ policy: 'interval', budgetBytes: 1 << 20 });
    expect(() => createCachedSource(store, cache, 'nope', () => 0)).toThrow(UnknownAssetError);
    const source = createCachedSource(store, cache, 'vod', () => 0);
    store.failReads = true;
    await expect(source.read(0, 10)).rejects.toThrow('disk on fire');
    expect(cache.usedBytes).toBe(0);
  });
});
