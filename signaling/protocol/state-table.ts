// The replicated state table: one reducer run by the hub and by every server replica.
import type { AssetInfo, Delta, DirectorInfo, LiveInfo, ServerEntry, ServerLoad, TableSnapshot, VersionedDelta } from './types.js';
import { utilisation, type Utilisation } from './load-factor.js';

/** A server row as held in memory: sets and maps for O(1) membership. */
export interface ServerRow {
  readonly id: string;
  readonly region: string;
  readonly lat: number;
  readonly lon: number;
  readonly roles: readonly string[];
  readonly maxSessions: number;
  readonly maxIngestSessions?: number;
  readonly uplinkMbps: number;
  readonly joinedAtMs: number;
  readonly httpUrl?: string;
  /** The server process (`ServerDescriptor.instance`). */
  readonly instance?: string;
  load: ServerLoad;
  readonly cache: Set<string>;
  readonly storage: Map<string, AssetInfo>;
  readonly live: Map<string, LiveInfo>;
}

/** The outcome of offering a versioned delta to a replica. */
export type ApplyOutcome = 'applied' | 'stale' | 'gap';

const EMPTY: ReadonlySet<string> = new Set();

/**
 * The cluster's state table. `apply` is the reducer: deterministic, no I/O, no
 * clock. Indexes asset → holders are kept incrementally so that selection never
 * scans the table (the director must decide in microseconds at 1,000 servers).
 */
export class StateTable {
  #version = 0;
  #director: DirectorInfo | null = null;
  readonly #servers = new Map<string, ServerRow>();
  readonly #cacheIndex = new Map<string, Set<string>>();
  readonly #storageIndex = new Map<string, Set<string>>();
  readonly #liveIndex = new Map<string, Set<string>>();
  /** Asset → stored copy length (bytes) → holders with a copy that long: whether copies differ is one lookup. */
  readonly #storageLengths = new Map<string, Map<number, number>>();
  /** Sums of the rows' utilisations, kept on every join, leave and load report. */
  readonly #utilSum: Utilisation = { sessions: 0, egress: 0, cpu: 0 };

  /** Version of the last applied delta (0 = empty table). */
  get version(): number {
    return this.#version;
  }

  get director(): DirectorInfo | null {
    return this.#director;
  }

  get size(): number {
    return this.#servers.size;
  }

  get(id: string): ServerRow | undefined {
    return this.#servers.get(id);
  }

  servers(): IterableIterator<ServerRow> {
    return this.#servers.values();
  }

