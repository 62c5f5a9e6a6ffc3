// Token buckets: a per-connection request allowance (bursts are fine, floods are refused), and one per key (client IP). Platform-neutral.

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

  /** Takes `n` tokens (one request, or a cost in units) if there are as many; false means "refuse this request". */
  take(nowMs: number, n = 1): boolean {
    if (this.available(nowMs) < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** The tokens held at `nowMs`. */
  available(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
    return this.#tokens;
  }
}

/** Distinct keys (IP addresses) a KeyedRateLimiter tracks before it forgets the least recent. */
export const DEFAULT_MAX_KEYS = 10_000;

/**
 * One TokenBucket per key (a client IP), for requests that have no connection to hang a bucket
 * on (HTTP) or that a client could spread over many connections. At most `maxKeys` buckets are
 * kept: the least recently used is forgotten first (it restarts with a full burst, which only
 * an attacker cycling through more than `maxKeys` addresses can exploit, and they could anyway).
 */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #ratePerS: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  constructor(ratePerS = DEFAULT_RATE_PER_S, burst = DEFAULT_BURST, maxKeys = DEFAULT_MAX_KEYS) {
    this.#ratePerS = ratePerS;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token (or `n`: a cost in units, e.g. bytes) from `key`'s bucket; false means "refuse this request". */
  take(key: string, nowMs: number, n = 1): boolean {
    let b = this.#buckets.get(key);
    if (b)
      this.#buckets.delete(key); // re-inserted below: Map order is recency order
    else {
      b = new TokenBucket(nowMs, this.#ratePerS, this.#burst);
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(key, b);
    return b.take(nowMs, n);
  }
}

/**
 * What a sender may have sent `elapsedMs` after it started, at `ratePerS` with a head
 * start of `burst`: a token bucket's allowance counted from the start, without a cap
 * (callers cap it: the ingest server at the stream's size quota). The ingest server
 * enforces it on each stream; `baton publish --fast` paces to just under it.
 */
export function allowanceSince(burst: number, ratePerS: number, elapsedMs: number): number {
  return burst + (ratePerS * Math.max(0, elapsedMs)) / 1000;
}

/**
 * A budget of work time shared by everyone (ms of work per second): work is admitted while the budget is not in debt,
 * and what it took is charged afterwards, so a costly request cannot pass for a cheap one. For work whose cost is only
 * known once done (a place lookup whose country filter walks a whole prefix range).
 */
export class WorkBudget {
  #balanceMs: number;
  #lastMs: number;
  readonly #msPerMs: number;
  readonly #burstMs: number;

  constructor(nowMs: number, workMsPerS: number, burstMs: number) {
    this.#msPerMs = workMsPerS / 1000;
    this.#burstMs = burstMs;
    this.#balanceMs = burstMs;
    this.#lastMs = nowMs;
  }

  /** True when work may start now (the budget is not in debt). */
  admit(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    this.#balanceMs = Math.min(this.#burstMs, this.#balanceMs + elapsed * this.#msPerMs);
    return this.#balanceMs > 0;
  }

  /** Charges work that took `ms` (the balance may go into debt, which later work waits out). */
  charge(ms: number): void {
    this.#balanceMs -= Math.max(0, ms);
  }
}
