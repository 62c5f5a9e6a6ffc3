// Poster pictures for stored assets: ffmpeg decodes the first keyframe (a WebM starts with one) into a
// small JPEG beside the media (`<id>.poster.jpg`). One ffmpeg at a time, in the background, bounded in time.
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { diesWithServer } from './child-lifeline.js';
import { diskRefused, SpaceWait } from './disk-room.js';

/** A poster is at most this wide (px); the height keeps the picture's aspect ratio. */
export const POSTER_WIDTH_PX = 480;
/** One ffmpeg run is killed after this long (ms). */
export const POSTER_TIMEOUT_MS = 20_000;
/** File suffix of posters, after the asset id. */
export const POSTER_SUFFIX = '.poster.jpg';
/** After the disk refused a poster (full, over quota, read-only), no poster is made for this long (ms); the job waits. */
export const POSTER_NO_SPACE_RETRY_MS = 30_000;

export interface PosterJob {
  id: string;
  /** The media file. */
  source: string;
  /** Where the poster goes. */
  target: string;
  /** Identifies this version of the media (inode and size): a failed version is not tried again. */
  version: string;
}

export interface PosterMakerOptions {
  /** ffmpeg binary; default `ffmpeg` from PATH. */
  ffmpeg?: string;
  timeoutMs?: number;
  /** A poster was written (the next storage scan reports it). */
  made?: (id: string) => void;
  /** ffmpeg failed for one asset, or is missing (then no poster is tried again). */
  failed?: (id: string, message: string) => void;
  /** The disk refused the poster (full, over quota, read-only): it is tried again after `retryMs`. */
  deferred?: (id: string, message: string) => void;
  /** How long no poster is made after the disk refused one (ms); default POSTER_NO_SPACE_RETRY_MS. */
  retryMs?: number;
}

/**
 * Makes posters one at a time. `want` is called for every asset without a poster on each scan; a
 * job already queued, running, or failed for the same media version is not queued again, so the
 * queue and the failure list hold at most one entry per stored asset (`forget` drops removed ones).
 */
export class PosterMaker {
  readonly #o: PosterMakerOptions;
  readonly #queued = new Map<string, PosterJob>();
  /** Media versions ffmpeg could not make a poster from, by asset id. */
  readonly #failed = new Map<string, string>();
  #running: PosterJob | null = null;
  #missing = false;
  #closed = false;
  /** No poster is made for a while after the disk refused one. */
  readonly #spaceWait: SpaceWait<PosterJob>;
  /** Kills the ffmpeg running when the maker closes: a server that stops (or fails to start) leaves none behind. */
  readonly #stop = new AbortController();

  constructor(opts: PosterMakerOptions = {}) {
    this.#o = opts;
    this.#spaceWait = new SpaceWait(this.#queued, opts.retryMs ?? POSTER_NO_SPACE_RETRY_MS, () => this.#next());
  }

  want(job: PosterJob): void {
    if (this.#closed || this.#missing || this.#failed.get(job.id) === job.version) return;
    // Another version of the media (the file was replaced) replaces a queued job, and follows a running one.
    if ((this.#running?.id === job.id && this.#running.version === job.version) || this.#queued.get(job.id)?.version === job.version)
      return;
    this.#queued.set(job.id, job);
    this.#next();
  }

  /** The asset left storage: drop what is known about it. */
  forget(id: string): void {
    this.#queued.delete(id);
    this.#failed.delete(id);
  }

  /** Jobs waiting (not counting the one running). */
  get pending(): number {
    return this.#queued.size;
  }

  close(): void {
    this.#closed = true;
    this.#queued.clear();
    this.#spaceWait.cancel();
    this.#stop.abort();
  }

  #next(): void {
    if (this.#running !== null || this.#closed || this.#spaceWait.waiting) return;
    const first = this.#queued.values().next();
    if (first.done) return;
    const job = first.value;
    this.#queued.delete(job.id);
    this.#running = job;
    void this.#make(job).finally(() => {
      this.#running = null;
      this.#next();
    });
  }

  async #make(job: PosterJob): Promise<void> {
    const tmp = `${job.target}.${process.pid}.tmp`;
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-i', job.source, '-map', '0:v:0', '-an', '-sn', '-frames:v', '1'],
      ...['-vf', `scale='min(${POSTER_WIDTH_PX},iw)':-2`, '-q:v', '4', '-f', 'image2', '-c:v', 'mjpeg', tmp],
    ];
    try {
      await run(this.#o.ffmpeg ?? 'ffmpeg', args, this.#o.timeoutMs ?? POSTER_TIMEOUT_MS, this.#stop.signal);
      await rename(tmp, job.target);
      this.#o.made?.(job.id);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (this.#closed) return;
      // The source went away meanwhile (a live stream's `.part`, finalized under its own name): not this media's
      // failure, nothing to say; the stored file is asked for by its own version.
      if (!existsSync(job.source)) return;
      const e = err as NodeJS.ErrnoException;
      if (diskRefused(e)) {
        const why = this.#spaceWait.defer(job, e.message);
        return this.#o.deferred?.(job.id, why);
      }
      if (e.code === 'ENOENT' && e.syscall?.startsWith('spawn')) {
        // No ffmpeg on this machine: assets simply have no poster.
        this.#missing = true;
        this.#queued.clear();
      } else this.#failed.set(job.id, job.version);
      this.#o.failed?.(job.id, e.message);
    }
  }
}

function run(command: string, commandArgs: string[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  // Killed with this server even by SIGKILL (the timeout and the abort below only work while it lives).
  const [bin, args] = diesWithServer(command, commandArgs);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, signal }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      // setpriv runs ffmpeg by exec: a missing ffmpeg is its exit 127, told as the spawn's own ENOENT would be.
      if (bin !== command && (err.code as unknown) === 127)
        return reject(Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT', syscall: `spawn ${command}` }));
      const detail = String(stderr).trim().split('\n').slice(-2).join(' ');
      reject(Object.assign(err, { message: `${err.message}${detail ? `: ${detail}` : ''}` }));
    });
  });
}
