// The hub without a transport: the parts wired together, timers on the given clock, and the calls a transport makes.
import type {
  DecisionEvent,
  OwnDelta,
  SelectDecision,
  ServerDescriptor,
  ServerLoad,
  SignalMessage,
  TableSnapshot,
  Ack,
  VersionedDelta,
  WatchRequest,
} from '../protocol/index.js';
import { StateTable } from '../protocol/index.js';
import { CatalogView } from '../catalog-view.js';
import { DecisionLog } from '../decision-log.js';
import { publicDecision } from '../geo/public-place.js';
import { createHubMetrics, type HubMetrics } from '../hub-metrics.js';
import type { Logger } from '../log.js';
import { RotationReason } from '../policies/rotation.js';
import { DeltaFeed } from './delta-feed.js';
import { DirectorClient } from './director-client.js';
import { DirectorSeat, type DirectorChange } from './director-seat.js';
import {
  SOLE_HUB_LEASE,
  type HubClock,
  type HubLink,
  type RotationLease,
  type ServerPeer,
  type SharedLiveness,
  type SharedLog,
} from './link.js';
import { Membership, type Removal } from './membership.js';
import { RoutingBudget } from './routing-budget.js';
import { PublishRouter, type PlaceOn, type PublishOptions } from './publish-router.js';
import { SessionRelay, type RelayOutcome } from './session-relay.js';
import type { SessionLimits } from './session-registry.js';
import { WatchRouter } from './watch-router.js';

export interface HubCoreOptions {
  link: HubLink;
  clock: HubClock;
  log: Logger;
  /** Expected heartbeat period of servers, ms. 3 missed = removed. */
  heartbeatMs: number;
  /** How often liveness is checked, ms (default `heartbeatMs`). */
  livenessCheckMs?: number;
  /** Director rotation period, ms (0 disables the timer). */
  rotationMs: number;
  /** How long the director may take to answer, ms. */
  directorTimeoutMs: number;
  sessionLimits?: Partial<SessionLimits>;
  /** Whether this hub may rotate on its timer (default: always; see `link.ts`). */
  lease?: RotationLease;
  /** Several hubs (issue 16): the shared table's log and the cluster's liveness (`signaling/redis/`). */
  shared?: {
    log: SharedLog;
    liveness: SharedLiveness;
    onLost?: () => void;
    degraded: () => boolean;
    /** Asks the rotation lease holder to replace the director of `epoch` (this hub's own designation would be fenced). */
    requestRotation?: (epoch: number, reason: RotationReason) => void;
  };
  publish: PublishOptions;
  /** Sees every move of the baton and every removal (the simulator's log; tests). */
  observe?: { directorChanged?: (c: DirectorChange) => void; serverRemoved?: (r: Removal) => void };
}

export class HubCore {
  readonly table = new StateTable();
  readonly metrics: HubMetrics;
  readonly catalogView = new CatalogView(this.table);
  readonly feed: DeltaFeed;
  readonly seat: DirectorSeat;
  readonly members: Membership;
  readonly relay: SessionRelay;
  readonly #decisions = new DecisionLog();
  readonly #watch: WatchRouter;
  readonly #director: DirectorClient;
  readonly #publish: PublishRouter;
  readonly #o: HubCoreOptions;
  #stopTimers: (() => void)[] = [];
  #closed = false;
  /**
   * A server's row arrived (registration here, or read back from the shared log), with its process's instance: the
   * hub's WHIP and WHEP routes drop what they hold for another instance of that id.
   */
  onServerJoined?: (serverId: string, instance: string | undefined) => void;

  constructor(o: HubCoreOptions) {
    this.#o = o;
    const { link, clock, log } = o;
    this.metrics = createHubMetrics({ sessionCounts: () => this.relay.counts() });
    const metrics = this.metrics;
    this.feed = new DeltaFeed({
      table: this.table,
      link,
      clock,
      metrics,
      catalog: this.catalogView,
      shared: o.shared?.log,
      onApplied: (d) => {
        // Read back from the shared log: every hub ends its own sessions with a server that left.
        if (d.type === 'server-left') {
          this.relay.serverGone(d.id);
          this.members.dropGhost(d.id);
          o.observe?.serverRemoved?.({ id: d.id, atMs: clock.now(), lastSeenMs: clock.now(), reason: d.reason });
        } else if (d.type === 'director') this.seat.seen(d.director);
      },
      onJoined: (server, replaced) => {
        // Another process under the same id: the old one's sessions died with it (a row removed first ended them already).
        if (replaced && replaced.instance !== server.instance) this.relay.serverGone(server.id);
        this.members.rowSeen(server.id, server.instance);
        this.onServerJoined?.(server.id, server.instance);
      },
      onLost: o.shared?.onLost,
    });
    const record = (event: DecisionEvent) => this.#record(event);
    this.seat = new DirectorSeat({
      feed: this.feed,
      clock,
      metrics,
      log,
      record,
      observe: o.observe?.directorChanged,
      lease: o.lease,
      requestRotation: o.shared?.requestRotation,
    });
    this.members = new Membership({
      feed: this.feed,
      seat: this.seat,
      clock,
      metrics,
      log,
      heartbeatMs: o.heartbeatMs,
      shared: o.shared?.liveness,
      remotePeer: link.remotePeer ? (id) => link.remotePeer!(id) : undefined,
      onRemoved: (r) => {
        this.relay.serverGone(r.id);
        o.observe?.serverRemoved?.(r);
      },
    });
    this.relay = new SessionRelay({ link, members: this.members, limits: o.sessionLimits ?? {} });
    const claims = o.publish.claims;
    if (claims) this.relay.owners.onRelease = (streamId, clientId, keyId) => claims.release(streamId, clientId, keyId);
    const director = new DirectorClient({
      feed: this.feed,
      seat: this.seat,
      members: this.members,
      log,
      directorTimeoutMs: o.directorTimeoutMs,
      degraded: o.shared?.degraded,
    });
    this.#director = director;
    const parts = { feed: this.feed, relay: this.relay, director, clock, metrics, record };
    this.#watch = new WatchRouter(parts);
    this.#publish = new PublishRouter({ ...parts, ...o.publish });
  }

