// A plain LRU block cache behind the same interface, for comparison with the interval cache.
import { BLOCK_BYTES } from '../contracts.js';
import { assertAssetId, assertBlockIndex, assertBytes, assertTime, ChangeEmitter, isCompleteBlock } from './cache-shared.js';
import { CachePolicy, type BlockCache, type CacheStats, type StreamHandle, type StreamInfo } from './types.js';

interface Entry {
  readonly assetId: string;
  readonly block: number;
  readonly bytes: Uint8Array;
  /** Towards the least recently used end. */
  older: Entry | null;
  newer: Entry | null;
}

export interface LruCacheOptions {
  budgetBytes: number;
  blockBytes?: number;
}

/**
 * Keeps every complete block a stream reads from storage, and on a full
 * budget drops the least recently read blocks first. Streams, seeks and
 * intervals play no part: this is the baseline the interval cache must beat.
 */
export class LruCache implements BlockCache {
  readonly policy = CachePolicy.lru;
  readonly budgetBytes: number;
  readonly blockBytes: number;
  readonly #emitter = new ChangeEmitter();
  readonly #assets = new Map<string, Map<number, Entry>>();
  /** The open handles of each asset (as many as open streams), so that `forget` can close them. */
  readonly #open = new Map<string, Set<{ open: boolean }>>();
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
  #usedBytes = 0;
  #peakBytes = 0;
  #openStreams = 0;
  #hits = 0;
  #misses = 0;
  #hitBytes = 0;
  #missBytes = 0;
  #inserted = 0;
  #dropped = 0;
  #refused = 0;

  constructor(opts: LruCacheOptions) {
    this.budgetBytes = opts.budgetBytes;
    this.blockBytes = opts.blockBytes ?? BLOCK_BYTES;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  openStream(assetId: string, now: number, info: StreamInfo = {}): StreamHandle {
    assertAssetId(assetId);
    assertTime(now);
    const streamInfo = { ...info };
    const state = { open: true };
    let handles = this.#open.get(assetId);
    if (!handles) this.#open.set(assetId, (handles = new Set()));
    handles.add(state);
    this.#openStreams++;
    return {
      assetId,
      get: (block, t) => {
        if (!state.open) return undefined;
        this.#emitter.begin();
        try {
          return this.#get(assetId, block, t);
        } finally {
          this.#emitter.end(this.#holdsFn);
        }
      },
      put: (block, bytes, t) => {
        if (!state.open) return false;
        this.#emitter.begin();
        try {
          return this.#put(assetId, block, bytes, t, streamInfo);
        } finally {
          this.#emitter.end(this.#holdsFn);
        }
      },
      seek: (block, t) => {
        assertBlockIndex(block);
        assertTime(t);
      },
      close: (t) => {
        assertTime(t);
        if (!state.open) return;
        state.open = false;
        this.#openStreams--;
        this.#unlisted(assetId, state);
      },
    };
  }

  holds(assetId: string): boolean {
    return this.#assets.has(assetId);
  }

  assets(): string[] {
    return [...this.#assets.keys()];
  }

  heldBlocks(assetId: string): number[] {
    const blocks = this.#assets.get(assetId);
    return blocks ? [...blocks.keys()].sort((a, b) => a - b) : [];
  }

  forget(assetId: string): void {
    assertAssetId(assetId);
    const handles = this.#open.get(assetId);
    for (const state of handles ?? []) state.open = false;
    this.#openStreams -= handles?.size ?? 0;
    this.#open.delete(assetId);
    const blocks = this.#assets.get(assetId);
    if (!blocks) return;
    this.#emitter.begin();
    try {
      for (const e of [...blocks.values()]) this.#remove(e);
    } finally {
      this.#emitter.end(this.#holdsFn);
    }
  }

  onChange(listener: (change: { added: string[]; removed: string[] }) => void): () => void {
    return this.#emitter.on(listener);
  }

  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitBytes: this.#hitBytes,
      missBytes: this.#missBytes,
      insertedBlocks: this.#inserted,
      droppedBlocks: this.#dropped,
      refusedBlocks: this.#refused,
      peakBytes: this.#peakBytes,
      openStreams: this.#openStreams,
      pairs: 0,
      cachedPairs: 0,
      listenerErrors: this.#emitter.errors,
    };
  }

  readonly #holdsFn = (id: string): boolean => this.holds(id);

  #get(assetId: string, block: number, now: number): Uint8Array | undefined {
    assertBlockIndex(block);
    assertTime(now);
    const e = this.#assets.get(assetId)?.get(block);
    if (!e) {
      this.#misses++;
      return undefined;
    }
    this.#touch(e);
    this.#hits++;
    this.#hitBytes += e.bytes.length;
    return e.bytes;
  }

  #put(assetId: string, block: number, bytes: Uint8Array, now: number, info: StreamInfo): boolean {
    assertBlockIndex(block);
    assertBytes(bytes);
    assertTime(now);
    this.#missBytes += bytes.length;
    const existing = this.#assets.get(assetId)?.get(block);
    if (existing) {
      this.#touch(existing);
      return true;
    }
    if (!isCompleteBlock(block, bytes.length, this.blockBytes, info)) return false;
    if (bytes.length > this.budgetBytes) {
      this.#refused++;
      return false;
    }
    while (this.#usedBytes + bytes.length > this.budgetBytes) this.#remove(this.#oldest!);
    let blocks = this.#assets.get(assetId);
    if (!blocks) {
      blocks = new Map();
      this.#assets.set(assetId, blocks);
      this.#emitter.flip(assetId);
    }
    const e: Entry = { assetId, block, bytes, older: this.#newest, newer: null };
    if (this.#newest) this.#newest.newer = e;
    else this.#oldest = e;
    this.#newest = e;
    blocks.set(block, e);
    this.#usedBytes += bytes.length;
    if (this.#usedBytes > this.#peakBytes) this.#peakBytes = this.#usedBytes;
    this.#inserted++;
    return true;
  }

  #unlisted(assetId: string, state: { open: boolean }): void {
    const handles = this.#open.get(assetId);
    if (!handles) return;
    handles.delete(state);
    if (handles.size === 0) this.#open.delete(assetId);
  }

  #touch(e: Entry): void {
    if (e === this.#newest) return;
    this.#unlink(e);
    e.older = this.#newest;
    e.newer = null;
    this.#newest!.newer = e;
    this.#newest = e;
  }

  #remove(e: Entry): void {
    this.#unlink(e);
    const blocks = this.#assets.get(e.assetId)!;
    blocks.delete(e.block);
    if (blocks.size === 0) {
      this.#assets.delete(e.assetId);
      this.#emitter.flip(e.assetId);
    }
    this.#usedBytes -= e.bytes.length;
    this.#dropped++;
  }

  #unlink(e: Entry): void {
    if (e.older) e.older.newer = e.newer;
    else this.#oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.#newest = e.older;
    e.older = e.newer = null;
  }
}
