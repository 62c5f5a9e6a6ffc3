// A viewer session's recent egress (bits per second over the last few watchdog ticks); apart from the session
// because it is a measurement with its own samples, read by stats and the dashboard.

/** Samples kept: the rate is over the last this-many ticks. */
const EGRESS_SAMPLES = 4;

export class EgressMeter {
  #samples: Array<[atMs: number, bytes: number]> = [];

  /** Records the bytes sent so far at `now` (ms); called once per watchdog tick. */
  sample(now: number, bytesSent: number): void {
    this.#samples.push([now, bytesSent]);
    if (this.#samples.length > EGRESS_SAMPLES) this.#samples.shift();
  }

  /** Bits per second from the oldest sample kept to `now`; 0 before the first sample. */
  bps(now: number, bytesSent: number): number {
    const first = this.#samples[0];
    if (!first) return 0;
    const dt = now - first[0];
    return dt > 0 ? ((bytesSent - first[1]) * 8 * 1000) / dt : 0;
  }
}
