// A long test asset for the benches, made once with ffmpeg and kept between runs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/e2e/helpers/browser.js';

/** Where generated bench media is kept between runs (git-ignored). */
const MEDIA_CACHE_DIR = join(ROOT, 'var/bench-media');

/**
 * VP8 + Opus, a keyframe every 2 s, 160×120 at 15 fps, `seconds` long: long, yet quick to make (kept in
 * var/bench-media). Returns the storage directory that holds `<id>.webm`.
 */
export function ensureLongAsset(id: string, seconds: number): string {
  const dir = join(MEDIA_CACHE_DIR, id);
  const file = join(dir, `${id}.webm`);
  if (existsSync(file)) return dir;
  mkdirSync(dir, { recursive: true });
  const tmp = join(MEDIA_CACHE_DIR, `${id}.tmp.webm`);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=160x120:rate=15',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=330:sample_rate=48000',
    '-t',
    String(seconds),
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-g',
    '30',
    '-keyint_min',
    '30',
    '-b:v',
    '150k',
    '-c:a',
    'libopus',
    '-b:a',
    '24k',
    tmp,
  ]);
  renameSync(tmp, file);
  return dir;
}