  ids(): string[] {
    return [...this.#servers.keys()];
  }

  cacheHolders(assetId: string): ReadonlySet<string> {
    return this.#cacheIndex.get(assetId) ?? EMPTY;
  }

  storageHolders(assetId: string): ReadonlySet<string> {
    return this.#storageIndex.get(assetId) ?? EMPTY;
  }

  /** Whether the stored copies of `assetId` are not all the same length (O(1)). */
  storageCopiesDiffer(assetId: string): boolean {
    return (this.#storageLengths.get(assetId)?.size ?? 0) > 1;
  }

  liveHolders(assetId: string): ReadonlySet<string> {
    return this.#liveIndex.get(assetId) ?? EMPTY;
  }

  /**
   * The servers' mean utilisations (sessions ÷ slots, egress ÷ uplink, CPU),
   * O(1): the load factor is linear in them, so `weighUtilisation(mean, w)` is
   * the cluster's mean load factor for any weights. Zeros for an empty table.
   */
  meanUtilisation(): Utilisation {
    const n = this.#servers.size;
    if (n === 0) return { sessions: 0, egress: 0, cpu: 0 };
    const u = this.#utilSum;
    return { sessions: u.sessions / n, egress: u.egress / n, cpu: u.cpu / n };
  }

  /**
   * Local to this replica, not a delta: count `sessions` more sessions and
   * `egressMbps` more egress on a server until its next load report replaces
   * its load. The director calls it for each viewer it places (`placeViewer`),
   * so that viewers arriving within one heartbeat see each other. Unknown ids
   * are ignored; the version does not move.
   */
  reserveLoad(id: string, sessions: number, egressMbps: number): void {
    const row = this.#servers.get(id);
    if (!row) return;
    this.#addUtil(row, -1);
    row.load = { ...row.load, sessions: row.load.sessions + sessions, egressMbps: row.load.egressMbps + egressMbps };
    this.#addUtil(row, 1);
  }

  /** Every asset id known anywhere in the cluster (storage or live). */
  assetIds(): string[] {
    return [...new Set([...this.#storageIndex.keys(), ...this.#liveIndex.keys()])];
  }

  /**
   * Replica side: apply a versioned delta if it is the next one.
   * `stale` = already applied (ignored); `gap` = a delta was missed, ask for a snapshot.
   */
  offer(vd: VersionedDelta): ApplyOutcome {
    if (vd.v <= this.#version) return 'stale';
    if (vd.v !== this.#version + 1) return 'gap';
    this.#reduce(vd.d);
    this.#version = vd.v;
    return 'applied';
  }

  /** Authoritative side (the hub): apply and stamp the next version. */
  commit(delta: Delta): VersionedDelta {
    this.#reduce(delta);
    this.#version += 1;
    return { v: this.#version, d: delta };
  }

  snapshot(): TableSnapshot {
    return {
      version: this.#version,
      director: this.#director,
      servers: [...this.#servers.values()].map(rowToEntry),
    };
  }

  /** Replace the whole content with a snapshot (replica (re)sync). */
  load(snapshot: TableSnapshot): void {
    this.#servers.clear();
    this.#cacheIndex.clear();
    this.#storageIndex.clear();
    this.#storageLengths.clear();
    this.#liveIndex.clear();
    this.#resetUtil();
    for (const entry of snapshot.servers) this.#join(entry);
    this.#director = snapshot.director;
    this.#version = snapshot.version;
  }

  static fromSnapshot(snapshot: TableSnapshot): StateTable {
    const table = new StateTable();
    table.load(snapshot);
    return table;
  }

  #reduce(d: Delta): void {
    switch (d.type) {
      case 'server-joined':
        this.#leave(d.server.id);
        this.#join(d.server);
        return;
      case 'server-left':
        this.#leave(d.id);
        if (this.#director?.id === d.id) this.#director = null;
        return;
      case 'director':
        this.#director = d.director;
        return;
    }
    const row = this.#servers.get(d.id);
    if (!row) return; // a late report about a server that has left: nothing to change
    switch (d.type) {
      case 'load':
        this.#addUtil(row, -1);
        row.load = d.load;
        this.#addUtil(row, 1);
        return;
      case 'cache-add':
        for (const a of d.assets) {
          row.cache.add(a);
          indexAdd(this.#cacheIndex, a, row.id);
        }
        return;
      case 'cache-remove':
        for (const a of d.assets) {
          row.cache.delete(a);
          indexRemove(this.#cacheIndex, a, row.id);
        }
        return;
      case 'storage-add':
        for (const a of d.assets) {
          const old = row.storage.get(a.id);
          if (old) countLength(this.#storageLengths, a.id, old.bytes, -1);
          row.storage.set(a.id, a);
          countLength(this.#storageLengths, a.id, a.bytes, 1);
          indexAdd(this.#storageIndex, a.id, row.id);
        }
        return;
      case 'storage-remove':
        for (const a of d.assets) {
          const old = row.storage.get(a);
          if (old) countLength(this.#storageLengths, a, old.bytes, -1);
          row.storage.delete(a);
          indexRemove(this.#storageIndex, a, row.id);
        }
        return;
      case 'live':
        row.live.set(d.stream.id, d.stream);
        indexAdd(this.#liveIndex, d.stream.id, row.id);
        return;
      case 'live-remove':
        row.live.delete(d.assetId);
        indexRemove(this.#liveIndex, d.assetId, row.id);
        return;
      default: {
        const never: never = d;
        throw new Error(`unknown delta ${(never as { type: string }).type}`);
      }
    }
  }

  #join(e: ServerEntry): void {
    const row: ServerRow = {
      id: e.id,
      region: e.region,
      lat: e.lat,
      lon: e.lon,
      roles: [...e.roles],
      maxSessions: e.maxSessions,
      ...(e.maxIngestSessions !== undefined ? { maxIngestSessions: e.maxIngestSessions } : {}),
      uplinkMbps: e.uplinkMbps,
      joinedAtMs: e.joinedAtMs,
      httpUrl: e.httpUrl,
      ...(e.instance !== undefined ? { instance: e.instance } : {}),
      load: e.load,
      cache: new Set(e.cache),
      storage: new Map(e.storage.map((a) => [a.id, a])),
      live: new Map(e.live.map((l) => [l.id, l])),
    };
    this.#servers.set(row.id, row);
    this.#addUtil(row, 1);
    for (const a of row.cache) indexAdd(this.#cacheIndex, a, row.id);
    for (const a of row.storage.values()) {
      indexAdd(this.#storageIndex, a.id, row.id);
      countLength(this.#storageLengths, a.id, a.bytes, 1);
    }
    for (const a of row.live.keys()) indexAdd(this.#liveIndex, a, row.id);
  }

  #leave(id: string): void {
    const row = this.#servers.get(id);
    if (!row) return;
    for (const a of row.cache) indexRemove(this.#cacheIndex, a, id);
    for (const a of row.storage.values()) {
      indexRemove(this.#storageIndex, a.id, id);
      countLength(this.#storageLengths, a.id, a.bytes, -1);
    }
    for (const a of row.live.keys()) indexRemove(this.#liveIndex, a, id);
    this.#servers.delete(id);
    if (this.#servers.size === 0)
      this.#resetUtil(); // no rounding residue left behind
    else this.#addUtil(row, -1);
  }

  /** Adds (sign 1) or removes (-1) a row's utilisations to the sums. */
  #addUtil(row: ServerRow, sign: 1 | -1): void {
    const sum = this.#utilSum;
    const u = utilisation(row);
    sum.sessions += sign * u.sessions;
    sum.egress += sign * u.egress;
    sum.cpu += sign * u.cpu;
  }

  #resetUtil(): void {
    const sum = this.#utilSum;
    sum.sessions = sum.egress = sum.cpu = 0;
  }
}

export function rowToEntry(r: ServerRow): ServerEntry {
  return {
    id: r.id,
    region: r.region,
    lat: r.lat,
    lon: r.lon,
    roles: [...r.roles] as ServerEntry['roles'],
    maxSessions: r.maxSessions,
    ...(r.maxIngestSessions !== undefined ? { maxIngestSessions: r.maxIngestSessions } : {}),
    uplinkMbps: r.uplinkMbps,
    joinedAtMs: r.joinedAtMs,
    ...(r.httpUrl ? { httpUrl: r.httpUrl } : {}),
    ...(r.instance !== undefined ? { instance: r.instance } : {}),
    load: r.load,
    cache: [...r.cache],
    storage: [...r.storage.values()],
    live: [...r.live.values()],
  };
}

function indexAdd(index: Map<string, Set<string>>, asset: string, server: string): void {
  let holders = index.get(asset);
  if (!holders) index.set(asset, (holders = new Set()));
  holders.add(server);
}

function indexRemove(index: Map<string, Set<string>>, asset: string, server: string): void {
  const holders = index.get(asset);
  if (!holders) return;
  holders.delete(server);
  if (holders.size === 0) index.delete(asset);
}

/** One holder more (+1) or less (-1) with a copy of `asset` `bytes` long. */
function countLength(index: Map<string, Map<number, number>>, asset: string, bytes: number, delta: 1 | -1): void {
  let lengths = index.get(asset);
  if (!lengths) index.set(asset, (lengths = new Map()));
  const n = (lengths.get(bytes) ?? 0) + delta;
  if (n > 0) lengths.set(bytes, n);
  else lengths.delete(bytes);
  if (lengths.size === 0) index.delete(asset);
}
