// Who holds the baton: designation by the rotation policy, the epoch that never goes back, and its record.
import type { DecisionEvent, DirectorInfo } from '../protocol/index.js';
import { nextDirector, RotationReason } from '../policies/rotation.js';
import type { HubMetrics } from '../hub-metrics.js';
import type { Logger } from '../log.js';
import type { DeltaFeed } from './delta-feed.js';
import type { HubClock, RotationLease } from './link.js';

/**
 * Several hubs: how long a hub without the rotation lease waits for the holder's designation to
 * come back through the log after asking for it (usually a few ms); then the caller goes on.
 */
export const ROTATION_REQUEST_WAIT_MS = 1_000;

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
  readonly #lease: RotationLease | undefined;
  readonly #requestRotation: ((epoch: number, reason: RotationReason) => void) | undefined;
  /** Callers waiting for a director newer than the one they asked to replace. */
  readonly #waiters = new Set<{ epoch: number; done: () => void }>();
  /** The last director designated, remembered after it left the table. */
  #last: DirectorInfo | null = null;
  /** Several hubs: a designation appended and not yet read back. */
  #inFlight: Promise<void> | undefined;
  /** Several hubs, without the lease: the last director this hub asked the holder to replace, and when. */
  #asked: { epoch: number; atMs: number } | undefined;

  constructor(o: {
    feed: DeltaFeed;
    clock: HubClock;
    metrics: HubMetrics;
    log: Logger;
    record: (d: DecisionEvent) => void;
    observe?: (c: DirectorChange) => void;
    /** Several hubs: the rotation lease (only its holder's designations are appended) … */
    lease?: RotationLease;
    /** … and how another hub asks the holder to designate. */
    requestRotation?: (epoch: number, reason: RotationReason) => void;
  }) {
    this.#feed = o.feed;
    this.#clock = o.clock;
    this.#metrics = o.metrics;
    this.#log = o.log;
    this.#record = o.record;
    this.#observe = o.observe;
    this.#lease = o.lease;
    this.#requestRotation = o.requestRotation;
  }

  get current(): DirectorInfo | null {
    return this.#feed.table.director;
  }

  /**
   * Designates the next director by the rotation policy (no-op when it would not change).
   * Resolves once the change is in this hub's table: at once when the hub is alone; with
   * several hubs when read back from the shared log (or when the append failed). One
   * designation at a time is in flight there: a second asks nothing and waits for the first.
   */
  designate(reason: RotationReason): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    const table = this.#feed.table;
    // Several hubs: only the lease holder's designation would be appended; another hub asks it
    // (a director that times out on this hub may answer the holder's hub, which then keeps it).
    const cur = table.director;
    if (this.#requestRotation && cur && this.#lease && !this.#lease.held(this.#clock.now())) {
      // Once per director and wait: when a director hangs, every watch in flight on this hub times
      // out on it at once, and each request costs a Redis read (who holds the lease) and a message.
      const now = this.#clock.now();
      if (this.#asked?.epoch !== cur.epoch || now - this.#asked.atMs >= ROTATION_REQUEST_WAIT_MS) {
        this.#asked = { epoch: cur.epoch, atMs: now };
        this.#requestRotation(cur.epoch, reason);
      }
      return this.#newerThan(cur.epoch, ROTATION_REQUEST_WAIT_MS);
    }
    // The last director is passed even after it left the table, so the order
    // carries on and the epoch (the fencing token) never goes back.
    const previous = table.director ?? this.#last;
    const now = this.#clock.now();
    const next = nextDirector(table, previous, now, reason);
    if (next?.id === cur?.id && next?.epoch === cur?.epoch) return Promise.resolve();
    // A silent director with no other server to take over keeps the role: a new epoch would name the same server
    // and only fence the answers it is still giving. A one-server cluster under a flash crowd (100 viewers at
    // once) timed out once, and 19 viewers whose selects were answered got `stale-epoch` instead of their server.
    if (reason === RotationReason.directorTimeout && next && cur && next.id === cur.id) return Promise.resolve();
    if (next) this.#last = next;
    this.#feed.commit({ type: 'director', director: next });
    this.#metrics.directorChanges.inc({ reason });
    this.#metrics.directorEpoch.set(next?.epoch ?? 0);
    this.#record({ kind: 'director', atMs: now, director: next, reason });
    this.#observe?.({ previous, director: next, reason });
    this.#log.info({ director: next?.id ?? null, epoch: next?.epoch, reason }, 'director designated');
    if (!this.#feed.shared) return Promise.resolve();
    const applied = this.#feed.whenApplied().finally(() => {
      this.#inFlight = undefined;
    });
    this.#inFlight = applied;
    return applied;
  }

  /**
   * Several hubs: a director change read back from the log (or a loaded snapshot's). The last
   * one is remembered, so the epoch carries on from it whichever hub designates next.
   */
  seen(director: DirectorInfo | null): void {
    if (director && director.epoch > (this.#last?.epoch ?? 0)) this.#last = director;
    for (const w of this.#waiters) if ((director?.epoch ?? 0) > w.epoch) w.done();
  }

  /**
   * Several hubs, the lease holder: another hub asked to replace the director of `epoch`. Done only
   * if that is still the director (two hubs asking at once move the baton once).
   */
  rotateFor(epoch: number, reason: RotationReason): void {
    if (this.#feed.table.director?.epoch === epoch && this.#lease?.held(this.#clock.now())) void this.designate(reason);
  }

  /** Resolves when a director with an epoch above `epoch` is read back, or after `ms`. */
  #newerThan(epoch: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const w = {
        epoch,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(w.done, ms);
      this.#waiters.add(w);
    });
  }

  /**
   * Several hubs: the hub holding the rotation lease repairs the seat after each batch read
   * back from the log — the first server joined, or the director left the table.
   */
  reconcile(): void {
    const table = this.#feed.table;
    if (table.size === 0 || this.#inFlight) return;
    const dir = table.director;
    if (!dir) void this.designate(this.#last ? RotationReason.noDirector : RotationReason.firstServer);
    else if (!table.get(dir.id)) void this.designate(RotationReason.directorLeft);
  }

  /** The rotation timer, or a failover: moves the baton when there is anyone to pass it to. */
  rotate(reason: RotationReason): void {
    if (this.#feed.table.size === 0) return;
    void this.designate(reason);
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
