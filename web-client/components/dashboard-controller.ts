// The dashboard's async work: a /dashboard socket, a StateTable replica, load samples and the decision logs.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { type DecisionEvent, parse } from '../../signaling/protocol/messages.js';
import { isOverloaded, loadFactor } from '../../signaling/protocol/load-factor.js';
import type { StateTable, ServerRow } from '../../signaling/protocol/state-table.js';
import { ReplicaFollower } from '../../common/replica-follower.js';
import { decisionEventSchema, snapshotReplySchema } from '../../signaling/protocol/table-messages.js';
import type { AssetInfo, DirectorInfo, LiveInfo, ServerLoad } from '../../signaling/protocol/types.js';
import { HubConnection } from './hub-connection.js';
import { ACK_TIMEOUT_MS, connectDashboard, type DashboardSocket } from './hub-socket.js';

/** Load factors are sampled this often, client-side (ms). */
export const SAMPLE_INTERVAL_MS = 1_000;
/** Samples kept per server: five minutes at one per second. */
export const MAX_SAMPLES = 300;
/** Entries kept in each log. */
const MAX_WATCH_DECISIONS = 25;
const MAX_INGEST_DECISIONS = 15;
const MAX_DIRECTOR_HISTORY = 30;

export type DashboardConnection = 'connecting' | 'live' | 'resyncing' | 'offline';

/** One server as the dashboard shows it: a plain copy of the replica row plus derived figures. */
export interface ServerView {
  id: string;
  region: string;
  lat: number;
  lon: number;
  roles: string[];
  maxSessions: number;
  uplinkMbps: number;
  joinedAtMs: number;
  load: ServerLoad;
  loadFactor: number;
  overloaded: boolean;
  isDirector: boolean;
  cache: string[];
  storage: AssetInfo[];
  live: LiveInfo[];
  /** Load factor once per second, oldest first. */
  samples: number[];
}

/** A server that left the table while this page watched (`server-left`), newest first in `departures`. */
export interface Departure {
  id: string;
  region: string | null;
  /** The hub's reason: `missed-heartbeats` (died, hung or cut off), `replaced`, or its connection's close. */
  reason: string;
  atMs: number;
}

/** Departures kept on the page (the newest); one that registers again leaves the list. */
export const MAX_DEPARTURES = 10;

/** One tenure of the director role; `id` null while no server held it. */
export interface DirectorTenure {
  id: string | null;
  epoch: number | null;
  atMs: number;
  reason: string | null;
}

export type WatchDecision = Extract<DecisionEvent, { kind: 'watch' }>;
export type IngestDecision = Extract<DecisionEvent, { kind: 'publish' }>;

export class DashboardController implements ReactiveController {
  /** True once a snapshot has arrived (before that, "no servers" would be a guess). */
  loaded = false;
  watchDecisions: WatchDecision[] = [];
  ingestDecisions: IngestDecision[] = [];
  /** Newest first. */
  directorHistory: DirectorTenure[] = [];
  /** Servers that left while this page watched, newest first: a dead server's card vanishes, this says so. */
  departures: Departure[] = [];

