// Test clips made with ffmpeg from its test pattern and a sine tone (lavfi): WebM, video + Opus, a given keyframe interval.
import { execFileSync } from 'node:child_process';

export interface TestClip {
  seconds: number;
  /** `WxH`. */
  size: string;
  /** `libvpx` (VP8) or `libvpx-vp9`. */
  codec: 'libvpx' | 'libvpx-vp9';
  /** Frames between keyframes. */
  gop: number;
  videoKbps: number;
  fps?: number;
}

/** Writes the clip to `path` (a few seconds of CPU for a minute of 360p). */
export function makeTestClip(path: string, c: TestClip): void {
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${c.size}:rate=${c.fps ?? 15}`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000', '-t', String(c.seconds)],
    ...['-c:v', c.codec, '-deadline', 'realtime', '-cpu-used', '8', ...(c.codec === 'libvpx-vp9' ? ['-row-mt', '1'] : [])],
    ...['-g', String(c.gop), '-b:v', `${c.videoKbps}k`, '-c:a', 'libopus', '-b:a', '48k', path],
  ]);
}

/** Copies a WebM as a broadcast's recording is stored (`-live 1`: no Cues, no Duration; its length is in its last block). */
export function remuxAsRecording(source: string, target: string): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', source, '-c', 'copy', '-f', 'webm', '-live', '1', target]);
}

/**
 * Writes `seconds` of a sine tone as Opus in WebM with a Cluster per `frameMs` frame, as a low-latency audio
 * publisher sends it (`-cluster_time_limit`); `live` drops the Cues and Duration as a stored recording has them.
 */
export function makeOpusClusterPerFrame(path: string, frameMs: number, seconds: number, live = false): void {
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${seconds}`],
    ...['-c:a', 'libopus', '-b:a', '32k', '-frame_duration', String(frameMs), '-cluster_time_limit', String(frameMs)],
    ...['-f', 'webm', ...(live ? ['-live', '1'] : []), path],
  ]);
}
