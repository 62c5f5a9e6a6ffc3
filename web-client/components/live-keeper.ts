// Keeps a live <video> near the newest media it has (liveStep): on every timeupdate, every append, and a timer, since a stalled element fires no timeupdate.
import { liveEdgeTarget, liveStep } from './live-sync.js';

/** How often a live player is checked besides its own events (ms). */
export const LIVE_CHECK_MS = 250;
/** HTMLMediaElement.readyState from which the element can play on. */
const HAVE_FUTURE_DATA = 3;

/** Move the playhead of `video` to just behind the newest buffered media (the player's "jump to live"). */
export function jumpToLive(video: HTMLVideoElement): void {
  const ranges = video.buffered;
  if (ranges.length === 0) return;
  const last = ranges.length - 1;
  video.playbackRate = 1;
  video.currentTime = liveEdgeTarget(ranges.start(last), ranges.end(last));
  if (video.paused) video.play().catch(() => undefined);
}

/** What the keeper reads and moves of a `<video>`. */
export type LiveVideo = Pick<
  HTMLVideoElement,
  'buffered' | 'currentTime' | 'seeking' | 'paused' | 'readyState' | 'playbackRate' | 'addEventListener' | 'removeEventListener'
>;

/** One live playback's catch-up; `stop()` (idempotent) ends it and plays at normal speed again. */
export class LiveKeeper {
  readonly #video: LiveVideo;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #now: () => number;
  #stopped = false;
  /** When the element was first seen seeking in the current run of seeks (ms), if it is. */
  #seekingSince: number | undefined;

  constructor(video: LiveVideo, now: () => number = () => performance.now()) {
    this.#video = video;
    this.#now = now;
    video.addEventListener('timeupdate', this.step);
    this.#timer = setInterval(this.step, LIVE_CHECK_MS);
  }

  /** One step; a paused player (the viewer paused it) is left alone, a seek in progress unless it is stuck. */
  readonly step = (): void => {
    const v = this.#video;
    if (this.#stopped || v.paused) return;
    if (!v.seeking) this.#seekingSince = undefined;
    else this.#seekingSince ??= this.#now();
    const b = v.buffered;
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < b.length; i++) ranges.push([b.start(i), b.end(i)]);
    const seekingForMs = this.#seekingSince === undefined ? 0 : Math.max(1, this.#now() - this.#seekingSince);
    const act = liveStep({
      currentTime: v.currentTime,
      ranges,
      rate: v.playbackRate,
      canPlay: v.readyState >= HAVE_FUTURE_DATA,
      seekingForMs,
    });
    if (!act) return;
    if (act.seekTo !== undefined) {
      v.currentTime = act.seekTo;
      // A new seek: its own time to finish, from now.
      this.#seekingSince = this.#now();
    }
    if (v.playbackRate !== act.rate) v.playbackRate = act.rate;
  };

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#video.removeEventListener('timeupdate', this.step);
    this.#video.playbackRate = 1;
  }
}
