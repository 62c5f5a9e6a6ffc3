// Notices a playhead stuck though playing — Chromium stops in a hole of a video track with no `waiting` event and no
// more `timeupdate` — and moves it past the hole (gap-jump.ts's stallTarget).
import { stallTarget } from './gap-jump.js';

/** How often the playhead is looked at (ms). */
export const STALL_CHECK_MS = 250;
/** A playhead that has not moved for this long while playing, the element short of data, is stuck (ms). */
export const STALL_JUMP_MS = 1_000;
/** A playhead this close to where the watch put it has not moved by itself (the element may round the time; seconds). */
const LANDED_S = 0.001;
/** HTMLMediaElement.readyState from which the element can play on. */
const HAVE_FUTURE_DATA = 3;

/** What the watch reads and moves of a `<video>`. */
export type StallVideo = Pick<HTMLVideoElement, 'buffered' | 'currentTime' | 'paused' | 'seeking' | 'ended' | 'readyState'>;

/**
 * Looks at `video` every STALL_CHECK_MS while it lives; `held` says a seek is pending (then the sink's own gap jump
 * decides). Every move goes forward; a jump lands in a range that starts past the playhead, and a nudge is tried once
 * per stall (again only after the playhead moved by itself): it cannot loop.
 */
export class StallWatch {
  readonly #video: StallVideo;
  readonly #held: () => boolean;
  readonly #timer: ReturnType<typeof setInterval>;
  #lastS = Number.NaN;
  #stillMs = 0;
  /** A nudge was tried and the playhead has not moved by itself since. */
  #nudged = false;
  /** Where this watch last put the playhead. */
  #movedToS = Number.NaN;

  constructor(video: StallVideo, held: () => boolean) {
    this.#video = video;
    this.#held = held;
    this.#timer = setInterval(this.#check, STALL_CHECK_MS);
  }

  /** Stops watching. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
  }

  readonly #check = (): void => {
    const v = this.#video;
    const t = v.currentTime;
    if (v.paused || v.seeking || v.ended || v.readyState >= HAVE_FUTURE_DATA || this.#held() || t !== this.#lastS) {
      // Moving by itself (not just landed where this watch put it): a later stall may be nudged again.
      if (t !== this.#lastS && !v.seeking && !(Math.abs(t - this.#movedToS) < LANDED_S)) this.#nudged = false;
      this.#lastS = t;
      this.#stillMs = 0;
      return;
    }
    this.#stillMs += STALL_CHECK_MS;
    if (this.#stillMs < STALL_JUMP_MS) return;
    this.#stillMs = 0;
    const move = stallTarget(v.buffered, t);
    if (!move || (move.kind === 'nudge' && this.#nudged)) return;
    this.#nudged = move.kind === 'nudge';
    this.#movedToS = move.toS;
    v.currentTime = move.toS;
  };
}
