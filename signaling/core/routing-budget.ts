// One retry budget per client request: how many director asks and how long, shared by every retry inside it.
//
// Before, retries nested: a watch tried twice to place a session, each try asked
// up to three directors, and the viewer retried a failed watch up to four times
// (client-sdk/watch-request.ts `MAX_WATCH_ATTEMPTS`) — 4 × 2 × 3 = 24 director requests for one
// click, then 4 × 3 = 12 once one request spent one budget. Now one request spends one budget: at
// most DIRECTOR_ASKS_PER_REQUEST director asks (failovers after a timeout or a stale epoch, and
// second tries after a server refused the session, all count) and at most
// SESSION_OPENS_PER_WATCH session offers, all before ROUTE_DEADLINE_MS; and the viewer asks again
// only when it did not hear the hub, or the hub refused before any ask (`rate-limited`, and
// `no-director`, which the hub answers only while `asked` is false). Worst case for one click the
// hub answers: 3 director requests; 12 only when three of the viewer's four asks go unanswered
// (10 s each) after the hub spent its budget on them.

/** Director asks one watch or publish may cost the cluster, failovers included. */
export const DIRECTOR_ASKS_PER_REQUEST = 3;
/** Servers one watch offers its session to (the director's pick, then one more after a refusal). */
export const SESSION_OPENS_PER_WATCH = 2;
/**
 * No new ask or offer starts after this long, and each wait is cut to what is
 * left: the hub answers well inside the viewer's WATCH_ACK_TIMEOUT_MS (10 s),
 * so the viewer hears the real reason rather than its own timeout.
 */
export const ROUTE_DEADLINE_MS = 5_000;

export class RoutingBudget {
  readonly #deadlineMs: number;
  readonly #now: () => number;
  readonly #initialAsks: number;
  #asks: number;

  constructor(now: () => number, asks = DIRECTOR_ASKS_PER_REQUEST, deadlineMs = ROUTE_DEADLINE_MS) {
    this.#now = now;
    this.#asks = asks;
    this.#initialAsks = asks;
    this.#deadlineMs = now() + deadlineMs;
  }

  /** Time left before the deadline, ms (0 when it has passed). */
  get remainingMs(): number {
    return Math.max(0, this.#deadlineMs - this.#now());
  }

  /** Whether another director ask may start. */
  get canAsk(): boolean {
    return this.#asks > 0 && this.remainingMs > 0;
  }

  /** Whether any director ask of this request has started. */
  get asked(): boolean {
    return this.#asks < this.#initialAsks;
  }

  /** Spends one ask; returns how long it may wait for the answer (≤ `timeoutMs`). */
  spendAsk(timeoutMs: number): number {
    this.#asks--;
    return Math.min(timeoutMs, this.remainingMs);
  }
}
