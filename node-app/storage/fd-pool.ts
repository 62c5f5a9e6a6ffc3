// A small LRU of open read-only file handles, so hot assets skip open() per read.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Default number of files kept open at once. */
export const DEFAULT_MAX_OPEN_FILES = 16;

interface Entry {
  handle: Promise<FileHandle>;
  refs: number;
  /** Close as soon as the last user lets go (evicted, invalidated, or pool closed). */
  doomed: boolean;
}

export class FdPool {
  readonly #max: number;
  /** Map order is recency order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();

  constructor(maxOpenFiles = DEFAULT_MAX_OPEN_FILES) {
    this.#max = Math.max(1, Math.floor(maxOpenFiles));
  }

  /** Number of handles open or opening now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Run `fn` with an open handle for `path`. Symlinks are refused (O_NOFOLLOW), so a
   * link planted inside the root cannot point a read outside it.
   */
  async use<T>(path: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.#entries.get(path);
    if (entry) {
      this.#entries.delete(path);
    } else {
      entry = { handle: open(path, constants.O_RDONLY | constants.O_NOFOLLOW), refs: 0, doomed: false };
      // A failed open must not stay cached, and must not surface as an unhandled rejection.
      entry.handle.catch(() => {
        if (this.#entries.get(path) === entry) this.#entries.delete(path);
      });
    }
    this.#entries.set(path, entry);
    entry.refs++;
    this.#evict();
    try {
      return await fn(await entry.handle);
    } finally {
      entry.refs--;
      if (entry.doomed && entry.refs === 0) closeQuietly(entry);
      // Handles kept open past the limit while busy are trimmed once they are idle.
      else this.#evict();
    }
  }

  /** Forget `path` (the file was replaced or removed); its handle closes once idle. */
  invalidate(path: string): void {
    const entry = this.#entries.get(path);
    if (!entry) return;
    this.#entries.delete(path);
    this.#doom(entry);
  }

  /** Close every handle (in-flight reads finish first). */
  close(): void {
    for (const entry of this.#entries.values()) this.#doom(entry);
    this.#entries.clear();
  }

  #evict(): void {
    if (this.#entries.size <= this.#max) return;
    for (const [path, entry] of this.#entries) {
      if (this.#entries.size <= this.#max) break;
      // Busy handles stay; the pool may briefly exceed its size under concurrency.
      if (entry.refs > 0) continue;
      this.#entries.delete(path);
      this.#doom(entry);
    }
  }

  #doom(entry: Entry): void {
    entry.doomed = true;
    if (entry.refs === 0) closeQuietly(entry);
  }
}

function closeQuietly(entry: Entry): void {
  entry.handle.then(
    (fh) => fh.close().catch(() => undefined),
    () => undefined,
  );
}
