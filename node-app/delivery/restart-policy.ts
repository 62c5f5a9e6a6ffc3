// How often one viewer session may restart delivery (play at a new offset), and when a restart earns a fresh burst.

/** Plays at a new offset one session may make per RESTART_WINDOW_MS; more are refused (`rate-limited`). */
export const MAX_RESTARTS_PER_WINDOW = 10;
export const RESTART_WINDOW_MS = 10_000;
/**
 * Restarts that get a fresh fast-start burst per BURST_WINDOW_MS; later ones keep
 * the session's pacing budget (bytes sent so far count), so a loop of seeks
 * cannot turn bursts into unpaced delivery.
 */
export const BURSTS_PER_WINDOW = 3;
export const BURST_WINDOW_MS = 30_000;

export type RestartVerdict = 'burst' | 'continue' | 'refused';

/** Per-session record of restarts. Pure: the caller passes `now` (ms). */
export class RestartPolicy {
  readonly #restarts: number[] = [];
  readonly #bursts: number[] = [];

  /** Decide a restart at `now` and record it unless refused. */
  restart(now: number): RestartVerdict {
    prune(this.#restarts, now - RESTART_WINDOW_MS);
    prune(this.#bursts, now - BURST_WINDOW_MS);
    if (this.#restarts.length >= MAX_RESTARTS_PER_WINDOW) return 'refused';
    this.#restarts.push(now);
    if (this.#bursts.length >= BURSTS_PER_WINDOW) return 'continue';
    this.#bursts.push(now);
    return 'burst';
  }

  /** The session's first run counts as a burst. */
  started(now: number): void {
    this.#bursts.push(now);
  }
}

function prune(times: number[], before: number): void {
  while (times.length > 0 && times[0]! <= before) times.shift();
}
