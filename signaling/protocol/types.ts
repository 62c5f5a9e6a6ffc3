// The cluster's data model: server entries, the state-table deltas and snapshots.

export const Role = { edge: 'edge', ingest: 'ingest' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Why the director chose a server for a viewer. */
export const SelectReason = {
  directorCache: 'director-cache',
  cache: 'cache',
  storage: 'storage',
  live: 'live',
} as const;
export type SelectReason = (typeof SelectReason)[keyof typeof SelectReason];

/** Stable error codes carried by `{ ok: false, code, message }` acks. */
export const ErrorCode = {
  badRequest: 'bad-request',
  unauthorized: 'unauthorized',
  unknownAsset: 'unknown-asset',
  noCapacity: 'no-capacity',
  /** The client (its connection or its IP) already holds as many sessions as the hub allows. */
  tooManySessions: 'too-many-sessions',
  /** The stream key already has as many broadcasts live as the hub allows one key (`--max-broadcasts-per-key`). */
  tooManyBroadcasts: 'too-many-broadcasts',
  noDirector: 'no-director',
  noIngest: 'no-ingest',
  unknownPlace: 'unknown-place',
  timeout: 'timeout',
  staleEpoch: 'stale-epoch',
  notParty: 'not-party',
  rateLimited: 'rate-limited',
  tooLarge: 'too-large',
  conflict: 'conflict',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One stored asset in a server's catalog. */
export interface AssetInfo {
  id: string;
  bytes: number;
  /** MSE type string, e.g. `video/webm; codecs="vp8, opus"`. */
  mime: string;
  durationMs?: number;
  /** Approximate media bitrate in bits per second, when known. */
  bitrateBps?: number;
  /** What a viewer sees instead of the id (≤ MAX_TITLE_CHARS), from the asset's sidecar JSON. */
  title?: string;
  /** ≤ MAX_DESCRIPTION_CHARS, from the sidecar JSON. */
  description?: string;
  /**
   * Set when the server has a poster picture for the asset (`GET <httpUrl>/poster/<id>.jpg`):
   * a short version token that changes with the picture, so the URL can be cached for good.
   */
  poster?: string;
  /** The picture's height in pixels (of its video track), when it has one. */
  heightPx?: number;
  /**
   * Which copy of the file this holder has (`FINGERPRINT_PATTERN`: its size, and a hash of its first and last
   * 64 KiB): two holders whose copies differ have different ones, so a viewer never resumes in the other copy.
   */
  fingerprint?: string;
}

/** One rendition of a stored asset, as the catalog lists it under its source (see `renditionId`). */
export interface RenditionInfo {
  /** The rendition's own asset id (`<source>__<height>p`): watch it as any asset. */
  id: string;
  heightPx: number;
  bitrateBps?: number;
}

/** A stream being ingested (or recently ended) on a server. */
export interface LiveInfo {
  id: string;
  bytes: number;
  live: boolean;
  mime: string;
  /** The other entry server of the pair, if any. */
  peer?: string;
  startedAtMs: number;
  /** sha256 hex of the stream's secret: lets a hub that restarted check a publisher's proof of ownership. */
  owner?: string;
  /** What the broadcaster called the stream (≤ MAX_TITLE_CHARS). */
  title?: string;
  /** ≤ MAX_DESCRIPTION_CHARS. */
  description?: string;
  /** As AssetInfo.poster: the server has a picture of the stream's first keyframe. */
  poster?: string;
}

/** One asset's open viewer sessions on one server. */
export interface AssetViewers {
  id: string;
  /** Viewer sessions open for it on this server. */
  n: number;
}

/** Load figures a server reports; the load factor is computed from these. */
export interface ServerLoad {
  /** Viewer (watch) sessions open, against `maxSessions`. */
  sessions: number;
  /** Broadcast (ingest) sessions open, against `maxIngestSessions`; absent = 0. */
  ingestSessions?: number;
  /**
   * false: the storage refuses new files (gone, read-only, immutable, under MIN_INGEST_FREE_BYTES free), so the
   * director sends this server no broadcast; absent = it takes them.
   */
  storageWritable?: false;
  egressMbps: number;
  /** CPU use of the process, 0..1 (of one core). */
  cpu: number;
  storageReadBytes?: number;
  /**
   * Viewer sessions per asset, the most-watched first, at most MAX_VIEWED_ASSETS_PER_LOAD entries
   * (the rest are not counted): the hub sums these over every server for the catalog's viewer counts.
   */
  viewers?: AssetViewers[];
  /** The rendition the server is making now (absent when it makes none): the dashboard shows its progress. */
  renditions?: RenditionWork;
}

/** The rendition a server's ffmpeg is making now and how many wait behind it. */
export interface RenditionWork {
  id: string;
  /** 0..1 of the media encoded so far. */
  progress: number;
  queued: number;
}

/** What a server tells the hub about itself when it registers. */
export interface ServerDescriptor {
  id: string;
  region: string;
  lat: number;
  lon: number;
  roles: Role[];
  /** Viewer session slots. */
  maxSessions: number;
  /**
   * Broadcast session slots, counted apart from viewers' so that neither can
   * starve the other; absent = `maxSessions`.
   */
  maxIngestSessions?: number;
  uplinkMbps: number;
  load: ServerLoad;
  cache: string[];
  storage: AssetInfo[];
  live: LiveInfo[];
  /** Where browsers and tools reach this server's HTTP side (metrics, health). */
  httpUrl?: string;
  /**
   * Random per server process: the same id registering with another one was restarted, and every hub drops
   * what it held for the old process (its sessions, WHEP players, WHIP broadcasts). Absent: not known.
   */
  instance?: string;
  /**
   * The highest director epoch this server has seen (after a hub restart the
   * hub continues above it, so epochs never go back).
   */
  lastEpoch?: number;
  /**
   * The server's heartbeat period, ms: a hub that expects heartbeats more often refuses it (it would be removed for
   * missed heartbeats and re-register for ever). Absent (an older server): not checked.
   */
  heartbeatMs?: number;
}

/** One row of the state table, as carried in snapshots. */
export interface ServerEntry extends ServerDescriptor {
  joinedAtMs: number;
}

export interface DirectorInfo {
  id: string;
  epoch: number;
  sinceMs: number;
}

/** The whole table: sent on (re)connect and on a gap. */
export interface TableSnapshot {
  version: number;
  director: DirectorInfo | null;
  servers: ServerEntry[];
}

/** A change to the table. Each is small: proportional to what changed. */
export type Delta =
  | { type: 'server-joined'; server: ServerEntry }
  | { type: 'server-left'; id: string; reason: string }
  | { type: 'load'; id: string; load: ServerLoad }
  | { type: 'cache-add'; id: string; assets: string[] }
  | { type: 'cache-remove'; id: string; assets: string[] }
  | { type: 'storage-add'; id: string; assets: AssetInfo[] }
  | { type: 'storage-remove'; id: string; assets: string[] }
  | { type: 'live'; id: string; stream: LiveInfo }
  | { type: 'live-remove'; id: string; assetId: string }
  | { type: 'director'; director: DirectorInfo | null };

/** Deltas a server may report about itself (the hub stamps the server id). */
export type OwnDelta =
  | { type: 'load'; load: ServerLoad }
  | { type: 'cache-add'; assets: string[] }
  | { type: 'cache-remove'; assets: string[] }
  | { type: 'storage-add'; assets: AssetInfo[] }
  | { type: 'storage-remove'; assets: string[] }
  | { type: 'live'; stream: LiveInfo }
  | { type: 'live-remove'; assetId: string };

/** A delta with the table version it produces (`table.version` after applying). */
export interface VersionedDelta {
  v: number;
  d: Delta;
}

/** `{ ok: true, … } | { ok: false, code, message }` — every ack over the wire. */
export type Ack<T extends object = {}> = ({ ok: true } & T) | AckError;
export interface AckError {
  ok: false;
  code: ErrorCode;
  message: string;
}

export function ackError(code: ErrorCode, message: string): AckError {
  return { ok: false, code, message };
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

/** A resolved place: what the typed location or the IP turned into. */
export interface Place extends GeoPoint {
  label: string;
  source: 'typed' | 'coordinates' | 'ip' | 'device';
}
