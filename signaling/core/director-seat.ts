// Who holds the baton: designation by the rotation policy, the epoch that never goes back, and its record.
import type { DecisionEvent, DirectorInfo } from '../protocol/index.js';
import { nextDirector, RotationReason } from '../policies/rotation.js';
import type { HubMetrics } from '../hub-metrics.js';
import type { Logger } from '../log.js';
import type { DeltaFeed } from './delta-feed.js';
import type { HubClock } from './link.js';

/**
 * How far a registering server's `lastEpoch` may move the epoch (a year of rotations every
 * 30 s is ≈ 10^6); further claims are ignored and logged.
 */
export const MAX_EPOCH_STEP = 1_000_000;

/** One move of the baton, as observers (the simulator, tests) see it. */
export interface DirectorChange {
  previous: DirectorInfo | null;
  director: DirectorInfo | null;
  reason: RotationReason;
}

export class DirectorSeat {
  readonly #feed: DeltaFeed;
  readonly #clock: HubClock;
  readonly #metrics: HubMetrics;
  readonly #log: Logger;
  readonly #record: (d: DecisionEvent) => void;
  readonly #observe: ((c: DirectorChange) => void) | undefined;
  /** The last director designated, remembered after it left the table. */
  #last: DirectorInfo | null = null;

  constructor(o: {
    feed: DeltaFeed;
    clock: HubClock;
    metrics: HubMetrics;
    log: Logger;
    record: (d: DecisionEvent) => void;
    observe?: (c: DirectorChange) => void;
  }) {
    this.#feed = o.feed;
    this.#clock = o.clock;
    this.#metrics = o.metrics;
    this.#log = o.log;
    this.#record = o.record;
    this.#observe = o.observe;
  }

  get current(): DirectorInfo | null {
    return this.#feed.table.director;
  }

  /** Designates the next director by the rotation policy (no-op when it would not change). */
  designate(reason: RotationReason): void {
    const table = this.#feed.table;
    // The last director is passed even after it left the table, so the order
    // carries on and the epoch (the fencing token) never goes back.
    const previous = table.director ?? this.#last;
    const now = this.#clock.now();
    const next = nextDirector(table, previous, now, reason);
    const cur = table.director;
    if (next?.id === cur?.id && next?.epoch === cur?.epoch) return;
    if (next) this.#last = next;
    this.#feed.commit({ type: 'director', director: next });
    this.#metrics.directorChanges.inc({ reason });
    this.#metrics.directorEpoch.set(next?.epoch ?? 0);
    this.#record({ kind: 'director', atMs: now, director: next, reason });
    this.#observe?.({ previous, director: next, reason });
    this.#log.info({ director: next?.id ?? null, epoch: next?.epoch, reason }, 'director designated');
  }

  /** The rotation timer, or a failover: moves the baton when there is anyone to pass it to. */
  rotate(reason: RotationReason): void {
    if (this.#feed.table.size === 0) return;
    this.designate(reason);
  }

  /**
   * After a hub restart, servers carry the epoch on: a registering server's
   * `lastEpoch` raises the floor while there is no director, but one server's
   * word moves it only a sane step, so a rogue cannot push it to the schema's ceiling.
   */
  carryEpoch(lastEpoch: number | undefined, log: Logger): void {
    const floor = this.#last?.epoch ?? 0;
    if (lastEpoch === undefined || lastEpoch <= floor || this.#feed.table.director) return;
    if (lastEpoch - floor <= MAX_EPOCH_STEP) this.#last = { id: this.#last?.id ?? '', epoch: lastEpoch, sinceMs: this.#clock.now() };
    else log.warn({ lastEpoch, current: floor, maxStep: MAX_EPOCH_STEP }, 'registration claims an epoch too far ahead: ignored');
  }
}
