// Third-party WHIP/WHEP clients for tests: GStreamer's webrtcbin driven by scripts/whip-publish.py and scripts/whep-play.py, and ffprobe.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { diesWithParent } from '../../node-app/storage/child-lifeline.js';
import { ROOT } from './cluster.js';

/** Debian's python3, which has the GStreamer bindings (a python3 first on PATH may not). */
export const PYTHON = '/usr/bin/python3';

/** True when PYTHON can import GStreamer's WebRTC bindings; CI installs them (.ci/run). */
export const HAVE_GI =
  spawnSync(
    PYTHON,
    ['-c', "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); from gi.repository import Gst, GstWebRTC"],
    { encoding: 'utf8' },
  ).status === 0;

export const GI_PACKAGES =
  'python3-gi python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice gstreamer1.0-plugins-good gstreamer1.0-plugins-bad';

/** Two ingest servers, Paris (the primary for `?location=Paris`) and New York, their ICE on loopback. */
export const INGEST_PAIR = Object.freeze([
  { id: 'par-1', region: 'eu-west', lat: 48.86, lon: 2.35, ingest: true, assets: [], extraArgs: ['--rtc-bind-address', '127.0.0.1'] },
  { id: 'nyc-1', region: 'us-east', lat: 40.71, lon: -74.0, ingest: true, assets: [], extraArgs: ['--rtc-bind-address', '127.0.0.1'] },
]);

export interface Run {
  code: number | null;
  stderr: string;
}

/** A script still running this long after its --seconds is killed (its stderr says so), s. */
const OVERRUN_S = 40;

/**
 * A running script: resolves when it exits; `stop()` ends a broadcast before its seconds are up (SIGINT: DELETE, exit);
 * `kill()` (SIGKILL) for an afterAll, so that a failed test leaves no publisher behind.
 */
export type Running = Promise<Run> & { stop(): void; kill(): void };

function run(script: string, args: string[], seconds: number): Running {
  // Dies with this test process: a failed test (or a killed worker) left publishers sending for minutes, their
  // own end hung on a hub that was gone (five found running at load 25 after failed runs).
  const [bin, argv] = diesWithParent(process.pid, PYTHON, [join(ROOT, 'scripts', script), ...args, '--ice-address', '127.0.0.1']);
  const child = spawn(bin, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(
    () => {
      stderr += `\n[${script} still running ${OVERRUN_S} s after its ${seconds} s: killed]`;
      child.kill('SIGKILL');
    },
    (seconds + OVERRUN_S) * 1000,
  );
  const exited = new Promise<Run>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
  return Object.assign(exited, { stop: () => void child.kill('SIGINT'), kill: () => void child.kill('SIGKILL') });
}

/** scripts/whip-publish.py: publishes a test pattern and a tone for `seconds` (or until `stop()`), ICE on loopback only. */
export function whipPublish(url: string, token: string, seconds: number, codec: 'vp8' | 'h264' = 'vp8'): Running {
  return run('whip-publish.py', ['--url', url, '--token', token, '--seconds', String(seconds), '--codec', codec], seconds);
}

/** scripts/whep-play.py: plays over WHEP for `seconds` into `out` (WebM; Matroska for H.264). */
export function whepPlay(url: string, out: string, seconds: number, codec: 'vp8' | 'h264' = 'vp8'): Promise<Run> {
  return run('whep-play.py', ['--url', url, '--out', out, '--seconds', String(seconds), '--codec', codec], seconds);
}

/** Frames per codec, as ffprobe decodes them. */
export function ffprobeFrames(file: string): Record<string, number> {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  const streams = (JSON.parse(r.stdout) as { streams: { codec_name: string; nb_read_frames: string }[] }).streams;
  return Object.fromEntries(streams.map((s) => [s.codec_name, Number(s.nb_read_frames)]));
}

/** Video packet times, s, in file order. */
export function videoPts(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map(Number);
}

/** What an unfinished VP8 + Opus copy (`.part`) held when its primary died: its bytes, those bytes as a file, its frames. */
export interface CopyBefore {
  bytes: Buffer;
  file: string;
  frames: Record<string, number>;
}

/** Takes what `part` holds now (a resume must keep it unchanged); it holds some video already. */
export function copyBefore(part: string): CopyBefore {
  const bytes = readFileSync(part);
  const file = join(mkdtempSync(join(tmpdir(), 'whip-before-')), 'before.webm');
  writeFileSync(file, bytes);
  const frames = ffprobeFrames(file);
  expect(frames.vp8).toBeGreaterThan(30);
  return { bytes, file, frames };
}

/**
 * The finished copy `stored` of a broadcast resumed for 4 s after `before` was taken: those bytes unchanged at its
 * start, at least 4 s more video (30 fps) and sound (50 Opus packets a second) less connection setup, one timeline.
 */
export function expectResumedCopy(stored: string, before: CopyBefore): void {
  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  expect(existsSync(stored)).toBe(true);
  const after = readFileSync(stored);
  expect(sha256(after.subarray(0, before.bytes.byteLength))).toBe(sha256(before.bytes));
  const frames = ffprobeFrames(stored);
  expect(frames.vp8).toBeGreaterThan(before.frames.vp8! + 60);
  expect(frames.opus).toBeGreaterThan((before.frames.opus ?? 0) + 100);
  // The resumed frames come after the stored ones.
  const pts = videoPts(stored);
  expect(pts.length).toBe(frames.vp8);
  for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
  expect(pts.at(-1)! - pts[0]!).toBeGreaterThan(videoPts(before.file).at(-1)! - pts[0]! + 3);
}
