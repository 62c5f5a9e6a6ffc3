// When the disk refuses a write (full, over quota, read-only): how to tell, how much room is left, and the pause
// the background makers (posters, renditions) take before trying the refused job again.
import { statfs } from 'node:fs/promises';

/** A line of ffmpeg's (or Node's) error text saying the disk refused a write. */
export const DISK_REFUSED_LINE = /^.*(?:No space left on device|Disk quota exceeded|Read-only file system).*$/m;

/**
 * The disk refused the write — full (ENOSPC), over quota (EDQUOT) or read-only (EROFS) —, by the error's code or by
 * what ffmpeg wrote on stderr: the storage's trouble, which an operator fixes, not the media's.
 */
export function diskRefused(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code === 'ENOSPC' || e?.code === 'EDQUOT' || e?.code === 'EROFS' || DISK_REFUSED_LINE.test(e?.message ?? '');
}

/** Bytes an unprivileged writer may still use on the filesystem holding `dir`; undefined when it cannot be read. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * A background maker's pause after the disk refused one of its jobs: the job goes back in the maker's queue (unless a
 * newer version of it was queued meanwhile) and no job starts until `retryMs` later, when `resume` runs. The job is
 * not given up on (a full disk is not the media's fault), and the maker does not fill the disk again at once.
 */
export class SpaceWait<J extends { readonly id: string }> {
  readonly #queued: Map<string, J>;
  readonly #retryMs: number;
  readonly #resume: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(queued: Map<string, J>, retryMs: number, resume: () => void) {
    this.#queued = queued;
    this.#retryMs = retryMs;
    this.#resume = resume;
  }

  /** No job may start now. */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  /** `job` was refused by the disk with `message`: it waits. Returns what to tell the operator. */
  defer(job: J, message: string): string {
    if (!this.#queued.has(job.id)) this.#queued.set(job.id, job);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#resume();
    }, this.#retryMs);
    this.#timer.unref?.();
    // ffmpeg's whole command line and output may be in `message`: the line that says why is enough.
    const why = DISK_REFUSED_LINE.exec(message)?.[0].trim() ?? message;
    return `${why}; tried again in ${this.#retryMs / 1000} s`;
  }

  /** The maker closed: no retry. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
