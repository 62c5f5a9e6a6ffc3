// Smaller renditions of stored video assets for adaptive playback: ffmpeg re-encodes each one to VP8 + Opus as
// `<id>__<h>p.webm` beside the source, a keyframe every RENDITION_GOP_S seconds of media time in every rendition,
// so their keyframe Clusters start at the same times. One ffmpeg at a time, at low CPU priority, in the background.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseRenditionId, renditionId } from '../../signaling/protocol/ids.js';
import type { AssetInfo } from '../../signaling/protocol/types.js';
import { diesWithServer } from './child-lifeline.js';
import { DISK_REFUSED_LINE, diskRefused, freeBytes, SpaceWait } from './disk-room.js';

/** The rungs a source can get (only those below its own height): picture height and video bitrate ceiling. */
export const RENDITION_LADDER: readonly { heightPx: number; videoBps: number }[] = [
  { heightPx: 144, videoBps: 150_000 },
  { heightPx: 240, videoBps: 300_000 },
  { heightPx: 360, videoBps: 600_000 },
  { heightPx: 480, videoBps: 1_000_000 },
  { heightPx: 720, videoBps: 2_000_000 },
  { heightPx: 1080, videoBps: 4_000_000 },
];
/** A keyframe (and so a Cluster) starts at every multiple of this in each rendition (seconds). */
export const RENDITION_GOP_S = 2;
/** Opus bitrate of every rendition (bits per second). */
export const RENDITION_AUDIO_BPS = 64_000;
/** No rendition gets less video bitrate than this (bits per second). */
const MIN_VIDEO_BPS = 50_000;
/** One ffmpeg run may take this long plus RENDITION_TIMEOUT_PER_MEDIA_S_MS per second of media, then it is killed. */
export const RENDITION_TIMEOUT_BASE_MS = 60_000;
export const RENDITION_TIMEOUT_PER_MEDIA_S_MS = 5_000;
/** `nice` level of ffmpeg: viewers' delivery comes first. */
export const RENDITION_NICE = 15;
/**
 * Free space a rendition leaves on its disk beyond its own estimated size (bytes): broadcasts written to the same
 * disk come first (an encode that filled it would fail their copy here with `disk-full`).
 */
export const RENDITION_FREE_RESERVE_BYTES = 64 * 1024 * 1024;
/** After a rendition ran out of disk, or found too little of it, no encode starts for this long (ms); the job waits. */
export const RENDITION_NO_SPACE_RETRY_MS = 30_000;

/** One stored asset as the storage scan sees it. */
export interface ScannedAsset {
  info: AssetInfo;
  path: string;
  /** Identifies this version of the file: a version that failed is not tried again. */
  version: string;
  /** The file's modification time (ms); absent: taken as current. */
  mtimeMs?: number;
}

/** One rendition to make. */
export interface RenditionJob {
  /** The rendition's asset id. */
  id: string;
  source: string;
  sourcePath: string;
  heightPx: number;
  videoBps: number;
  durationMs: number;
  version: string;
}

/** What the maker is doing, for /api/status and the dashboard. */
export interface RenditionStatus {
  running: { id: string; source: string; heightPx: number; progress: number } | null;
  queued: number;
  made: number;
  failed: number;
}

export interface RenditionMakerOptions {
  /** ffmpeg binary; default `ffmpeg` from PATH. */
  ffmpeg?: string;
  /** Prefix the command with `nice -n RENDITION_NICE`; default true. */
  nice?: boolean;
  /** A rendition was written (the next storage scan lists it). */
  made?: (job: RenditionJob) => void;
  failed?: (job: RenditionJob, message: string) => void;
  /** A rendition whose source left storage was removed (the next storage scan drops it). */
  removed?: (id: string, source: string) => void;
  /** The disk lacked room for it (ffmpeg's ENOSPC, or too little free space to start): it is tried again after `retryMs`. */
  deferred?: (job: RenditionJob, message: string) => void;
  /** Free bytes on the disk holding `dir` (undefined: unknown, go ahead); default `statfs`. */
  freeBytes?: (dir: string) => Promise<number | undefined>;
  /** Free space to leave beyond the rendition's estimated size (bytes); default RENDITION_FREE_RESERVE_BYTES. */
  reserveBytes?: number;
  /** How long no encode starts after the disk lacked room (ms); default RENDITION_NO_SPACE_RETRY_MS. */
  retryMs?: number;
}

