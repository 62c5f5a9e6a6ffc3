// Which MediaRecorder output the browser can make, and the recorder a broadcast runs.

/** MediaRecorder timeslice: each chunk holds this much media, so a chunk reaches the servers this soon (ms). */
export const RECORDER_TIMESLICE_MS = 200;
/**
 * Keyframe spacing asked of the encoder (ms). A viewer joining a live stream
 * starts at a Cluster boundary, and Chrome's muxer opens a Cluster at each
 * keyframe: this bounds how long a late joiner waits for a picture.
 */
export const KEYFRAME_INTERVAL_MS = 2_000;
/** Video bitrate asked of the encoder: sharp 720p for a camera or a screen, at about 1 MB per 3 s (bits/s). */
export const VIDEO_BITRATE_BPS = 2_500_000;
export const AUDIO_BITRATE_BPS = 128_000;
/** Share of the servers' bitrate quota the encoder may use, leaving room for its overshoot. */
const QUOTA_HEADROOM = 0.8;

/** A recorder output type and the MSE type string viewers will play it with. */
export interface RecorderType {
  recorder: string;
  mse: string;
  audio: boolean;
}

/** VP8 first: the cheapest to encode in real time and decodable everywhere; VP9 when VP8 is missing. */
const RECORDER_TYPES: readonly RecorderType[] = [
  { recorder: 'video/webm;codecs=vp8,opus', mse: 'video/webm; codecs="vp8, opus"', audio: true },
  { recorder: 'video/webm;codecs=vp9,opus', mse: 'video/webm; codecs="vp9, opus"', audio: true },
  { recorder: 'video/webm;codecs=vp8', mse: 'video/webm; codecs="vp8"', audio: false },
  { recorder: 'video/webm;codecs=vp9', mse: 'video/webm; codecs="vp9"', audio: false },
];

export function pickRecorderType(hasAudio: boolean): RecorderType | null {
  if (typeof MediaRecorder === 'undefined') return null;
  const wanted = hasAudio ? RECORDER_TYPES : RECORDER_TYPES.filter((t) => !t.audio);
  return wanted.find((t) => MediaRecorder.isTypeSupported(t.recorder)) ?? null;
}

/** The video bitrate to ask for under the servers' quota (bits/s), if they gave one. */
export function videoBitrateFor(quotaBps: number | undefined): number {
  return quotaBps ? Math.min(VIDEO_BITRATE_BPS, Math.max(100_000, quotaBps * QUOTA_HEADROOM - AUDIO_BITRATE_BPS)) : VIDEO_BITRATE_BPS;
}

/** A recorder of `tracks` in `type`; throws what the browser throws when it refuses. */
export function createRecorder(tracks: MediaStreamTrack[], type: RecorderType, quotaBps: number | undefined): MediaRecorder {
  return new MediaRecorder(new MediaStream(tracks), {
    mimeType: type.recorder,
    videoBitsPerSecond: videoBitrateFor(quotaBps),
    audioBitsPerSecond: AUDIO_BITRATE_BPS,
    videoKeyFrameIntervalDuration: KEYFRAME_INTERVAL_MS,
  } as MediaRecorderOptions);
}
