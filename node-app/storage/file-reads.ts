// Reading ranges of files through a bounded pool of open handles, one disk read per range however many ask for it.
import { StorageError, StorageErrorCode } from './errors.js';
import { FdPool } from './fd-pool.js';

export class FileReads {
  readonly #fds: FdPool;
  #bytesRead = 0;
  #closed = false;
  /**
   * Reads in flight, by file and range: a read of a range already being read waits for that one instead of reading
   * the disk again. Viewers who start an asset together (a flash crowd) miss the same blocks at the same moments;
   * without this each read them from disk (90 viewers of one 4.5 MB asset read 176 MB). At most one entry per read
   * in flight: each session has at most one (its pump awaits it), so sessions bound it.
   */
  readonly #inflight = new Map<string, Promise<Uint8Array>>();

  constructor(maxOpenFiles: number) {
    this.#fds = new FdPool(maxOpenFiles);
  }

  /** Bytes `shared` read from disk (once per range read concurrently). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Reads in flight now. */
  get inFlight(): number {
    return this.#inflight.size;
  }

  /**
   * Up to `length` bytes at `offset` (short past the end), read from disk once per range in flight and shared by
   * every caller of it (callers only read the bytes, never write them); counted in `bytesRead`.
   */
  shared(path: string, offset: number, length: number): Promise<Uint8Array> {
    const key = `${offset}:${length}:${path}`;
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const read = this.raw(path, offset, length)
      .then((bytes) => {
        this.#bytesRead += bytes.byteLength;
        return bytes;
      })
      .finally(() => {
        if (this.#inflight.get(key) === read) this.#inflight.delete(key);
      });
    this.#inflight.set(key, read);
    return read;
  }

  /**
   * The file at `path` is another now (replaced, rewritten, removed): its open handle is dropped, and a read of it
   * asked for from now on reads the disk again instead of joining one begun on the old file.
   */
  invalidate(path: string): void {
    this.#fds.invalidate(path);
    const suffix = `:${path}`;
    for (const key of this.#inflight.keys()) if (key.endsWith(suffix)) this.#inflight.delete(key);
  }

  /** A read of its own, not counted (a store's bookkeeping: indexing). */
  async raw(path: string, offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new StorageError(StorageErrorCode.closed, 'store is closed');
    const buf = new Uint8Array(length);
    let filled = 0;
    await this.#fds.use(path, async (fh) => {
      while (filled < length) {
        const { bytesRead } = await fh.read(buf, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    });
    return filled === length ? buf : buf.subarray(0, filled);
  }

  /** Closes the open handles; later reads reject with code `closed`. */
  close(): void {
    this.#closed = true;
    this.#fds.close();
  }
}
