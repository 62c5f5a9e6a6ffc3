// The authoritative state table and its replication: every change is committed here and sent in one batch per turn.
import { StateTable, type Delta, type TableSnapshot, type VersionedDelta } from '../protocol/index.js';
import type { HubMetrics } from '../hub-metrics.js';
import type { CatalogView } from '../catalog-view.js';
import type { HubClock, HubLink } from './link.js';

export class DeltaFeed {
  readonly table: StateTable;
  readonly #link: HubLink;
  readonly #clock: HubClock;
  readonly #metrics: HubMetrics;
  readonly #catalog: CatalogView;
  readonly #pending: VersionedDelta[] = [];
  #flushScheduled = false;

  constructor(o: { table: StateTable; link: HubLink; clock: HubClock; metrics: HubMetrics; catalog: CatalogView }) {
    this.table = o.table;
    this.#link = o.link;
    this.#clock = o.clock;
    this.#metrics = o.metrics;
    this.#catalog = o.catalog;
  }

  /** No batch waiting to go out. */
  get idle(): boolean {
    return !this.#flushScheduled && this.#pending.length === 0;
  }

  commit(delta: Delta): VersionedDelta {
    const vd = this.table.commit(delta);
    this.#catalog.noteDelta(delta.type);
    this.#metrics.deltas.inc();
    this.#metrics.tableVersion.set(vd.v);
    this.#metrics.servers.set(this.table.size);
    this.#pending.push(vd);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#clock.soon(() => this.flush());
    }
    return vd;
  }

  /**
   * Sends pending deltas, batched per turn. Called before any direct message to
   * a server too, so a server always sees the table changes (e.g. its own
   * designation as director) before the request that depends on them.
   */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    this.#link.publishDeltas(this.#pending.splice(0));
  }

  /** The whole table, after everything pending went out: a snapshot never runs ahead of the deltas. */
  snapshot(): TableSnapshot {
    this.flush();
    return this.table.snapshot();
  }
}
