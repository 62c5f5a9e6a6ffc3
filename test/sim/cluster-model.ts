// The cluster model for simulations: a hub on the real reducer and policies, and fake media servers holding replicas.
import { expired, DEFAULT_MISSED_HEARTBEATS as MISSED_HEARTBEATS } from '../../signaling/policies/liveness.js';
import { nextDirector } from '../../signaling/policies/rotation.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type {
  AssetInfo,
  Delta,
  DirectorInfo,
  LiveInfo,
  OwnDelta,
  ServerDescriptor,
  ServerLoad,
  TableSnapshot,
  VersionedDelta,
} from '../../signaling/protocol/types.js';
import type { FakeClock } from './fake-clock.js';
import { deepFreeze, type Network } from './sim-network.js';

export const HEARTBEAT_MS = 1_000;
export { DEFAULT_MISSED_HEARTBEATS as MISSED_HEARTBEATS } from '../../signaling/policies/liveness.js';
export const LIVENESS_CHECK_MS = 250;
/** Longer than failure detection (3 heartbeats + one check), so a failover is never pre-empted by the timer. */
export const ROTATION_MS = 4_000;
/** The hub batches deltas like one event-loop turn of the real one. */
export const FLUSH_MS = 10;

export interface DirectorChange {
  previous: DirectorInfo | null;
  director: DirectorInfo;
  reason: string;
  /** Sorted ids in the table when the baton moved. */
  ids: string[];
}

export interface Removal {
  id: string;
  atMs: number;
  lastSeenMs: number;
  reason: string;
}

/** The hub as the sim needs it: the authoritative table, heartbeats, liveness, rotation, delta fan-out. */
export class HubModel {
  readonly table = new StateTable();
  readonly directorLog: DirectorChange[] = [];
  readonly removals: Removal[] = [];
  readonly #links = new Map<string, FakeServer>();
  readonly #lastSeen = new Map<string, number>();
  #lastDirector: DirectorInfo | null = null;
  #pending: VersionedDelta[] = [];
  #flushScheduled = false;
  readonly #snapshotWaiters: FakeServer[] = [];

