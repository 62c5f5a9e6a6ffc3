// The state table and its replication: every change is committed here and sent in one batch per turn.
//
// Alone, a hub is the table's authority: `commit` applies a delta and stamps the next
// version at once. With several hubs (a `SharedLog`, issue 16) no hub may stamp a
// version: `commit` queues the delta, the batch is appended to the shared log (which
// hands out the global versions), and every hub — this one included — applies what it
// reads back from the log, in order, with the same reducer (`apply`). So a change made
// here shows in this hub's table only once read back; callers that must see it wait
// with `whenApplied`.
import type { StateTable, Delta, LiveInfo, ServerEntry, TableSnapshot, VersionedDelta } from '../protocol/index.js';
import type { HubMetrics } from '../hub-metrics.js';
import type { CatalogView } from '../catalog-view.js';
import type { HubClock, HubLink, SharedLog } from './link.js';
import { EndedCopies } from './ended-copies.js';

/**
 * Deltas waiting for the shared log (while it is unreachable). `load` deltas replace the
 * waiting one of the same server, so the bound is hit only by real changes; past it the oldest
 * are dropped and `onLost` says the table may have diverged (the hub then makes its servers
 * register again, which re-sends their whole rows).
 */
export const MAX_OUTBOX_DELTAS = 50_000;
/** Retry period for appends while the shared log is unreachable. */
export const OUTBOX_RETRY_MS = 500;

export interface DeltaFeedOptions {
  table: StateTable;
  link: HubLink;
  clock: HubClock;
  metrics: HubMetrics;
  catalog: CatalogView;
  /** Several hubs: the log every hub appends to and applies from. */
  shared?: SharedLog;
  /** Shared mode: every delta read back and applied, in order (server-left ends sessions on every hub). */
  onApplied?: (d: Delta) => void;
  /**
   * Both modes: a server's row arrived, with the instance of the row it replaced when there was one (shared mode:
   * a server restarted and registered again, here or on another hub, before any hub removed its old row).
   */
  onJoined?: (server: ServerEntry, replaced: { instance?: string } | undefined) => void;
  /** Shared mode: waiting deltas were dropped (outbox bound): this hub's servers must re-send their rows. */
  onLost?: () => void;
}

export class DeltaFeed {
  readonly table: StateTable;
  /** Live copies whose entry left the table lately, from every delta applied here (a stored stream's owner proof). */
  readonly ended = new EndedCopies();
  readonly #o: DeltaFeedOptions;
  readonly #pending: VersionedDelta[] = [];
  #flushScheduled = false;
  // ---- shared mode
  readonly #outbox: Delta[] = [];
  #appending = false;
  #retryTimer: (() => void) | undefined;
  /** Highest version the log gave to one of our appends. */
  #appendedUpTo = 0;
  readonly #waiters: { failures: number; resolve: () => void }[] = [];
  #appendFailures = 0;

  constructor(o: DeltaFeedOptions) {
    this.table = o.table;
    this.#o = o;
  }

  get shared(): boolean {
    return this.#o.shared !== undefined;
  }

  /** No batch waiting to go out. */
  get idle(): boolean {
    return !this.#flushScheduled && this.#pending.length === 0 && this.#outbox.length === 0 && !this.#appending;
  }

  /** Deltas waiting for the shared log. */
  get outboxSize(): number {
    return this.#outbox.length;
  }

  commit(delta: Delta): void {
    if (this.#o.shared) {
      this.#enqueue(delta);
    } else {
      const replaced = this.#replaced(delta);
      this.#noteEnded(delta);
      const vd = this.table.commit(delta);
      this.#applied(delta, vd.v, replaced);
      this.#pending.push(vd);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#o.clock.soon(() => this.flush());
    }
  }

  /**
   * Sends pending deltas, batched per turn. Called before any direct message to
   * a server too, so a server always sees the table changes (e.g. its own
   * designation as director) before the request that depends on them.
   * Shared mode: starts the append of what is queued (the log's readers publish it).
   */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#o.shared) return this.#append();
    if (this.#pending.length === 0) return;
    this.#o.link.publishDeltas(this.#pending.splice(0));
  }

  /** The whole table, after everything pending went out: a snapshot never runs ahead of the deltas. */
  snapshot(): TableSnapshot {
    this.flush();
    return this.table.snapshot();
  }