/** An upper estimate of a rendition's size (bytes): its video at the peak rate ffmpeg allows (1.5×), and its audio. */
export function renditionBytesEstimate(job: Pick<RenditionJob, 'videoBps' | 'durationMs'>): number {
  return Math.ceil(((job.videoBps * 1.5 + RENDITION_AUDIO_BPS) * job.durationMs) / 8_000);
}

/**
 * The renditions `asset` lacks (pure): video assets that are not renditions themselves, with a known
 * height and duration, get one per rung below their height; the bitrate is the rung's, but never more
 * than the source spends per picture line, so a rendition is never larger than what it stands in for.
 */
export function missingRenditions(asset: ScannedAsset, has: (id: string) => boolean): RenditionJob[] {
  const { info } = asset;
  if (!info.heightPx || !info.durationMs || parseRenditionId(info.id) || !info.mime.startsWith('video/')) return [];
  const jobs: RenditionJob[] = [];
  for (const rung of RENDITION_LADDER) {
    if (rung.heightPx >= info.heightPx) break;
    const id = renditionId(info.id, rung.heightPx);
    if (!id || has(id)) continue;
    const sourceVideoBps = info.bitrateBps === undefined ? Infinity : info.bitrateBps - RENDITION_AUDIO_BPS;
    const scaled = Math.round((sourceVideoBps * rung.heightPx) / info.heightPx);
    jobs.push({
      id,
      source: info.id,
      sourcePath: asset.path,
      heightPx: rung.heightPx,
      videoBps: Math.max(MIN_VIDEO_BPS, Math.min(rung.videoBps, scaled)),
      durationMs: info.durationMs,
      version: asset.version,
    });
  }
  return jobs;
}

/**
 * Makes renditions one at a time, those of the shortest source first. `scanned` is called with the whole catalog after each storage scan;
 * a rendition queued, running, or failed for the same source version is not queued again, so the
 * queue and the failure list hold at most one entry per rung of each stored asset.
 */
export class RenditionMaker {
  readonly #o: RenditionMakerOptions;
  readonly #queued = new Map<string, RenditionJob>();
  readonly #failed = new Map<string, string>();
  /** The source version each rendition was made from here: never made twice from one version (a source dated in the future). */
  readonly #madeFor = new Map<string, string>();
  #running: { job: RenditionJob; progress: number } | null = null;
  /** Renditions whose source left, being removed. */
  readonly #removing = new Set<string>();
  /** The asset ids of the last scan. */
  #stored = new Set<string>();
  #made = 0;
  #missing = false;
  #closed = false;
  #child: ReturnType<typeof spawn> | null = null;
  /** No encode starts for a while after the disk lacked room for one. */
  readonly #spaceWait: SpaceWait<RenditionJob>;

  constructor(opts: RenditionMakerOptions = {}) {
    this.#o = opts;
    this.#spaceWait = new SpaceWait(this.#queued, opts.retryMs ?? RENDITION_NO_SPACE_RETRY_MS, () => this.#next());
  }

