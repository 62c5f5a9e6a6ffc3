// Frames late at a headless viewer, the same rule for every peer: a video frame is late when it arrives more than
// LATE_AFTER_MS after the schedule its stream set so far — the smallest (arrival − media time) seen — which is what a
// player holding LATE_AFTER_MS of jitter buffer would show late or skip. Frames are RTP frames (Janus, WHEP: one per
// timestamp, complete at the marker bit), WebM video blocks (Baton's data channel), or an HLS segment's frames.

/** The jitter buffer a live player holds (ms): a frame later than that behind its schedule is late. */
export const LATE_AFTER_MS = 200;
/** A viewer count is held when at most this share of frames is late. */
export const MAX_LATE_SHARE = 0.01;

export interface LateCount {
  frames: number;
  late: number;
}

export class LateFrames {
  #base = Number.POSITIVE_INFINITY;
  #frames = 0;
  #late = 0;

  /** One frame of media time `mediaMs` (from any origin, the same for the stream) arrived at `arrivalMs`. */
  frame(mediaMs: number, arrivalMs = performance.now(), count = 1): void {
    const d = arrivalMs - mediaMs;
    if (d < this.#base) this.#base = d;
    this.#frames += count;
    if (d - this.#base > LATE_AFTER_MS) this.#late += count;
  }

  count(): LateCount {
    return { frames: this.#frames, late: this.#late };
  }
}

/** RTP's 90 kHz video clock. */
const VIDEO_CLOCK_HZ = 90_000;

/** Counts the video frames of one RTP track: a frame per timestamp, arrived with its marker-bit packet. */
export class RtpVideoFrames {
  readonly #late: LateFrames;
  #ts0: number | undefined;
  #lastTs: number | undefined;

  constructor(late: LateFrames) {
    this.#late = late;
  }

  packet(b: Uint8Array, arrivalMs = performance.now()): void {
    // RTCP (payload types 200–206 over the same track) and anything that is not RTP version 2 are not frames.
    if (b.byteLength < 12 || b[0]! >> 6 !== 2 || (b[1]! >= 192 && b[1]! <= 223)) return;
    if ((b[1]! & 0x80) === 0) return;
    const ts = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    // Only a frame newer than every frame counted (RTP timestamps compared as serial numbers): a retransmitted packet of
    // a frame already counted (a NACK answered) is no new frame, even when newer frames came between (until
    // 2026-12-06 only a resend right after its original was skipped, and a loaded WHEP viewer counted up to 6× the
    // stream's frame rate).
    if (this.#lastTs !== undefined) {
      const ahead = (ts - this.#lastTs) >>> 0;
      if (ahead === 0 || ahead >= 0x80000000) return;
    }
    this.#lastTs = ts;
    this.#ts0 ??= ts;
    this.#late.frame((((ts - this.#ts0) >>> 0) / VIDEO_CLOCK_HZ) * 1000, arrivalMs);
  }
}

/** The share of late frames over several viewers' counts, and whether every viewer got frames. */
export function lateShare(counts: LateCount[]): { frames: number; late: number; share: number } {
  const frames = counts.reduce((a, c) => a + c.frames, 0);
  const late = counts.reduce((a, c) => a + c.late, 0);
  return { frames, late, share: frames ? late / frames : 1 };
}