  constructor(
    private readonly clock: FakeClock,
    private readonly net: Network,
  ) {
    clock.every(LIVENESS_CHECK_MS, () => this.#checkLiveness());
    clock.every(ROTATION_MS, () => this.#rotate('timer'));
  }

  /** No delta waiting for the next flush. */
  get idle(): boolean {
    return !this.#flushScheduled;
  }

  get registered(): number {
    return this.#links.size;
  }

  register(descriptor: ServerDescriptor, server: FakeServer): void {
    this.#links.set(descriptor.id, server);
    this.#lastSeen.set(descriptor.id, this.clock.now);
    this.#commit({ type: 'server-joined', server: { ...descriptor, joinedAtMs: this.clock.now } });
    if (!this.table.director) this.#rotate('vacant');
    this.#snapshotWaiters.push(server);
  }

  heartbeat(id: string, server: FakeServer): void {
    if (this.#links.get(id) !== server) return; // not registered (any more): it must register again
    this.#lastSeen.set(id, this.clock.now);
    const version = this.table.version;
    this.net.send(() => server.onHeartbeatAck(version), 'control');
  }

  report(id: string, server: FakeServer, own: OwnDelta): void {
    if (this.#links.get(id) !== server) return;
    this.#commit({ ...own, id } as Delta);
  }

  leave(id: string, server: FakeServer): void {
    if (this.#links.get(id) === server) this.#remove(id, 'left');
  }

  resync(server: FakeServer): void {
    if (this.#links.get(server.id) !== server) return;
    this.#snapshotWaiters.push(server);
    this.#scheduleFlush();
  }

  #commit(d: Delta): void {
    this.#pending.push(this.table.commit(d));
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.clock.after(FLUSH_MS, () => this.#flush());
  }

  /**
   * Once per turn: the delta batch to every registered server, then one
   * snapshot for everyone who registered or asked for a resync during the turn.
   */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = deepFreeze(this.#pending.splice(0));
    if (batch.length > 0) {
      for (const server of this.#links.values()) this.net.send(() => server.onDeltas(batch), 'lossy-state');
    }
    const waiters = this.#snapshotWaiters.splice(0).filter((w) => this.#links.get(w.id) === w);
    if (waiters.length === 0) return;
    // Rows are copied into Sets and Maps on load; the leaves they share (loads,
    // asset and live records) came frozen from the servers that reported them.
    const snapshot = Object.freeze(this.table.snapshot());
    for (const w of waiters) this.net.send(() => w.onSnapshot(snapshot), 'state');
  }

  #remove(id: string, reason: string): void {
    const wasDirector = this.table.director?.id === id;
    this.removals.push({ id, atMs: this.clock.now, lastSeenMs: this.#lastSeen.get(id)!, reason });
    this.#links.delete(id);
    this.#lastSeen.delete(id);
    this.#commit({ type: 'server-left', id, reason });
    if (wasDirector) this.#rotate('director-failed');
  }

  #checkLiveness(): void {
    for (const id of expired(this.#lastSeen, this.clock.now, HEARTBEAT_MS, MISSED_HEARTBEATS)) this.#remove(id, 'heartbeat');
  }

  #rotate(reason: string): void {
    // The table forgets a director that left; the hub remembers it so the order carries on.
    const previous = this.table.director ?? this.#lastDirector;
    const next = nextDirector(this.table, previous, this.clock.now, reason);
    if (!next) return;
    this.directorLog.push({ previous, director: next, reason, ids: this.table.ids().sort() });
    this.#lastDirector = next;
    this.#commit({ type: 'director', director: next });
  }
}

// ---- a fake media server ----------------------------------------------------------------

export class FakeServer {
  readonly replica = new StateTable();
  readonly cache = new Set<string>();
  readonly storage = new Map<string, AssetInfo>();
  readonly live = new Map<string, LiveInfo>();
  load: ServerLoad = { sessions: 0, egressMbps: 0, cpu: 0 };
  alive = true;
  readonly stats = { gaps: 0, resyncs: 0, behind: 0 };
  /** True from a snapshot request (or registration) until a snapshot arrives. */
  #awaitingSnapshot = false;
  #lastAckVersion = 0;
  #stopHeartbeats: (() => void) | null = null;

  constructor(
    readonly id: string,
    readonly region: string,
    private readonly hub: HubModel,
    private readonly clock: FakeClock,
    private readonly net: Network,
  ) {}

  start(heartbeatPhaseMs: number): void {
    const descriptor = deepFreeze<ServerDescriptor>({
      id: this.id,
      region: this.region,
      lat: 0,
      lon: 0,
      roles: ['edge', 'ingest'],
      maxSessions: 100,
      uplinkMbps: 1000,
      load: this.load,
      cache: [...this.cache],
      storage: [...this.storage.values()],
      live: [...this.live.values()],
    });
    this.#awaitingSnapshot = true;
    this.net.send(() => this.hub.register(descriptor, this), 'state');
    this.#stopHeartbeats = this.clock.every(
      HEARTBEAT_MS,
      () => this.net.send(() => this.hub.heartbeat(this.id, this), 'control'),
      heartbeatPhaseMs,
    );
  }

  /** Change its own state and report it, like the media server does after a cache change. */
  report(own: OwnDelta): void {
    switch (own.type) {
      case 'cache-add':
        for (const a of own.assets) this.cache.add(a);
        break;
      case 'cache-remove':
        for (const a of own.assets) this.cache.delete(a);
        break;
      case 'storage-add':
        for (const a of own.assets) this.storage.set(a.id, a);
        break;
      case 'storage-remove':
        for (const a of own.assets) this.storage.delete(a);
        break;
      case 'live':
        this.live.set(own.stream.id, own.stream);
        break;
      case 'live-remove':
        this.live.delete(own.assetId);
        break;
      case 'load':
        this.load = own.load;
        break;
    }
    const frozen = deepFreeze(own);
    this.net.send(() => this.hub.report(this.id, this, frozen), 'control');
  }

  onDeltas(batch: readonly VersionedDelta[]): void {
    if (!this.alive) return;
    for (const vd of batch) {
      if (this.replica.offer(vd) === 'gap') {
        this.stats.gaps++;
        this.#requestSnapshot();
        return;
      }
    }
  }

  onSnapshot(snapshot: TableSnapshot): void {
    if (!this.alive) return;
    this.#awaitingSnapshot = false;
    if (snapshot.version > this.replica.version) this.replica.load(snapshot);
  }

  /**
   * The ack carries the hub's version. Still short of what the hub had one
   * heartbeat ago means a delta was lost with nothing after it to reveal the gap.
   */
  onHeartbeatAck(hubVersion: number): void {
    if (!this.alive) return;
    if (this.replica.version < this.#lastAckVersion) {
      this.stats.behind++;
      this.#requestSnapshot();
    }
    this.#lastAckVersion = hubVersion;
  }

  crash(): void {
    this.alive = false;
    this.#stopHeartbeats?.();
  }

  leave(): void {
    this.crash();
    this.net.send(() => this.hub.leave(this.id, this), 'control');
  }

  #requestSnapshot(): void {
    if (this.#awaitingSnapshot) return;
    this.#awaitingSnapshot = true;
    this.stats.resyncs++;
    this.net.send(() => this.hub.resync(this), 'state');
  }
}

// ---- comparing tables ------------------------------------------------------------------

/**
 * The first difference between two tables, or null when they hold the same
 * thing: version, director, and every row with its sets and maps compared as
 * sets (replicas built through different paths hold them in different orders).
 * Row by row rather than through sorted JSON: the sim compares a thousand
 * replicas of a thousand rows each.
 */
export function tableDiff(want: StateTable, got: StateTable): string | null {
  if (got.version !== want.version) return `version ${got.version} ≠ ${want.version}`;
  if (!flatEqual(got.director, want.director)) return `director ${JSON.stringify(got.director)} ≠ ${JSON.stringify(want.director)}`;
  if (got.size !== want.size) return `size ${got.size} ≠ ${want.size}`;
  for (const w of want.servers()) {
    const g = got.get(w.id);
    if (!g) return `missing row ${w.id}`;
    if (
      g.region !== w.region ||
      g.lat !== w.lat ||
      g.lon !== w.lon ||
      g.maxSessions !== w.maxSessions ||
      g.uplinkMbps !== w.uplinkMbps ||
      g.joinedAtMs !== w.joinedAtMs ||
      g.httpUrl !== w.httpUrl ||
      g.roles.length !== w.roles.length ||
      g.roles.some((r, i) => r !== w.roles[i])
    ) {
      return `${w.id}: descriptor fields differ`;
    }
    if (!flatEqual(g.load, w.load)) return `${w.id}.load`;
    if (g.cache.size !== w.cache.size) return `${w.id}.cache size`;
    for (const a of w.cache) if (!g.cache.has(a)) return `${w.id}.cache lacks ${a}`;
    if (g.storage.size !== w.storage.size) return `${w.id}.storage size`;
    for (const [a, v] of w.storage) if (!flatEqual(g.storage.get(a), v)) return `${w.id}.storage.${a}`;
    if (g.live.size !== w.live.size) return `${w.id}.live size`;
    for (const [a, v] of w.live) if (!flatEqual(g.live.get(a), v)) return `${w.id}.live.${a}`;
  }
  return null;
}

/** Equality of flat records (no nested objects). */
function flatEqual(a: object | null | undefined, b: object | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let n = 0;
  for (const k in ra) {
    if (ra[k] !== rb[k]) return false;
    n++;
  }
  for (const _ in rb) n--;
  return n === 0;
}

/** The snapshot with every list sorted, for one readable deep-equal. */
export function normalised(s: TableSnapshot): TableSnapshot {
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    version: s.version,
    director: s.director,
    servers: [...s.servers].sort(byId).map((e) => ({
      ...e,
      cache: [...e.cache].sort(),
      storage: [...e.storage].sort(byId),
      live: [...e.live].sort(byId),
    })),
  };
}
