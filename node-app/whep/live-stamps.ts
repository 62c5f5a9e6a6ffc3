// The send times of a live WHEP player's frames: the catch-up from the join keyframe to the live edge goes out at once, compressed in RTP time, so the player shows the edge at once instead of replaying the catch-up in real time.
import type { MediaKind } from './media-frame.js';

/** RTP time between two video frames of the catch-up (s): one 90-kHz tick, so each stays a frame of its own. */
export const CATCH_UP_FRAME_S = 1 / 90_000;

/**
 * A live player joins at the newest keyframe Cluster, up to a keyframe interval behind the edge, and a
 * WebRTC receiver plays frames at the pace of their RTP times from the first one: sent with their file
 * times, the catch-up would keep the player that far behind for good (2.2 s glass to glass against the data
 * channel's 0.9 s in the peers bench). So no frame is stamped later than the wall time since the first frame:
 * a frame read ahead of that (the catch-up, read as fast as the file gives it) is stamped at the wall time
 * and every later frame is shifted by the same amount, which keeps the broadcaster's own spacing once at the
 * edge. Catch-up video frames are one tick apart (each must be decoded: the later ones refer to it; the
 * receiver shows the last); catch-up audio would go back in RTP time, so it is dropped (audio needs no
 * keyframe). Pure but for the clock it is given.
 */
export class LiveStamps {
  readonly #now: () => number;
  #start: { wallMs: number; mediaS: number } | undefined;
  /** How far the stamps run behind the file times (s); grows while catching up. */
  #shiftS = 0;
  readonly #last: Record<MediaKind, number> = { video: -Infinity, audio: -Infinity };

  /** `now`: a monotonic clock, ms. */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** The time to send a frame of `kind` at file time `timestampS` with (s, on the file's scale), or undefined to drop it. */
  stamp(kind: MediaKind, timestampS: number): number | undefined {
    const wallMs = this.#now();
    this.#start ??= { wallMs, mediaS: timestampS };
    const elapsedS = (wallMs - this.#start.wallMs) / 1000;
    let t = timestampS - this.#start.mediaS - this.#shiftS;
    if (t > elapsedS) {
      this.#shiftS += t - elapsedS;
      t = elapsedS;
    }
    const last = this.#last[kind];
    if (kind === 'video') t = Math.max(t, last + CATCH_UP_FRAME_S);
    else if (t <= last) return undefined;
    this.#last[kind] = t;
    return this.#start.mediaS + t;
  }
}
