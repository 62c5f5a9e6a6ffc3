// Whether this server's storage takes new files, checked in the background and reported in its load: the director
// sends no broadcast to a server whose storage would refuse it (gone, read-only, immutable, full).
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { freeBytes } from '../storage/disk-room.js';

/** Fewer free bytes than this and the storage counts as full for a new broadcast. */
export const MIN_INGEST_FREE_BYTES = 64 * 1024;
/** How often the storage is checked, ms. */
export const STORAGE_CHECK_MS = 2_000;

/** True when `dir` exists, this process may create files in it, and its filesystem has MIN_INGEST_FREE_BYTES free. */
export async function storageTakesFiles(dir: string): Promise<boolean> {
  try {
    // W_OK answers EROFS on a read-only mount, EPERM on an immutable directory (root included), ENOENT when it is gone.
    await access(dir, constants.W_OK);
    return ((await freeBytes(dir)) ?? 0) >= MIN_INGEST_FREE_BYTES;
  } catch {
    return false;
  }
}

/** The last answer of `check` for the storage directory, asked every `everyMs`. */
export class StorageWritable {
  #ok = true;
  #busy = false;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #run: () => void;

  constructor(dir: string, check: (dir: string) => Promise<boolean> = storageTakesFiles, everyMs = STORAGE_CHECK_MS) {
    this.#run = () => {
      if (this.#busy) return;
      this.#busy = true;
      void check(dir)
        .then((ok) => (this.#ok = ok))
        .finally(() => (this.#busy = false));
    };
    // The first check waits a period: the server makes a missing storage directory as it starts.
    this.#timer = setInterval(this.#run, everyMs);
    this.#timer.unref();
  }

  /** The storage took new files when last checked (true until a check says otherwise). */
  get ok(): boolean {
    return this.#ok;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
