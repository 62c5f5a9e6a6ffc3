// Tells a viewer that cannot keep up from one that is merely paced: blocked on it most of the time, yet under half the bitrate.

/** Share of the media bitrate under which a backpressured viewer counts as slow. */
export const SLOW_FRACTION = 0.5;
/** Share of a watchdog interval the sender must spend waiting on the viewer to call it slow. */
export const SLOW_BLOCKED_SHARE = 0.8;

export interface SlowSample {
  /** ms */
  now: number;
  bytesSent: number;
  /** Total ms the sender has waited on the viewer so far. */
  blockedMs: number;
  streaming: boolean;
  bitrateBps: number | undefined;
}

/** Fed one sample per watchdog tick; pure otherwise (the caller passes `now`). */
export class SlowViewerWatch {
  #mark: SlowSample | null = null;
  #since: number | null = null;

  /**
   * How long (ms) the viewer has been too slow without a break: every interval since then, the
   * sender mostly waited on the viewer and still sent under SLOW_FRACTION of the bitrate.
   * Pauses, pacing and an unknown bitrate reset it.
   */
  slowFor(s: SlowSample): number {
    const prev = this.#mark;
    this.#mark = s;
    const dt = prev ? s.now - prev.now : 0;
    const slow =
      prev !== null &&
      dt > 0 &&
      prev.streaming &&
      s.streaming &&
      s.bitrateBps !== undefined &&
      s.blockedMs - prev.blockedMs >= SLOW_BLOCKED_SHARE * dt &&
      ((s.bytesSent - prev.bytesSent) * 8 * 1000) / dt < SLOW_FRACTION * s.bitrateBps;
    if (!prev || !slow) {
      this.#since = null;
      return 0;
    }
    this.#since ??= prev.now;
    return s.now - this.#since;
  }
}