  scanned(assets: ScannedAsset[]): void {
    if (this.#closed) return;
    this.#removeOrphans(assets);
    if (this.#missing) return;
    const mtimes = new Map(assets.map((a) => [a.info.id, a.mtimeMs ?? Infinity]));
    const wanted = new Set<string>();
    for (const asset of assets) {
      // A rendition older than its source (the source was replaced) is made again.
      const fresh = (id: string) => mtimes.has(id) && mtimes.get(id)! >= (asset.mtimeMs ?? -Infinity);
      for (const job of missingRenditions(asset, fresh)) {
        wanted.add(job.id);
        if (this.#failed.get(job.id) === job.version || this.#madeFor.get(job.id) === job.version || this.#running?.job.id === job.id)
          continue;
        this.#queued.set(job.id, job);
      }
    }
    // A source that left storage (or got the rendition from elsewhere) takes its waiting jobs with it.
    for (const id of this.#queued.keys()) if (!wanted.has(id)) this.#queued.delete(id);
    for (const id of this.#failed.keys()) if (!wanted.has(id)) this.#failed.delete(id);
    for (const id of this.#madeFor.keys()) if (!wanted.has(id)) this.#madeFor.delete(id);
    this.#next();
  }

  status(): RenditionStatus {
    const r = this.#running;
    return {
      running: r && { id: r.job.id, source: r.job.source, heightPx: r.job.heightPx, progress: r.progress },
      queued: this.#queued.size,
      made: this.#made,
      failed: this.#failed.size,
    };
  }

  /** Stops the running ffmpeg (its partial output is removed) and drops the queue. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#queued.clear();
    this.#spaceWait.cancel();
    this.#child?.kill('SIGKILL');
  }

  /**
   * A rendition is made here from the source beside it: once the source leaves storage, the rendition goes
   * too (else it would stay listed as an asset of its own, made from nothing anyone can see). Only when this
   * process saw the source go — stored in one scan, gone in the next: a file named like a rendition whose
   * source was never here (an operator's `lecture__720p.webm` on its own) is never touched.
   */
  #removeOrphans(assets: ScannedAsset[]): void {
    const ids = new Set(assets.map((a) => a.info.id));
    const before = this.#stored;
    this.#stored = ids;
    for (const a of assets) {
      const r = parseRenditionId(a.info.id);
      if (!r || ids.has(r.source) || !before.has(r.source) || this.#removing.has(a.info.id)) continue;
      this.#removing.add(a.info.id);
      void rm(a.path, { force: true })
        .then(() => this.#o.removed?.(a.info.id, r.source))
        .catch(() => undefined)
        .finally(() => this.#removing.delete(a.info.id));
    }
  }

  #next(): void {
    if (this.#running !== null || this.#closed || this.#spaceWait.waiting) return;
    // The shortest source first: a long upload does not hold back every clip behind it.
    let job: RenditionJob | undefined;
    for (const j of this.#queued.values()) if (!job || j.durationMs < job.durationMs) job = j;
    if (!job) return;
    this.#queued.delete(job.id);
    this.#running = { job, progress: 0 };
    void this.#make(job).finally(() => {
      this.#running = null;
      this.#child = null;
      this.#next();
    });
  }

  async #make(job: RenditionJob): Promise<void> {
    // Not `.webm` while it is written: the storage scan must not list half a file.
    const target = join(dirname(job.sourcePath), `${job.id}.webm`);
    const tmp = `${target}.${process.pid}.tmp`;
    try {
      const free = await (this.#o.freeBytes ?? freeBytes)(dirname(target));
      const needed = renditionBytesEstimate(job) + (this.#o.reserveBytes ?? RENDITION_FREE_RESERVE_BYTES);
      if (free !== undefined && free < needed)
        throw Object.assign(new Error(`${free} bytes free on its disk, ${needed} wanted (its size and the reserve for broadcasts)`), {
          code: 'ENOSPC',
        });
      await this.#run(job, tmp);
      if (this.#closed) throw new Error('closed');
      // Made again from a source that only looks newer (a `touch`, a copy that kept the bytes): ffmpeg wrote the
      // same bytes. Keep the file its viewers read (a rename would give it a new inode, and a changed rendition
      // ends their sessions); mark it fresh instead.
      if (await sameBytes(tmp, target)) {
        await rm(tmp, { force: true });
        const now = new Date();
        await utimes(target, now, now);
      } else await rename(tmp, target);
      this.#made++;
      this.#madeFor.set(job.id, job.version);
      this.#o.made?.(job);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (this.#closed) return;
      const e = err as NodeJS.ErrnoException;
      if (diskRefused(e)) {
        const why = this.#spaceWait.defer(job, e.message);
        return this.#o.deferred?.(job, why);
      }
      if (e.code === 'ENOENT') {
        // No ffmpeg (or nice) on this machine: assets simply have no renditions.
        this.#missing = true;
        this.#queued.clear();
      } else this.#failed.set(job.id, job.version);
      this.#o.failed?.(job, e.message);
    }
  }

  #run(job: RenditionJob, out: string): Promise<void> {
    const args = ffmpegArgs(job, out);
    // Killed with this server even by SIGKILL: else it would go on writing a partial file the next run removes and redoes.
    const [bin, argv] =
      this.#o.nice === false
        ? diesWithServer(this.#o.ffmpeg ?? 'ffmpeg', args)
        : diesWithServer('nice', ['-n', String(RENDITION_NICE), this.#o.ffmpeg ?? 'ffmpeg', ...args]);
    const timeoutMs = RENDITION_TIMEOUT_BASE_MS + (job.durationMs / 1000) * RENDITION_TIMEOUT_PER_MEDIA_S_MS;
    return new Promise((resolve, reject) => {
      const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.#child = child;
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        // `-progress pipe:1` writes key=value lines; out_time_us is how far the output has got.
        const m = /out_time_us=(\d+)/g;
        for (let hit = m.exec(text); hit; hit = m.exec(text)) {
          if (this.#running) this.#running.progress = Math.min(1, Number(hit[1]) / 1000 / job.durationMs);
        }
      });
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr = (stderr + text).slice(-2_000);
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve();
        // nice (and setpriv) run ffmpeg by exec: a missing ffmpeg is their exit 127.
        if (code === 127) return reject(Object.assign(new Error(`${this.#o.ffmpeg ?? 'ffmpeg'} not found`), { code: 'ENOENT' }));
        // ffmpeg says why a write failed on some earlier line ("Conversion failed!" comes last): that line is the detail.
        const refused = DISK_REFUSED_LINE.exec(stderr);
        const detail = refused ? refused[0].trim() : stderr.trim().split('\n').slice(-2).join(' ');
        reject(new Error(`ffmpeg ${signal ? `killed (${signal})` : `exited ${code}`}${detail ? `: ${detail}` : ''}`));
      });
    });
  }
}

/**
 * A rendition, a poster or a sidecar being written: `<id>.webm.<pid>.tmp`, `<id>.poster.jpg.<pid>.tmp`,
 * `<id>.json.<pid>.tmp` (storage/sidecar.ts).
 */
const PARTIAL_OUTPUT = /^(?:(.+__\d+p)\.webm|.+\.poster\.jpg|.+\.json)\.(\d+)\.tmp$/;

/**
 * Removes the partial renditions, posters and sidecars in `dir` left by a server process that died while writing
 * them (a clean stop removes its own; ffmpeg dies with its server, child-lifeline.ts). None is ever listed (only the
 * finished file is renamed to its name); the job is queued again by the next scan. One written by a process still
 * running (another server on the same directory) is left alone. Resolves with the names removed.
 */
export async function removePartialOutputs(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = PARTIAL_OUTPUT.exec(name);
    if (!m || (m[1] !== undefined && !parseRenditionId(m[1])) || processAlive(Number(m[2]))) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The ffmpeg command line for one rendition (VP8 realtime, keyframes forced on the GOP grid, Opus). */
export function ffmpegArgs(job: RenditionJob, out: string): string[] {
  const kbps = Math.round(job.videoBps / 1000);
  return [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-nostats', '-y', '-progress', 'pipe:1'],
    ...['-i', job.sourcePath, '-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn'],
    // A fixed speed (negative cpu-used) on one thread, bit-exact muxing: every server that holds the source makes the
    // same bytes, so a viewer failing over mid-rendition resumes at its byte offset on another server's copy.
    ...['-vf', `scale=-2:${job.heightPx}`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '-8', '-threads', '1'],
    ...['-b:v', `${kbps}k`, '-maxrate', `${Math.round(kbps * 1.5)}k`, '-bufsize', `${kbps * 2}k`],
    // Only the forced keyframes: every rendition's Clusters then start at the same media times.
    ...['-g', '100000', '-force_key_frames', `expr:gte(t,n_forced*${RENDITION_GOP_S})`],
    ...['-c:a', 'libopus', '-b:a', String(RENDITION_AUDIO_BPS), '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact'],
    ...['-f', 'webm', out],
  ];
}

/** Whether two files hold the same bytes (false when either is missing). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  if (!sa || !sb || sa.size !== sb.size) return false;
  const digest = (f: string) =>
    new Promise<string>((resolve, reject) => {
      const h = createHash('sha256');
      createReadStream(f)
        .on('data', (d) => h.update(d))
        .on('end', () => resolve(h.digest('hex')))
        .on('error', reject);
    });
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  return da === db;
}

/** The ids of `source`'s renditions among `assets`, tallest first (every rendition is VP8, whatever its source's codec). */
export function renditionsAmong(assets: readonly Pick<AssetInfo, 'id'>[], source: string): string[] {
  return assets
    .flatMap((a) => {
      const r = parseRenditionId(a.id);
      return r?.source === source ? [{ id: a.id, heightPx: r.heightPx }] : [];
    })
    .sort((a, b) => b.heightPx - a.heightPx)
    .map((r) => r.id);
}
