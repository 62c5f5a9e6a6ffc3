// Follows the hub's state table: applies versioned deltas in order, notices a gap
// (a lost or reordered batch), asks for a snapshot once, and ignores deltas until it
// arrives (the snapshot includes them). One follower for every replica — the media
// server's, the dashboard's, the simulator's — so they cannot drift apart.
import { parse } from '../signaling/protocol/messages.js';
import { StateTable } from '../signaling/protocol/state-table.js';
import { deltaBatchSchema, TABLE_BOUNDS, tableSnapshotSchema } from '../signaling/protocol/table-messages.js';
import type { TableSnapshot, VersionedDelta } from '../signaling/protocol/types.js';

export interface ReplicaFollowerOptions {
  /** The replica to keep (a new empty one by default). */
  table?: StateTable;
  /**
   * Ask the hub for the whole table. Resolve with it, or reject (refused, timed out,
   * disconnected): the follower then waits for the next gap or snapshot.
   */
  requestSnapshot: () => Promise<unknown>;
  /**
   * A replica fed from a socket: every batch and snapshot is parsed by the protocol's schemas (table-messages.ts)
   * before it touches the table. A malformed one is dropped whole, the replica unchanged, reported here, and a
   * snapshot asked for (a malformed answer to that ask fails the resync: the next gap asks again). The simulator's
   * replicas, fed what the hub core itself made, go without.
   */
  untrusted?: { rejected: (what: 'deltas' | 'snapshot', why: string) => void };
  /** Each delta that changed the replica, in order (e.g. to log director changes). */
  onApplied?: (vd: VersionedDelta) => void;
  /** After a batch changed the replica or a snapshot replaced it. */
  onChange?: () => void;
  /** A resync began (`gap`: the replica's version when the gap showed), ended, or failed. */
  onResync?: (e: { phase: 'started'; version: number } | { phase: 'done' } | { phase: 'failed'; error: unknown }) => void;
}

export class ReplicaFollower {
  readonly table: StateTable;
  readonly #o: ReplicaFollowerOptions;
  #resyncing = false;
  /** Bumped by every snapshot load: an answer to a resync asked before a newer load is dropped. */
  #loads = 0;

  constructor(opts: ReplicaFollowerOptions) {
    this.#o = opts;
    this.table = opts.table ?? new StateTable();
  }

  /** A snapshot was asked for and has not arrived yet. */
  get resyncing(): boolean {
    return this.#resyncing;
  }

  /**
   * Replace the replica with a full snapshot (registration, a hub push, a resync). It ends
   * any resync in flight: an answer lost with a dropped connection must not leave the
   * follower ignoring deltas for good. The snapshot loaded, or null when it was malformed (and a resync began).
   */
  load(snapshot: unknown): TableSnapshot | null {
    const s = this.#check(snapshot);
    if (!s.ok) {
      void this.resync();
      return null;
    }
    this.#load(s.value);
    return s.value;
  }

  #load(snapshot: TableSnapshot): void {
    this.#loads++;
    this.#resyncing = false;
    this.table.load(snapshot);
    this.#o.onChange?.();
  }

  /**
   * Apply a batch of deltas in order. Stale ones (already applied) are skipped; at the
   * first gap the rest of the batch is dropped and a snapshot asked for. Anything that is
   * not an array is ignored (the hub is trusted, the transport is not); with `untrusted`,
   * a batch that fails its schema is dropped whole and a snapshot asked for.
   */
  offer(batch: unknown): void {
    if (!Array.isArray(batch) || this.#resyncing) return;
    let deltas = batch as VersionedDelta[];
    if (this.#o.untrusted) {
      const p = parse(deltaBatchSchema, batch, TABLE_BOUNDS);
      if (!p.ok) {
        this.#o.untrusted.rejected('deltas', p.message);
        void this.resync();
        return;
      }
      deltas = p.value;
    }
    let changed = false;
    for (const vd of deltas) {
      const outcome = this.table.offer(vd);
      if (outcome === 'gap') {
        void this.resync();
        break;
      }
      if (outcome === 'applied') {
        changed = true;
        this.#o.onApplied?.(vd);
      }
    }
    if (changed) this.#o.onChange?.();
  }

  #check(snapshot: unknown): { ok: true; value: TableSnapshot } | { ok: false } {
    if (!this.#o.untrusted) return { ok: true, value: snapshot as TableSnapshot };
    const p = parse(tableSnapshotSchema, snapshot, TABLE_BOUNDS);
    if (!p.ok) this.#o.untrusted.rejected('snapshot', p.message);
    return p;
  }

  /** Ask for a snapshot now (at most one request in flight). */
  async resync(): Promise<void> {
    if (this.#resyncing) return;
    this.#resyncing = true;
    const loads = this.#loads;
    this.#o.onResync?.({ phase: 'started', version: this.table.version });
    try {
      const snapshot = await this.#o.requestSnapshot();
      // A snapshot loaded meanwhile (a re-registration) already ended this resync.
      if (this.#loads !== loads) return;
      const s = this.#check(snapshot);
      if (!s.ok) throw new Error('the hub answered the resync with a malformed snapshot');
      this.#load(s.value);
      this.#o.onResync?.({ phase: 'done' });
    } catch (error) {
      if (this.#loads !== loads) return;
      this.#resyncing = false;
      this.#o.onResync?.({ phase: 'failed', error });
    }
  }
}