  /**
   * Shared mode: deltas read back from the log, in version order. Applies those that follow
   * the table's version and publishes them to this hub's servers and dashboards; `gap` means a
   * delta is missing here (the log was trimmed past us): load a snapshot, then read on.
   */
  apply(batch: readonly VersionedDelta[]): 'applied' | 'gap' {
    const applied: VersionedDelta[] = [];
    let outcome: 'applied' | 'gap' = 'applied';
    for (const vd of batch) {
      const replaced = this.#replaced(vd.d);
      const ending = this.#liveEntry(vd.d);
      const r = this.table.offer(vd);
      if (r === 'gap') {
        outcome = 'gap';
        break;
      }
      if (r === 'stale') continue;
      if (ending) this.ended.note(ending, this.#o.clock.now());
      this.#applied(vd.d, vd.v, replaced);
      applied.push(vd);
      this.#o.onApplied?.(vd.d);
    }
    if (applied.length > 0) this.#o.link.publishDeltas(applied);
    this.#wake();
    return outcome;
  }

  /** Shared mode: the table jumps to a snapshot (start-up, or after a gap). Replicas see the jump as a gap and resync. */
  load(snapshot: TableSnapshot): void {
    if (snapshot.version <= this.table.version) return;
    this.table.load(snapshot);
    this.#o.metrics.tableVersion.set(snapshot.version);
    this.#o.metrics.servers.set(this.table.size);
    this.#wake();
  }

  /** Resolves once every delta committed so far is in this hub's table (at once when alone), or once an append failed. */
  whenApplied(): Promise<void> {
    if (!this.#o.shared) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => {
      this.#waiters.push({ failures: this.#appendFailures, resolve });
      this.#wake();
    });
  }

  #applied(delta: Delta, v: number, replaced: { instance?: string } | undefined): void {
    const m = this.#o.metrics;
    this.#o.catalog.noteDelta(delta.type);
    m.deltas.inc();
    m.tableVersion.set(v);
    m.servers.set(this.table.size);
    if (delta.type === 'server-joined') this.#o.onJoined?.(delta.server, replaced);
  }

  /** The row a `server-joined` is about to replace (its instance only). */
  #replaced(delta: Delta): { instance?: string } | undefined {
    if (delta.type !== 'server-joined') return undefined;
    const row = this.table.get(delta.server.id);
    return row && { instance: row.instance };
  }

  /** The `live` entry a `live-remove` is about to take out of the table, if there is one. */
  #liveEntry(delta: Delta): LiveInfo | undefined {
    return delta.type === 'live-remove' ? this.table.get(delta.id)?.live.get(delta.assetId) : undefined;
  }

  #noteEnded(delta: Delta): void {
    const ending = this.#liveEntry(delta);
    if (ending) this.ended.note(ending, this.#o.clock.now());
  }

  #enqueue(delta: Delta): void {
    const out = this.#outbox;
    if (delta.type === 'load') {
      // A newer load of the same server replaces a waiting one (only while one waits: a short scan from the end).
      for (let i = out.length - 1; i >= Math.max(0, out.length - 64); i--) {
        const w = out[i]!;
        if (w.type === 'load' && w.id === delta.id) {
          out[i] = delta;
          return;
        }
      }
    }
    out.push(delta);
    this.#bound();
  }

  /** Past MAX_OUTBOX_DELTAS the oldest waiting changes go, and the table may have diverged. */
  #bound(): void {
    const over = this.#outbox.length - MAX_OUTBOX_DELTAS;
    if (over <= 0) return;
    this.#outbox.splice(0, over);
    this.#o.onLost?.();
  }

  #append(): void {
    const log = this.#o.shared!;
    if (this.#appending || this.#outbox.length === 0) return;
    const batch = this.#outbox.splice(0);
    this.#appending = true;
    // Director changes go on their own, fenced by the rotation lease; the rest in order, unfenced.
    const directors = batch.filter((d) => d.type === 'director');
    const rest = batch.filter((d) => d.type !== 'director');
    const appendRest = rest.length > 0 ? log.append(rest, false) : Promise.resolve([] as number[]);
    appendRest
      .then(
        async (versions) => {
          this.#noteAppended(versions);
          if (directors.length === 0) return;
          try {
            this.#noteAppended(await log.append(directors, true));
          } catch {
            // Fenced or unreachable: a director change is a decision of its moment; it is not retried.
            this.#appendFailures++;
          }
        },
        () => {
          // Unreachable: keep the changes (ahead of newer ones) and try again shortly.
          this.#appendFailures++;
          this.#outbox.unshift(...rest);
          this.#bound();
          this.#retryLater();
        },
      )
      .finally(() => {
        this.#appending = false;
        if (this.#outbox.length > 0 && !this.#retryTimer) this.#append();
        this.#wake();
      });
  }

  #noteAppended(versions: readonly number[]): void {
    for (const v of versions) if (v > this.#appendedUpTo) this.#appendedUpTo = v;
  }

  #retryLater(): void {
    if (this.#retryTimer) return;
    const cancel = this.#o.clock.every(OUTBOX_RETRY_MS, () => {
      cancel();
      this.#retryTimer = undefined;
      this.#append();
    });
    this.#retryTimer = cancel;
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const done = !this.#appending && this.#outbox.length === 0 && this.#appendedUpTo <= this.table.version;
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (!done && this.#appendFailures <= w.failures) continue;
      this.#waiters.splice(i, 1);
      w.resolve();
    }
  }
}
