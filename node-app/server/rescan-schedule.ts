// When a media server rescans its storage: one scan at a time, spaced by the last one's cost.

/** How often the storage directory is rescanned for added or removed assets (at least). */
export const STORAGE_RESCAN_MS = 2_000;
/**
 * A storage rescan starts at least this many times its predecessor's duration after it ended, so rescanning takes at
 * most 1 / (1 + factor) of the server's time however large the library (before, every 2 s: 65 % of a core for 6,500
 * files, and scans queued behind each other once one took longer than 2 s).
 */
export const RESCAN_IDLE_FACTOR = 4;

/** When the next storage rescan starts after one that took `scanMs`. */
export function rescanDelayMs(scanMs: number): number {
  return Math.max(STORAGE_RESCAN_MS, Math.ceil(RESCAN_IDLE_FACTOR * scanMs));
}

/** Runs `scan` STORAGE_RESCAN_MS after start, then each time `rescanDelayMs` after the last one ended, until stopped. */
export class RescanSchedule {
  readonly #scan: () => Promise<void>;
  readonly #failed: (err: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(scan: () => Promise<void>, failed: (err: Error) => void) {
    this.#scan = scan;
    this.#failed = failed;
  }

  start(): void {
    this.#next(STORAGE_RESCAN_MS);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #next(delayMs: number): void {
    this.#timer = setTimeout(async () => {
      const started = performance.now();
      await this.#scan().catch(this.#failed);
      if (!this.#stopped) this.#next(rescanDelayMs(performance.now() - started));
    }, delayMs);
  }
}
