// Retry with exponential backoff: one delay rule and one loop for every place that
// asks again (registration with the hub, a viewer's watch, a publisher's replacement).
// Platform-neutral: timers only, the clock and rng injectable.

export interface BackoffOptions {
  /** Delay before the second try, ms. */
  baseMs: number;
  /** Delays never exceed this (before jitter), ms. Default: no cap. */
  maxMs?: number;
  /** Growth per try. Default 2. */
  factor?: number;
  /** ± share of the delay drawn at random, 0–1 (0.25 = ±25 %). Default 0. */
  jitter?: number;
  /** Random numbers in [0, 1) (Math.random by default; tests pass a seeded one). */
  rng?: () => number;
}

/** The delay before retry number `n + 1` (n = 0 is the first retry): `baseMs · factor^n`, capped, ± jitter. */
export function backoffMs(n: number, o: BackoffOptions): number {
  const raw = o.baseMs * (o.factor ?? 2) ** Math.max(0, n);
  const capped = Math.min(o.maxMs ?? Number.POSITIVE_INFINITY, raw);
  const jitter = o.jitter ?? 0;
  return jitter > 0 ? capped * (1 - jitter + (o.rng ?? Math.random)() * 2 * jitter) : capped;
}

export interface RetryOptions<T> extends BackoffOptions {
  /** Tries in all (the first one included). */
  attempts: number;
  /** Whether a result (or a thrown error) is worth another try. Default: retry on throw only. */
  retryIf?: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => boolean;
  /** Stop early (no further try, no further wait) when this turns true, e.g. after close(). */
  stopped?: () => boolean;
  /** Waits `ms`; injectable for fake clocks. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Calls `fn(attempt)` until it gives a result `retryIf` accepts, `attempts` run out, or
 * `stopped()`; waits `backoffMs` between tries. Resolves with the last result; rejects
 * with the last error when the last try threw.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions<T>): Promise<T> {
  const sleep = o.sleep ?? delay;
  const retryIf = o.retryIf ?? ((r) => !r.ok);
  let last: { ok: true; value: T } | { ok: false; error: unknown } = { ok: false, error: new Error('no attempt') };
  for (let attempt = 0; attempt < Math.max(1, o.attempts); attempt++) {
    if (attempt > 0) {
      await sleep(backoffMs(attempt - 1, o));
      if (o.stopped?.()) break;
    }
    try {
      last = { ok: true, value: await fn(attempt) };
    } catch (error) {
      last = { ok: false, error };
    }
    if (!retryIf(last) || o.stopped?.()) break;
  }
  if (last.ok) return last.value;
  throw last.error;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
