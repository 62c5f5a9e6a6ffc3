// A Viewer's `stats` figures: the receive rate over each interval, and the server's last report.
import type { ServerStatsFrame } from '../signaling/protocol/frames.js';
import type { ViewerStats } from './viewer-types.js';

/** `stats` events (and server stats requests) this often. */
export const STATS_INTERVAL_MS = 1_000;

export class ViewerStatsMeter {
  #timer: ReturnType<typeof setInterval> | undefined;
  #bytes = 0;
  #at = 0;
  /** The server's last `stats` frame, without its tag. */
  server: Omit<ServerStatsFrame, 't'> | undefined;

  /** Calls `tick` every STATS_INTERVAL_MS until `stop`; rates count from now. */
  start(tick: () => void): void {
    this.#at = now();
    this.#timer = setInterval(tick, STATS_INTERVAL_MS);
    // In Node, a forgotten Viewer must not keep the process alive (browsers return a number).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The figures since the last call, `bytes` being all received so far. */
  take(bytes: number): ViewerStats {
    const t = now();
    const dt = (t - this.#at) / 1000;
    const stats: ViewerStats = { bitrateBps: dt > 0 ? Math.round(((bytes - this.#bytes) * 8) / dt) : 0, bytes };
    if (this.server) stats.server = this.server;
    this.#at = t;
    this.#bytes = bytes;
    return stats;
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
