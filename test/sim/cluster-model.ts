// Fake media servers holding replicas, for simulations of the real hub core (`SimHub`), and table comparison.
import { ReplicaFollower } from '../../common/replica-follower.js';
import type { StateTable } from '../../signaling/protocol/state-table.js';
import type {
  AssetInfo,
  LiveInfo,
  OwnDelta,
  ServerDescriptor,
  ServerLoad,
  TableSnapshot,
  VersionedDelta,
} from '../../signaling/protocol/types.js';
import type { FakeClock } from './fake-clock.js';
import { HEARTBEAT_MS, type SimHub, type SimServer } from './memory-link.js';
import { deepFreeze } from './sim-network.js';

// ---- a fake media server ----------------------------------------------------------------

export class FakeServer implements SimServer {
  readonly cache = new Set<string>();
  readonly storage = new Map<string, AssetInfo>();
  readonly live = new Map<string, LiveInfo>();
  load: ServerLoad = { sessions: 0, egressMbps: 0, cpu: 0 };
  alive = true;
  readonly stats = { gaps: 0, resyncs: 0, behind: 0 };
  /** The media server's and the dashboard's follower, so the sim tests the one that runs. */
  readonly #follower = new ReplicaFollower({
    // The snapshot comes back as a message (onSnapshot), whose load ends the resync: this promise is never settled.
    requestSnapshot: () => {
      this.stats.resyncs++;
      this.hub.resync(this);
      return new Promise<TableSnapshot>(() => {});
    },
  });
  #lastAckVersion = 0;
  #stopHeartbeats: (() => void) | null = null;

  constructor(
    readonly id: string,
    readonly region: string,
    private readonly hub: SimHub,
    private readonly clock: FakeClock,
  ) {}

  get replica(): StateTable {
    return this.#follower.table;
  }

  start(heartbeatPhaseMs: number): void {
    this.#register();
    this.#stopHeartbeats = this.clock.every(HEARTBEAT_MS, () => this.hub.heartbeat(this), heartbeatPhaseMs);
  }

  /**
   * A refusal (a stale connection of this id still counted live) is retried, as the
   * media server does; every heartbeat rather than with its jittered backoff, so the
   * seeded scenario stays deterministic and short.
   */
  onRegisterRefused(): void {
    if (this.alive) this.clock.after(HEARTBEAT_MS, () => this.alive && this.#register());
  }

  #register(): void {
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
    this.hub.register(this, descriptor);
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
    this.hub.report(this, frozen);
  }

  onDeltas(batch: readonly VersionedDelta[]): void {
    if (!this.alive) return;
    const resyncing = this.#follower.resyncing;
    this.#follower.offer(batch);
    if (!resyncing && this.#follower.resyncing) this.stats.gaps++;
  }

  onSnapshot(snapshot: TableSnapshot): void {
    if (this.alive) this.#follower.load(snapshot);
  }

  /**
   * The ack carries the hub's version. Still short of what the hub had one
   * heartbeat ago means a delta was lost with nothing after it to reveal the gap.
   */
  onHeartbeatAck(hubVersion: number): void {
    if (!this.alive) return;
    if (this.replica.version < this.#lastAckVersion) {
      this.stats.behind++;
      void this.#follower.resync();
    }
    this.#lastAckVersion = hubVersion;
  }

  crash(): void {
    this.alive = false;
    this.#stopHeartbeats?.();
  }

  leave(): void {
    this.crash();
    this.hub.leave(this);
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
