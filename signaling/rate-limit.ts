// A token bucket per connection: bursts are fine, floods are refused.

/** Default: 20 requests per second sustained, bursts of 40. */
export const DEFAULT_RATE_PER_S = 20;
export const DEFAULT_BURST = 40;

export class TokenBucket {
  #tokens: number;
  #lastMs: number;
  readonly #ratePerMs: number;
  readonly #burst: number;

  constructor(nowMs: number, ratePerS = DEFAULT_RATE_PER_S, burst = DEFAULT_BURST) {
    this.#ratePerMs = ratePerS / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#lastMs = nowMs;
  }

  /** Takes one token if there is one; false means "refuse this request". */
  take(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
