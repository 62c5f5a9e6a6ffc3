// A block cache that never holds anything: the simulator's own cost, measured apart from the caches'.
import type { BlockCache, CacheOptions, StreamHandle } from '../node-app/cache/index.js';
/**
 * A cache that never holds anything (every read goes to storage): with it a
 * replay costs only the simulator, the state table and the policy, which is
 * how bench/README.md separates the simulator's cost from the cache's. Each
 * handle is one small object with its methods on the prototype, as the real
 * caches' are (closures would add objects to every block read and overstate
 * the simulator's own cost).
 */
export function nullCache(opts: CacheOptions): BlockCache {
  const blockBytes = opts.blockBytes ?? 64 * 1024;
  const counters = new NullCounters();
  return {
    policy: opts.policy,
    budgetBytes: opts.budgetBytes,
    usedBytes: 0,
    blockBytes,
    openStream: (assetId) => {
      counters.openStreams++;
      return new NullStream(assetId, counters);
    },
    holds: () => false,
    assets: () => [],
    heldBlocks: () => [],
    // Holds nothing, so there is nothing to drop.
    forget: () => undefined,
    onChange: () => () => undefined,
    stats: () => ({
      hits: 0,
      misses: 0,
      hitBytes: 0,
      missBytes: counters.missBytes,
      insertedBlocks: 0,
      droppedBlocks: 0,
      refusedBlocks: 0,
      peakBytes: 0,
      openStreams: counters.openStreams,
      pairs: 0,
      cachedPairs: 0,
      listenerErrors: 0,
    }),
  };
}

class NullCounters {
  missBytes = 0;
  openStreams = 0;
}

class NullStream implements StreamHandle {
  #open = true;

  constructor(
    readonly assetId: string,
    readonly counters: NullCounters,
  ) {}

  get(): undefined {
    return undefined;
  }

  put(_block: number, bytes: Uint8Array): boolean {
    if (this.#open) this.counters.missBytes += bytes.length;
    return false;
  }

  seek(): void {}

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.counters.openStreams--;
  }
}
