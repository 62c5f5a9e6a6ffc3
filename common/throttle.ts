// Runs a callback at most once per interval: calls in between are folded into one
// trailing run (so the last state is always reported). Platform-neutral timers.

export class Throttle {
  readonly #intervalMs: number;
  readonly #run: () => void;
  readonly #now: () => number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    intervalMs: number,
    run: () => void,
    now: () => number = () => (typeof performance !== 'undefined' ? performance.now() : Date.now()),
  ) {
    this.#intervalMs = intervalMs;
    this.#run = run;
    this.#now = now;
  }

  /** Run now if the interval has passed (or `force`), else once when it has. */
  call(force = false): void {
    const t = this.#now();
    if (!force && t - this.#lastAt < this.#intervalMs) {
      if (!this.#timer) {
        this.#timer = setTimeout(
          () => {
            this.#timer = undefined;
            this.call(true);
          },
          this.#intervalMs - (t - this.#lastAt),
        );
        // A pending trailing run never keeps a Node process alive.
        (this.#timer as { unref?: () => void }).unref?.();
      }
      return;
    }
    this.#lastAt = t;
    this.#run();
  }

  /** Drop a pending trailing run. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
