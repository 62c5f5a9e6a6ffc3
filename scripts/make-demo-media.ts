// Creates the demo test-pattern clips (WebM, MSE-playable) with ffmpeg, if they are missing.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AssetInfo } from '../signaling/protocol/types.js';
import { PROBE_HEAD_BYTES, mimeFor, probeWebm } from '../node-app/storage/webm-probe.js';
import { PROJECT_ROOT } from '../node-app/project-root.js';

/** One demo clip: what to render and how. */
export interface ClipSpec {
  id: string;
  durationS: number;
  /** lavfi video source, without duration. */
  video: string;
  /** lavfi audio source, without duration. */
  audio: string;
  videoArgs: string[];
  /** The sidecar `baton demo` puts beside the clip (title, description). */
  sidecar?: { title: string; description: string };
}

const FPS = 30;
const SIZE = '640x360';

// A keyframe every second plus a 1 s cluster limit: every cluster starts at a
// keyframe, so late joiners and failover can start at any cluster boundary.
const GOP_ARGS = ['-g', String(FPS), '-keyint_min', String(FPS)];
// Realtime + cpu-used 8 renders each clip in a couple of seconds.
const FAST_ARGS = ['-deadline', 'realtime', '-cpu-used', '8'];

export const DEMO_CLIPS: readonly ClipSpec[] = Object.freeze([
  {
    id: 'demo-testsrc',
    durationS: 20,
    video: `testsrc=size=${SIZE}:rate=${FPS}`,
    audio: 'sine=frequency=440:sample_rate=48000',
    videoArgs: ['-c:v', 'libvpx', '-b:v', '1M', ...FAST_ARGS],
    sidecar: { title: 'Test pattern', description: 'ffmpeg testsrc: colour bars, a gradient and a frame counter, with a 440 Hz tone.' },
  },
  {
    id: 'demo-mandelbrot',
    durationS: 20,
    video: `mandelbrot=size=${SIZE}:rate=${FPS}`,
    audio: 'sine=frequency=330:sample_rate=48000',
    videoArgs: ['-c:v', 'libvpx-vp9', '-b:v', '1M', '-row-mt', '1', ...FAST_ARGS],
    sidecar: { title: 'Mandelbrot zoom', description: 'A dive into the Mandelbrot set, in VP9, with a 330 Hz tone.' },
  },
  {
    id: 'demo-smpte',
    durationS: 30,
    video: `smptebars=size=${SIZE}:rate=${FPS}`,
    audio: 'sine=frequency=1000:sample_rate=48000',
    videoArgs: ['-c:v', 'libvpx', '-b:v', '1M', ...FAST_ARGS],
    sidecar: { title: 'SMPTE colour bars', description: 'The broadcast test card, with a 1 kHz tone.' },
  },
]);

export interface DemoMediaOptions {
  /** ffmpeg binary; default `ffmpeg` from PATH. */
  ffmpeg?: string;
  /** Re-render even when the file exists. Default false. */
  force?: boolean;
  /** Per-clip render limit, ms. Default 120 000. */
  timeoutMs?: number;
}

export interface DemoClip extends AssetInfo {
  path: string;
  /** True if this call rendered it (false: it was already there). */
  created: boolean;
}

/** Makes sure `dir` holds every demo clip; renders the missing ones in parallel. */
/** Where the repository keeps the demo clips it ships. */
export const SHIPPED_DIR = join(PROJECT_ROOT, 'media/demo');

export async function ensureDemoMedia(dir: string, opts: DemoMediaOptions = {}): Promise<DemoClip[]> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  return Promise.all(DEMO_CLIPS.map((clip) => ensureClip(root, clip, opts)));
}

async function ensureClip(root: string, clip: ClipSpec, opts: DemoMediaOptions): Promise<DemoClip> {
  const path = join(root, `${clip.id}.webm`);
  let created = false;
  if (opts.force || !(await isNonEmptyFile(path))) {
    // Dot-prefixed temp names never match the asset id pattern, so a store
    // scanning the directory cannot pick up a half-written clip.
    const tmp = join(root, `.${clip.id}.${randomBytes(4).toString('hex')}.tmp`);
    const shipped = join(SHIPPED_DIR, `${clip.id}.webm`);
    try {
      // The repository ships the clips (so a machine without ffmpeg can run the
      // demo); ffmpeg remakes them when they are missing or on --force.
      if (!opts.force && resolve(SHIPPED_DIR) !== root && (await isNonEmptyFile(shipped))) await copyFile(shipped, tmp);
      else await renderClip(clip, tmp, opts);
      await rename(tmp, path);
      created = true;
    } finally {
      await rm(tmp, { force: true });
    }
  }
  return { ...(await describe(clip.id, path)), path, created };
}

/** Renders one clip to `out` with ffmpeg (tests make clips of their own shape with it). */
export function renderClip(clip: ClipSpec, out: string, opts: DemoMediaOptions = {}): Promise<void> {
  return runFfmpeg(opts.ffmpeg ?? 'ffmpeg', ffmpegArgs(clip, out), opts.timeoutMs ?? 120_000);
}

function ffmpegArgs(clip: ClipSpec, out: string): string[] {
  const d = String(clip.durationS);
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-t',
    d,
    '-i',
    clip.video,
    '-f',
    'lavfi',
    '-t',
    d,
    '-i',
    clip.audio,
    ...clip.videoArgs,
    ...GOP_ARGS,
    '-c:a',
    'libopus',
    '-b:a',
    '64k',
    '-cluster_time_limit',
    '1000',
    '-cluster_size_limit',
    String(512 * 1024),
    '-f',
    'webm',
    out,
  ];
}

async function describe(id: string, path: string): Promise<AssetInfo> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = new Uint8Array(Math.min(size, PROBE_HEAD_BYTES));
    await fh.read(head, 0, head.byteLength, 0);
    const probe = probeWebm(head);
    const info: AssetInfo = { id, bytes: size, mime: mimeFor(probe) };
    if (probe.durationMs) {
      info.durationMs = probe.durationMs;
      info.bitrateBps = Math.round((size * 8 * 1000) / probe.durationMs);
    }
    return info;
  } finally {
    await fh.close();
  }
}

async function isNonEmptyFile(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    return s.isFile() && s.size > 0;
  } catch {
    return false;
  }
}

function runFfmpeg(bin: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 8192) stderr += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`${bin} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(0, 2000)}`));
    });
  });
}

// Runnable: `node bin/run-ts.js scripts/make-demo-media.ts [dir] [--force]`.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--')) ?? 'var/media';
  ensureDemoMedia(dir, { force: args.includes('--force') }).then(
    (clips) => console.log(JSON.stringify(clips, null, 2)),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
