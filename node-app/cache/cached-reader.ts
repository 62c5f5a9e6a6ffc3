// A viewer's ByteSource: each block from the cache when held, else from storage and offered to the cache.
import type { BlockStore, ByteSource } from '../contracts.js';
import { AssetChangedError, AssetGoneError, CacheArgumentError, SourceClosedError, UnknownAssetError } from './errors.js';
import type { BlockCache, StreamHandle } from './types.js';

/** A ByteSource that also says where its bytes came from. */
export interface CachedSource extends ByteSource {
  /** Bytes this source read from storage (a block read in several chunks counts once). */
  readonly storageBytes: number;
  /** Bytes this source delivered from the cache. */
  readonly cacheBytes: number;
  /**
   * The file under the id has the inode and size this source opened on (true when the store cannot tell). Asked when
   * a rescan found the file's bytes changed: a rewrite in place that kept both passes every read's check until that
   * rescan, so bytes sent since the rewrite may be the new file's.
   */
  sameInodeAndSize(): boolean;
}

export interface CachedSourceOptions {
  /**
   * Whether the asset is still being ingested. Default: never. A live asset's
   * short last block is never cached, since more bytes of it are still to come.
   */
  isLive?: () => boolean;
}

/**
 * Opens a stream on `cache` for `assetId` and serves reads block by block
 * (`cache.blockBytes`, `BLOCK_BYTES` by default). Storage reads are whole
 * blocks, so each one can be offered to the cache. Throws `UnknownAssetError`
 * when the store does not have the asset.
 */
export function createCachedSource(
  store: BlockStore,
  cache: BlockCache,
  assetId: string,
  now: () => number,
  opts: CachedSourceOptions = {},
): CachedSource {
  const info = store.stat(assetId);
  if (!info) throw new UnknownAssetError(assetId);
  const isLive = opts.isLive ?? (() => false);
  const handle = cache.openStream(assetId, now(), { assetBytes: info.bytes, bitrateBps: info.bitrateBps, live: isLive() });
  return new CachedReader(store, cache.blockBytes, handle, now, isLive, store.identity?.(assetId), info.bytes);
}

class CachedReader implements CachedSource {
  readonly assetId: string;
  readonly #store: BlockStore;
  readonly #blockBytes: number;
  readonly #handle: StreamHandle;
  readonly #now: () => number;
  readonly #isLive: () => boolean;
  #closed = false;
  /** The last block read from storage: chunked reads within one block hit storage once. */
  #lastBlock = -1;
  #lastBytes: Uint8Array = new Uint8Array(0);
  #storageBytes = 0;
  #cacheBytes = 0;
  /** The file this source started on (`BlockStore.identity`; undefined: the store cannot tell). */
  readonly #identity: string | undefined;
  /** The size at open: while the identity (which holds the size) is unchanged, the size is too. */
  readonly #size: number;

  constructor(
    store: BlockStore,
    blockBytes: number,
    handle: StreamHandle,
    now: () => number,
    isLive: () => boolean,
    identity: string | undefined,
    size: number,
  ) {
    this.assetId = handle.assetId;
    this.#identity = identity;
    this.#size = size;
    this.#store = store;
    this.#blockBytes = blockBytes;
    this.#handle = handle;
    this.#now = now;
    this.#isLive = isLive;
  }

  get storageBytes(): number {
    return this.#storageBytes;
  }

  get cacheBytes(): number {
    return this.#cacheBytes;
  }

  /**
   * The asset's size. With an identity it is the size at open: another size is another identity, which the next
   * `read` refuses (never a short 'end'); a store that cannot tell is asked each time.
   */
  size(): number {
    return this.#identity !== undefined ? this.#size : (this.#store.stat(this.assetId)?.bytes ?? 0);
  }

  /** Another file is under the id (an atomic replace, a delete and a new file, a rewrite in place) since this source opened. */
  #changed(): boolean {
    return this.#identity !== undefined && this.#store.identity?.(this.assetId) !== this.#identity;
  }

  sameInodeAndSize(): boolean {
    const inodeAndSize = (identity: string | undefined) => identity?.split(':', 2).join(':');
    return this.#identity === undefined || inodeAndSize(this.#store.identity?.(this.assetId)) === inodeAndSize(this.#identity);
  }

  isLive(): boolean {
    return this.#isLive();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new SourceClosedError(this.assetId);
    if (this.#changed()) {
      // Its last block is the old file's: nothing of it may be served again.
      this.#lastBlock = -1;
      this.#lastBytes = new Uint8Array(0);
      // No file under the id at all: no other file's bytes can follow, so the viewer may resume on another copy.
      if (this.#store.identity?.(this.assetId) === undefined) throw new AssetGoneError(this.assetId);
      throw new AssetChangedError(this.assetId);
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new CacheArgumentError(`read(${offset}, ${length}): offset and length must be non-negative integers`);
    }
    const end = Math.min(this.size(), offset + length);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    const B = this.#blockBytes;
    let written = 0;
    for (let block = Math.floor(offset / B); block * B < end; block++) {
      const blockStart = block * B;
      const from = Math.max(offset, blockStart) - blockStart;
      const to = Math.min(end, blockStart + B) - blockStart;
      let bytes: Uint8Array | undefined;
      if (block === this.#lastBlock && this.#lastBytes.length >= to) {
        bytes = this.#lastBytes;
      } else {
        bytes = this.#closed ? undefined : this.#handle.get(block, this.#now());
        // A held block is complete; a shorter one (a mis-declared live asset) cannot serve this range.
        if (bytes && bytes.length >= to) {
          this.#cacheBytes += to - from;
        } else {
          bytes = await this.#store.read(this.assetId, blockStart, B);
          this.#storageBytes += bytes.length;
          this.#lastBlock = block;
          this.#lastBytes = bytes;
          if (!this.#closed) this.#handle.put(block, bytes, this.#now());
        }
      }
      const upto = Math.min(to, bytes.length);
      if (upto <= from) break; // the asset ends here
      out.set(bytes.subarray(from, upto), written);
      written += upto - from;
      if (upto < to) break;
    }
    return written === out.length ? out : out.slice(0, written);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lastBytes = new Uint8Array(0);
    this.#handle.close(this.#now());
  }
}
