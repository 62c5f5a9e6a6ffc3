// Which media servers are in the cluster: registration, heartbeats, reports, and removal by the liveness policy.
import {
  ackError,
  ErrorCode,
  type Ack,
  type Delta,
  type OwnDelta,
  type ServerDescriptor,
  type ServerLoad,
  type TableSnapshot,
} from '../protocol/index.js';
import { expired, DEFAULT_MISSED_HEARTBEATS } from '../policies/liveness.js';
import { RotationReason } from '../policies/rotation.js';
import type { HubMetrics } from '../hub-metrics.js';
import type { Logger } from '../log.js';
import type { DeltaFeed } from './delta-feed.js';
import type { DirectorSeat } from './director-seat.js';
import type { HubClock, ServerPeer, SharedLiveness } from './link.js';
import { RowLists } from './row-lists.js';

/** A registered server's connection. */
export interface Member {
  id: string;
  peer: ServerPeer;
  lastSeenMs: number;
  /** The server's process (its `instance`), to tell this registration's row from an earlier one's. */
  instance?: string;
  /** Several hubs: this registration's row was read back from the shared log (it must stay in the table from then on). */
  inTable?: boolean;
  /** The ids its row lists, so its reports keep the row within what a registration may list. */
  lists: RowLists;
}

/** One server leaving the table, as observers (the simulator, tests) see it. */
export interface Removal {
  id: string;
  atMs: number;
  lastSeenMs: number;
  reason: string;
}

export interface MembershipOptions {
  feed: DeltaFeed;
  seat: DirectorSeat;
  clock: HubClock;
  metrics: HubMetrics;
  log: Logger;
  /** Expected heartbeat period of servers, ms. */
  heartbeatMs: number;
  /** Heartbeats a server may miss before it is removed (default 3). */
  missedHeartbeats?: number;
  /** The removed server's sessions end here (their clients are told). */
  onRemoved: (removal: Removal) => void;
  /** Several hubs: a server that left this hub may live on through another. */
  shared?: SharedLiveness;
  /** Several hubs: a server in the table but connected to another hub. */
  remotePeer?: (id: string) => ServerPeer | undefined;
}

export class Membership {
  readonly #o: Required<Omit<MembershipOptions, 'shared' | 'remotePeer'>> & Pick<MembershipOptions, 'shared' | 'remotePeer'>;
  readonly #members = new Map<string, Member>();
  #lastCheckMs: number;

  constructor(o: MembershipOptions) {
    this.#o = { missedHeartbeats: DEFAULT_MISSED_HEARTBEATS, ...o };
    this.#lastCheckMs = o.clock.now();
  }

  get size(): number {
    return this.#members.size;
  }

  get(id: string): Member | undefined {
    return this.#members.get(id);
  }

