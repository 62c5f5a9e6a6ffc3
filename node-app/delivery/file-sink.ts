// Where `baton watch --out FILE` writes: a temporary file beside FILE, renamed
// onto it only once every byte is on disk, with backpressure towards the viewer.
import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CodedError } from '../../common/coded-error.js';

/** What the sink holds off while the disk catches up (the Viewer: pause/resume). */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export class FileSinkError extends CodedError<'write-failed'> {
  override readonly name = 'FileSinkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('write-failed', message, options);
  }
}

/**
 * A failed or abandoned watch leaves no file (and an existing FILE untouched):
 * a 0-byte or truncated `--out` would look like a result.
 */
export class FileSink {
  readonly path: string;
  readonly tempPath: string;
  /** Rejects with a FileSinkError when the disk refuses a write. */
  readonly failed: Promise<never>;
  readonly #file: WriteStream;
  #waitingForDrain = false;
  #settled = false;

  /** Throws a FileSinkError when `path` is a directory (nothing is watched, nothing is written). */
  constructor(path: string) {
    // Else the whole asset would be written beside it (`--out /tmp`: into `/`) and then fail to take its place.
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new FileSinkError(`${path} is a directory: give a file name`);
    this.path = path;
    this.tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.part`);
    this.#file = createWriteStream(this.tempPath);
    this.failed = new Promise<never>((_, reject) =>
      this.#file.once('error', (err) => reject(new FileSinkError(err.message, { cause: err }))),
    );
    this.failed.catch(() => undefined);
  }

  /**
   * Queues `bytes`. When the stream's buffer is full the source is paused until
   * it drains: one wait at a time, however many chunks were already in flight
   * (a `once('drain')` per chunk piled up listeners).
   */
  write(bytes: Uint8Array, source: Pausable): void {
    // Bytes still arriving after a discard (an abandoned watch closing down) go nowhere.
    if (this.#settled) return;
    if (this.#file.write(bytes) || this.#waitingForDrain) return;
    this.#waitingForDrain = true;
    source.pause();
    this.#file.once('drain', () => {
      this.#waitingForDrain = false;
      source.resume();
    });
  }

  /** Flushes, closes and moves the file to `path`. */
  async commit(): Promise<void> {
    this.#settled = true;
    await new Promise<void>((done, fail) =>
      this.#file.end((err?: Error | null) => (err ? fail(new FileSinkError(err.message, { cause: err })) : done())),
    );
    try {
      await rename(this.tempPath, this.path);
    } catch (err) {
      // The temporary file must not stay behind (a directory put at `path` meanwhile, a read-only mount).
      await rm(this.tempPath, { force: true });
      throw new FileSinkError((err as Error).message, { cause: err });
    }
  }

  /** Closes and deletes the temporary file (idempotent). */
  async discard(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await new Promise<void>((done) => (this.#file.closed ? done() : this.#file.destroy().once('close', () => done())));
    await rm(this.tempPath, { force: true });
  }
}
