// A viewer's own cap on its delivery rate (the `limit` control frame): each frame sent books the link for its
// size at the capped rate, and the next waits until the link is free again. Pure: the clock is passed in.

/** Unused link time carried over, so a limit never turns into a burst after an idle spell (ms). */
const MAX_IDLE_CREDIT_MS = 250;

export class LinkLimit {
  #bps: number | null = null;
  /** When the link is free again for the next frame (ms on the session's clock). */
  #freeAt = 0;

  /** The limit in bits per second, or null for none. */
  get bps(): number | null {
    return this.#bps;
  }

  /**
   * A new limit. A link that had none starts free now (no idle credit); one that had a limit keeps what was booked:
   * the `limit` frame a player sends at connect (the limit its watch carried already) used to reset the link to free,
   * and the frame after the first went out at once.
   */
  set(bps: number | null, nowMs: number): void {
    if (this.#bps === null) this.#freeAt = Math.max(this.#freeAt, nowMs);
    this.#bps = bps;
  }

  /** How long to wait before sending the next frame (0: now). */
  delayMs(nowMs: number): number {
    return this.#bps === null ? 0 : Math.max(0, this.#freeAt - nowMs);
  }

  /** `bytes` were sent at `nowMs`. */
  record(nowMs: number, bytes: number): void {
    if (this.#bps === null) return;
    this.#freeAt = Math.max(this.#freeAt, nowMs - MAX_IDLE_CREDIT_MS) + (bytes * 8 * 1000) / this.#bps;
  }
}