  /** The director's `select` for one viewer placed outside a watch session (a WHEP player), with one request's budget. */
  select(assetId: string, exclude: string[]): Promise<Ack<SelectDecision>> {
    return this.#director.ask(new RoutingBudget(() => this.#o.clock.now()), 'select', { assetId, exclude });
  }

  /** Recent decisions (each kind bounded on its own), newest last. */
  get decisions(): readonly DecisionEvent[] {
    return this.#decisions.all();
  }

  /** True once `stop` was called: departures are then the hub's own doing, not the servers' failures. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts liveness checks and the rotation timer. */
  start(): void {
    const { clock, heartbeatMs, rotationMs, lease = SOLE_HUB_LEASE } = this.#o;
    const checkMs = this.#o.livenessCheckMs ?? heartbeatMs;
    this.members.startClock();
    this.#stopTimers.push(clock.every(checkMs, () => this.members.checkLiveness(checkMs)));
    if (rotationMs > 0)
      this.#stopTimers.push(clock.every(rotationMs, () => lease.held(clock.now()) && this.seat.rotate(RotationReason.timer)));
  }

  /**
   * Several hubs: deltas read back from the shared log, in order. The lease holder then repairs
   * the director seat. `gap`: deltas are missing here; load a snapshot (`loadShared`) and read on.
   */
  applyShared(batch: readonly VersionedDelta[]): 'applied' | 'gap' {
    const r = this.feed.apply(batch);
    this.#reconcile();
    return r;
  }

  /** Several hubs: the table jumps to a snapshot of the shared table (start-up, or after a gap). */
  loadShared(snapshot: TableSnapshot): void {
    this.feed.load(snapshot);
    this.members.dropGhosts();
    this.seat.seen(snapshot.director);
    this.#reconcile();
  }

  /** Several hubs: the lease changed hands; a new holder repairs the seat at once. */
  leaseChanged(): void {
    this.#reconcile();
  }

  /** Several hubs: servers whose cluster heartbeat expired (the lease holder's sweep). */
  removeSilent(ids: readonly string[]): void {
    for (const id of ids) this.members.removeSilent(id, 'missed-heartbeats');
  }

  #reconcile(): void {
    const lease = this.#o.lease ?? SOLE_HUB_LEASE;
    if (!this.#closed && lease.held(this.#o.clock.now())) this.seat.reconcile();
  }

  /** Idempotent: stops the timers; sessions stay (media flows peer to peer and needs no hub). */
  stop(): void {
    this.#closed = true;
    for (const stop of this.#stopTimers.splice(0)) stop();
  }

  // ---- media servers ---------------------------------------------------------------

  register(peer: ServerPeer, descriptor: ServerDescriptor & { lastEpoch?: number }, log: Logger): Ack<{ snapshot: TableSnapshot }> {
    return this.members.register(peer, descriptor, log);
  }

  /** Returns the table version, or null when `peer` is not the registered connection of `id`. */
  heartbeat(id: string, peer: ServerPeer, load?: ServerLoad): number | null {
    return this.members.heartbeat(id, peer, load);
  }

  report(id: string, deltas: readonly OwnDelta[]): Ack {
    return this.members.report(id, deltas);
  }

  /** The whole table, after every pending delta went out (a resync, a dashboard joining). */
  snapshot(): TableSnapshot {
    return this.feed.snapshot();
  }

  serverSignal(serverId: string, msg: SignalMessage): RelayOutcome {
    return this.relay.fromServer(serverId, msg);
  }

  serverClosedSession(serverId: string, sessionId: string): RelayOutcome {
    return this.relay.closedByServer(serverId, sessionId);
  }

  sessionConnected(serverId: string, sessionId: string): RelayOutcome {
    return this.relay.connected(serverId, sessionId);
  }

  /** Several hubs: server `id` leaves this hub for another, staying in the table (`Membership.moving`). */
  serverMoving(id: string, peer: ServerPeer): Ack {
    return this.members.moving(id, peer);
  }

  serverDisconnected(id: string, peer: ServerPeer, reason: string): void {
    // The hub shutting down is not the server failing: its viewers must not be told to move.
    if (!this.#closed) this.members.disconnected(id, peer, reason);
  }

  // ---- clients -------------------------------------------------------------------------

  watch(clientId: string, ip: string | null, req: WatchRequest) {
    return this.#watch.watch(clientId, ip, req);
  }

  publish(clientId: string, req: Parameters<PublishRouter['publish']>[1], ip: string | null, on?: PlaceOn) {
    return this.#publish.publish(clientId, req, ip, on);
  }

  clientSignal(clientId: string, msg: SignalMessage): RelayOutcome {
    return this.relay.fromClient(clientId, msg);
  }

  leave(clientId: string, sessionId: string): RelayOutcome {
    return this.relay.leave(clientId, sessionId);
  }

  clientDisconnected(clientId: string): void {
    // On hub shutdown the sessions stay: media flows peer to peer and needs no hub.
    if (!this.#closed) this.relay.closeClient(clientId, 'client-gone');
  }

  #record(event: DecisionEvent): void {
    // Only the public form is kept: the log is what /api/decisions and the dashboard show.
    const d = publicDecision(event);
    this.#decisions.record(d);
    this.#o.link.publishDecision(d);
  }
}
