// A media server's heartbeat timer: a beat every period, and a warning when one came late (the event loop was blocked).
import type { Logger } from '../../signaling/log.js';

/** Heartbeat period unless configured (ms). */
export const DEFAULT_HEARTBEAT_MS = 1_000;
/** A late beat is said at most this often (ms). */
const LATE_WARNING_EVERY_MS = 10_000;

/** Calls `beat` every `periodMs` from `start` until `stop`. */
export class Heartbeat {
  readonly periodMs: number;
  readonly #beat: () => void;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #lastBeatMs = performance.now();
  #lateWarnedMs = Number.NEGATIVE_INFINITY;

  constructor(periodMs: number, beat: () => void, log: Logger) {
    this.periodMs = periodMs;
    this.#beat = beat;
    this.#log = log;
  }

  start(): void {
    this.#lastBeatMs = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.periodMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    // A beat two periods late means the event loop was blocked that long: the hub removes a server after three.
    // Said (at most every 10 s), so an operator can tell a removal for silence from a dead server.
    const now = performance.now();
    const periodMs = this.periodMs;
    const lateMs = now - this.#lastBeatMs - periodMs;
    this.#lastBeatMs = now;
    if (lateMs >= 2 * periodMs && now - this.#lateWarnedMs >= LATE_WARNING_EVERY_MS) {
      this.#lateWarnedMs = now;
      this.#log.warn({ lateMs: Math.round(lateMs), heartbeatMs: periodMs }, 'heartbeat late: the event loop was blocked');
    }
    this.#beat();
  }
}