  /** Ids of the servers registered with this hub. */
  ids(): string[] {
    return [...this.#members.keys()];
  }

  /** The connection of a registered server (on another hub too, with several hubs), or undefined. */
  peer(id: string): ServerPeer | undefined {
    return this.#members.get(id)?.peer ?? (this.#o.feed.table.get(id) ? this.#o.remotePeer?.(id) : undefined);
  }

  /** The connection of a server registered with this hub, or undefined. */
  localPeer(id: string): ServerPeer | undefined {
    return this.#members.get(id)?.peer;
  }

  /** Liveness restarts its count from now (the hub starts taking traffic). */
  startClock(): void {
    this.#lastCheckMs = this.#o.clock.now();
  }

  /**
   * A server joins (its id already checked against its credentials by the
   * transport). A live connection of the same id is refused; a stale one
   * (silent or half-open) is replaced. Answers with the table it must load.
   */
  register(peer: ServerPeer, d: ServerDescriptor & { lastEpoch?: number }, log: Logger): Ack<{ snapshot: TableSnapshot }> {
    const { feed, seat, clock, heartbeatMs, missedHeartbeats } = this.#o;
    // A server that beats less often than this hub expects would be removed for missed heartbeats and register again,
    // for ever: refused once, naming both periods (fatal at the server, as any bad-request registration), before
    // anything changes here.
    if (d.heartbeatMs !== undefined && d.heartbeatMs > heartbeatMs)
      return ackError(
        ErrorCode.badRequest,
        `heartbeat period mismatch: this server beats every ${d.heartbeatMs} ms but the hub expects a heartbeat every ${heartbeatMs} ms ` +
          `(${missedHeartbeats} missed = removed); start the server with --heartbeat-ms ${heartbeatMs} or less, or the hub with --heartbeat-ms ${d.heartbeatMs} or more`,
      );
    const existing = this.#members.get(d.id);
    if (existing && existing.peer !== peer) {
      const fresh = existing.lastSeenMs >= clock.now() - missedHeartbeats * heartbeatMs && existing.peer.connected;
      if (fresh) return ackError(ErrorCode.conflict, `server id ${d.id} is already live`);
      log.info('replacing a stale connection of the same id');
      this.remove(d.id, 'replaced');
      existing.peer.disconnect();
    }
    // Neither goes into the table: the epoch is the seat's, the period only checked here.
    const { lastEpoch, heartbeatMs: _period, ...descriptor } = d;
    seat.carryEpoch(lastEpoch, log);
    this.#members.set(d.id, { id: d.id, peer, lastSeenMs: clock.now(), instance: d.instance, lists: new RowLists(d) });
    feed.commit({ type: 'server-joined', server: { ...descriptor, joinedAtMs: clock.now() } });
    // With several hubs the join is in the table only once read back from the log: the lease
    // holder designates then (`DirectorSeat.reconcile`).
    if (!feed.shared && !feed.table.director) void seat.designate(RotationReason.firstServer);
    feed.flush();
    return { ok: true, snapshot: feed.table.snapshot() };
  }

  /** Several hubs: the row of `id` (of process `instance`) was read back: from now on the table must hold it (`dropGhost`). */
  rowSeen(id: string, instance: string | undefined): void {
    const m = this.#members.get(id);
    if (m && m.instance === instance) m.inTable = true;
  }

  /**
   * Several hubs: `id` is registered here and its row was read back, but the table no longer holds it — another hub
   * removed it (the lease holder's sweep when its beats lapsed, say after a Redis outage or a stall) or a snapshot
   * without it was loaded. Left so, the server would beat here for ever, invisible to the director: it is disconnected
   * and registers again (here or on another hub) with its whole state. A `server-left` read back before this
   * registration's own row is an earlier registration's and changes nothing.
   */
  dropGhost(id: string): void {
    const m = this.#members.get(id);
    if (!m?.inTable || this.#o.feed.table.get(id)) return;
    this.#members.delete(id);
    this.#o.log.warn({ server: id }, 'a server registered here is no longer in the table (another hub removed it): it registers again');
    m.peer.disconnect();
  }

  /** Several hubs: `dropGhost` for every server registered here, after the table jumped to a snapshot. */
  dropGhosts(): void {
    for (const [id, m] of [...this.#members]) {
      const row = this.#o.feed.table.get(id);
      // Its row came in the snapshot: from now on the table must hold it.
      if (row && row.instance === m.instance) m.inTable = true;
      else if (!row) this.dropGhost(id);
    }
  }

  /** A heartbeat from `peer`; returns the table version, or null when `peer` is not the registered connection of `id`. */
  heartbeat(id: string, peer: ServerPeer, load: ServerLoad | undefined): number | null {
    const m = this.#members.get(id);
    if (!m || m.peer !== peer) return null;
    m.lastSeenMs = this.#o.clock.now();
    if (load) this.#o.feed.commit({ type: 'load', id, load });
    return this.#o.feed.table.version;
  }

  /**
   * A server reports changes to its own row (it counts as a sign of life). A delta that would take the row past what a
   * registration may list is refused (`RowLists`), the others taken; the answer names the first refused.
   */
  report(id: string, deltas: readonly OwnDelta[]): Ack {
    const m = this.#members.get(id);
    if (!m) return ackError(ErrorCode.badRequest, `server ${id} is not registered with this hub`);
    m.lastSeenMs = this.#o.clock.now();
    const refused: string[] = [];
    for (const own of deltas) {
      const why = m.lists.take(own);
      if (why) refused.push(why);
      else this.#o.feed.commit({ ...own, id } as Delta);
    }
    if (refused.length === 0) return { ok: true };
    return ackError(ErrorCode.badRequest, `${refused.length} of ${deltas.length} report deltas refused; first: ${refused[0]}`);
  }

  /**
   * Several hubs: the registered connection `peer` of `id` says it moves to another hub. It stops being a member here
   * (its disconnect then removes nothing) but stays in the table: it registers elsewhere at once, and if it never beats
   * through any hub the lease holder's sweep of the cluster's heartbeats removes it (`removeSilent`). A lone hub has no
   * such sweep, so it refuses: a server could otherwise leave a row behind that nothing ever removes.
   */
  moving(id: string, peer: ServerPeer): Ack {
    if (!this.#o.feed.shared || !this.#o.shared)
      return ackError(ErrorCode.badRequest, 'this hub shares no cluster: there is no other hub to move to');
    if (this.#members.get(id)?.peer !== peer) return ackError(ErrorCode.badRequest, 'not the registered connection of this server');
    this.#members.delete(id);
    return { ok: true };
  }

  /** The connection `peer` of server `id` is gone; only the registered one removes the server. */
  disconnected(id: string, peer: ServerPeer, reason: string): void {
    if (this.#members.get(id)?.peer === peer) this.remove(id, reason);
  }

  remove(id: string, reason: string): void {
    if (this.#o.feed.shared) return this.#removeShared(id, reason);
    const { feed, seat, clock, log } = this.#o;
    if (!feed.table.get(id)) return;
    const wasDirector = feed.table.director?.id === id;
    const lastSeenMs = this.#members.get(id)?.lastSeenMs ?? clock.now();
    feed.commit({ type: 'server-left', id, reason });
    this.#members.delete(id);
    this.#o.onRemoved({ id, atMs: clock.now(), lastSeenMs, reason });
    log.info({ server: id, reason }, 'server removed');
    if (wasDirector || !feed.table.director) void seat.designate(wasDirector ? RotationReason.directorLeft : RotationReason.noDirector);
  }

  /**
   * Several hubs: the connection here is gone, but the server may have moved to another hub
   * (this one was cut off, or the server switched). It leaves the table only when the cluster's
   * heartbeats say it is gone; while Redis cannot say, it stays (the lease holder's sweep decides
   * later). Its sessions end on every hub when the `server-left` is read back (`HubCore`).
   */
  #removeShared(id: string, reason: string): void {
    const { feed, log, shared } = this.#o;
    this.#members.delete(id);
    if (!shared) return;
    shared.goneFromCluster(id).then(
      (gone) => {
        if (!gone || this.#members.has(id) || !feed.table.get(id)) return;
        feed.commit({ type: 'server-left', id, reason });
        log.info({ server: id, reason }, 'server removed');
      },
      () => log.warn({ server: id, reason }, 'server left this hub; liveness unknown while Redis is away: kept in the table'),
    );
  }

  /** Several hubs: the lease holder found `id`'s cluster heartbeat expired (its hub died, or it did). */
  removeSilent(id: string, reason: string): void {
    if (this.#members.has(id) || !this.#o.feed.table.get(id)) return;
    this.#o.feed.commit({ type: 'server-left', id, reason });
    this.#o.log.info({ server: id, reason }, 'server removed (no heartbeat through any hub)');
  }

  /**
   * The hub blocked its own loop on purpose (loading its datasets after it started listening): as after a
   * stall, the servers' silence meanwhile proves nothing, so everyone gets a fresh start; said at info, not warn.
   */
  excuseBusy(what: string, busyMs: number): void {
    const now = this.#o.clock.now();
    this.#lastCheckMs = now;
    for (const m of this.#members.values()) m.lastSeenMs = now;
    this.#o.log.info({ busyMs: Math.round(busyMs) }, `${what}; liveness grace for all servers`);
  }

  /** Run every `checkMs`: removes (and disconnects) servers that missed too many heartbeats. */
  checkLiveness(checkMs: number): void {
    const { clock, heartbeatMs, missedHeartbeats, metrics, log } = this.#o;
    const now = clock.now();
    const stalledMs = now - this.#lastCheckMs - checkMs;
    this.#lastCheckMs = now;
    if (stalledMs > heartbeatMs) {
      // The hub itself was not running (event loop blocked, process paused):
      // the servers' silence proves nothing, so give everyone a fresh start.
      log.warn({ stalledMs }, 'hub stalled; liveness grace for all servers');
      for (const m of this.#members.values()) m.lastSeenMs = now;
      return;
    }
    const lastSeen = new Map([...this.#members.values()].map((m) => [m.id, m.lastSeenMs]));
    for (const id of expired(lastSeen, now, heartbeatMs, missedHeartbeats)) {
      const m = this.#members.get(id)!;
      metrics.missedHeartbeats.inc();
      this.remove(id, 'missed-heartbeats');
      m.peer.disconnect();
    }
  }
}