  readonly #host: ReactiveControllerHost;
  readonly #replica = new ReplicaFollower({
    requestSnapshot: () => this.#requestSnapshot(),
    untrusted: {
      rejected: (what, why) => console.warn(`dashboard: dropped a malformed ${what} from the hub (${why}); asking for a snapshot`),
    },
    onApplied: (vd) => {
      const d = vd.d;
      if (d.type === 'director') this.#noteDirector(d.director, d.director?.sinceMs ?? Date.now(), null);
      else if (d.type === 'server-left') {
        const left: Departure = { id: d.id, region: this.#regions.get(d.id) ?? null, reason: d.reason, atMs: Date.now() };
        this.departures = [left, ...this.departures.filter((x) => x.id !== d.id)].slice(0, MAX_DEPARTURES);
      } else if (d.type === 'server-joined') {
        this.#regions.set(d.server.id, d.server.region);
        this.departures = this.departures.filter((x) => x.id !== d.server.id);
      }
    },
    onResync: (e) => {
      if (e.phase === 'done') this.#resyncError = null;
      if (e.phase === 'failed')
        this.#resyncError = e.error instanceof Error && e.error.message ? e.error.message : 'The hub did not answer the resync request.';
      this.#host.requestUpdate();
    },
  });
  readonly #samples = new Map<string, number[]>();
  /** Each server's region as last sampled: a departure's row is gone from the table when it is noted. */
  readonly #regions = new Map<string, string>();
  readonly #hub: HubConnection<DashboardSocket>;
  #sampleTimer: ReturnType<typeof setInterval> | undefined;
  /** Why the last resync failed; cleared by a new connection or a good resync. */
  #resyncError: string | null = null;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    this.#hub = new HubConnection(host, {
      open: connectDashboard,
      // The hub replays its recent decisions on every connection: start the logs afresh.
      onConnect: () => {
        this.#resyncError = null;
        this.watchDecisions = [];
        this.ingestDecisions = [];
        this.directorHistory = [];
      },
      wire: (socket) => {
        socket.on('snapshot', (s) => this.#load(s));
        socket.on('deltas', (batch) => this.#onDeltas(batch));
        socket.on('decision', (d) => this.#onDecision(d));
      },
    });
    host.addController(this);
  }

  get connection(): DashboardConnection {
    if (this.#replica.resyncing) return 'resyncing';
    return this.#hub.state === 'connected' ? 'live' : this.#hub.state;
  }

  get lastError(): string | null {
    return this.#resyncError ?? this.#hub.lastError;
  }

  get version(): number {
    return this.#table.version;
  }

  get director(): DirectorInfo | null {
    return this.#table.director;
  }

  /** Servers sorted by id, as fresh plain objects (so child components see a change). */
  get servers(): ServerView[] {
    const director = this.#table.director?.id;
    return [...this.#table.servers()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((row) => toView(row, row.id === director, this.#samples.get(row.id) ?? []));
  }

  region(serverId: string): string | null {
    return this.#table.get(serverId)?.region ?? null;
  }

  hostConnected(): void {
    this.#sampleTimer = setInterval(this.#sample, SAMPLE_INTERVAL_MS);
  }

  hostDisconnected(): void {
    clearInterval(this.#sampleTimer);
  }

  get #table(): StateTable {
    return this.#replica.table;
  }

  #load(raw: unknown): void {
    const snapshot = this.#replica.load(raw);
    if (!snapshot) return;
    this.loaded = true;
    for (const row of this.#table.servers()) this.#regions.set(row.id, row.region);
    // A vacancy in a snapshot is a state, not an event: only real changes enter the history.
    if (snapshot.director) this.#noteDirector(snapshot.director, snapshot.director.sinceMs, null);
    this.#host.requestUpdate();
  }

  #onDeltas(batch: unknown): void {
    this.#replica.offer(batch);
    this.#host.requestUpdate();
  }

  /**
   * The cluster's hubs from the hub this dashboard is connected to now — after its page's own hub died, another of the
   * cluster (a same-origin `/api/hubs` would ask the dead one). Resolves to `{ hubs }`, as `GET /api/hubs` answers;
   * undefined while the socket is not connected (the page asks its own origin then).
   */
  async hubs(): Promise<unknown> {
    const socket = this.#hub.socket;
    if (!socket?.connected) return undefined;
    let r: unknown;
    try {
      r = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('hubs');
    } catch {
      throw new Error('the hub did not answer');
    }
    const a = r as { ok?: boolean; message?: string; hubs?: unknown };
    if (a?.ok !== true) throw new Error(a?.message ?? 'the hub answered with a malformed reply');
    return { hubs: a.hubs };
  }

  /** A resync: the hub's answer within ACK_TIMEOUT_MS, or a reason the page can show. */
  async #requestSnapshot(): Promise<unknown> {
    const socket = this.#hub.socket;
    if (!socket) throw new Error('The dashboard is not connected to the hub.');
    let raw: unknown;
    try {
      raw = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('resync');
    } catch {
      throw new Error('The hub did not answer the resync request.');
    }
    // The ack only: the snapshot in it is parsed by the replica that loads it.
    const r = snapshotReplySchema.safeParse(raw);
    if (!r.success) throw new Error('The hub answered the resync request with a malformed reply.');
    if (!r.data.ok) throw new Error(r.data.message);
    return r.data.snapshot;
  }

  #onDecision(raw: unknown): void {
    const p = parse(decisionEventSchema, raw);
    if (!p.ok) return console.warn(`dashboard: dropped a malformed decision from the hub (${p.message})`);
    const d = p.value;
    switch (d.kind) {
      case 'watch':
        this.watchDecisions = [d, ...this.watchDecisions].slice(0, MAX_WATCH_DECISIONS);
        break;
      case 'publish':
        this.ingestDecisions = [d, ...this.ingestDecisions].slice(0, MAX_INGEST_DECISIONS);
        break;
      case 'director':
        this.#noteDirector(d.director, d.atMs, d.reason);
        break;
    }
    this.#host.requestUpdate();
  }

  /**
   * Director changes reach us twice (a table delta and a decision with the
   * reason); both land on the same tenure, keyed by epoch.
   */
  #noteDirector(director: DirectorInfo | null, atMs: number, reason: string | null): void {
    const history = [...this.directorHistory];
    const epoch = director?.epoch ?? null;
    const i = history.findIndex((t) => (director ? t.epoch === epoch && t.id === director.id : t.id === null && t.atMs === atMs));
    if (i >= 0) {
      const t = history[i]!;
      history[i] = { ...t, reason: reason ?? t.reason, atMs: director?.sinceMs ?? t.atMs };
    } else {
      // A vacancy right after the same vacancy adds nothing.
      if (!director && history[0]?.id === null) return;
      history.push({ id: director?.id ?? null, epoch, atMs: director?.sinceMs ?? atMs, reason });
    }
    history.sort((a, b) => b.atMs - a.atMs || (b.epoch ?? -1) - (a.epoch ?? -1));
    this.directorHistory = history.slice(0, MAX_DIRECTOR_HISTORY);
  }

  readonly #sample = (): void => {
    for (const id of this.#samples.keys()) {
      if (!this.#table.get(id)) this.#samples.delete(id);
    }
    for (const id of this.#regions.keys()) if (!this.#table.get(id)) this.#regions.delete(id);
    for (const row of this.#table.servers()) {
      this.#regions.set(row.id, row.region);
      let s = this.#samples.get(row.id);
      if (!s) this.#samples.set(row.id, (s = []));
      s.push(loadFactor(row));
      if (s.length > MAX_SAMPLES) s.splice(0, s.length - MAX_SAMPLES);
    }
    this.#host.requestUpdate();
  };
}

function toView(row: ServerRow, isDirector: boolean, samples: number[]): ServerView {
  return {
    id: row.id,
    region: row.region,
    lat: row.lat,
    lon: row.lon,
    roles: [...row.roles],
    maxSessions: row.maxSessions,
    uplinkMbps: row.uplinkMbps,
    joinedAtMs: row.joinedAtMs,
    load: row.load,
    loadFactor: loadFactor(row),
    overloaded: isOverloaded(row),
    isDirector,
    cache: [...row.cache].sort(),
    storage: [...row.storage.values()].sort((a, b) => a.id.localeCompare(b.id)),
    live: [...row.live.values()],
    samples: [...samples],
  };
}
