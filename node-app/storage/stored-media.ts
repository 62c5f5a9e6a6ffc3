// What a stored file is to Baton: its probe (the head, and the duration a recording's last block gives) and whether
// it is media Baton plays at all.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DURATION_TAIL_BYTES, lastBlockTimeMs } from './webm-duration.js';
import { unplayableTracks } from './playable-tracks.js';
import { PROBE_HEAD_BYTES, probeWebm, type WebmProbe } from './webm-probe.js';

/**
 * Why a file is not listed, or undefined when it is WebM or Matroska media Baton plays: an EBML header, Tracks
 * within the first PROBE_HEAD_BYTES, and only tracks the player and WHEP take (`unplayableTracks`). (A file still being copied
 * is not looked at here at all: DiskStore lists a file once it held still across a rescan.)
 */
export function notPlayable(probe: WebmProbe, size: number): string | undefined {
  if (size === 0) return 'an empty file';
  if (!probe.complete)
    return `no EBML header with Tracks in its first ${Math.min(size, PROBE_HEAD_BYTES)} bytes (not WebM, or still being copied)`;
  // The rule a broadcast's head is judged by: a track the player cannot take fails the whole file in MSE.
  return unplayableTracks(probe);
}

/** Extensions of video files people drop into storage that Baton does not list (lower case), besides `.webm` and `.mkv`. */
const OTHER_VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mp4',
  '.m4v',
  '.mov',
  '.avi',
  '.flv',
  '.ogv',
  '.mpg',
  '.mpeg',
  '.wmv',
  '.3gp',
]);

/**
 * Why a file that is not `<id>.webm` but looks like a video someone meant to serve (`talk.mp4`, `show.mkv`,
 * `clip.WEBM`) is not listed, with what to do; undefined for every other name (sidecars, posters, `.part`, `.tmp`,
 * `x.webm.new`, notes), which storage may hold without a word.
 */
export function notAnAssetFileName(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const stem = name.slice(0, dot);
  const ext = name.slice(dot).toLowerCase();
  if (ext === '.webm')
    return name.endsWith('.webm') ? undefined : `only names ending in lower-case .webm are listed: rename it ${stem}.webm`;
  const only = 'only <id>.webm files are listed';
  const convert = convertToWebm(name);
  if (ext === '.mkv')
    return `${only}: Matroska with VP8, VP9, AV1 or H.264 and Opus or Vorbis plays once renamed ${stem}.webm; convert any other (\`${convert}\`)`;
  if (OTHER_VIDEO_EXTENSIONS.has(ext)) return `${only}: convert it (\`${convert}\`)`;
  return undefined;
}

/** The ffmpeg command that makes a WebM (VP8 + Opus) of the file at `path`, beside it. */
export function convertToWebm(path: string): string {
  const dot = path.lastIndexOf('.');
  const stem = dot > path.lastIndexOf('/') + 1 ? path.slice(0, dot) : path;
  return `ffmpeg -i ${path} -c:v libvpx -b:v 1M -c:a libopus ${stem}.webm`;
}

/** A last block this much before the header's Duration means the file was cut short (a frame or two is normal). */
const CUT_SHORT_MS = 1_000;

/** The head's probe of a stored file, with its duration read from its last block when the head has none or the file was cut short. */
export async function probeFile(path: string, size: number): Promise<WebmProbe> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const head = new Uint8Array(Math.min(size, PROBE_HEAD_BYTES));
    const { bytesRead } = await fh.read(head, 0, head.byteLength, 0);
    const probe = probeWebm(head.subarray(0, bytesRead));
    if (probe.complete) {
      // A recording (MediaRecorder, a finalized broadcast) has no Duration: its last block says how long it is. A file
      // cut short (a copy interrupted, a recording stopped hard) keeps the Duration its header was written with: its
      // last block says how much of it there is (a 6-s clip cut at 2 s was listed at 0:06 and a third of its bitrate).
      const tail = new Uint8Array(Math.min(size, DURATION_TAIL_BYTES));
      const { bytesRead: tailRead } = await fh.read(tail, 0, tail.byteLength, size - tail.byteLength);
      const ms = lastBlockTimeMs(tail.subarray(0, tailRead), probe.timecodeScaleNs);
      if (ms !== undefined && ms > 0 && (probe.durationMs === undefined || ms < probe.durationMs - CUT_SHORT_MS)) probe.durationMs = ms;
    }
    return probe;
  } finally {
    await fh.close();
  }
}
