// Every key Baton keeps in Redis, in one place, under one prefix per cluster.

/** The default prefix; `--redis-prefix` lets two clusters share one Redis. */
export const DEFAULT_REDIS_PREFIX = 'baton:';

export interface ClusterKeys {
  /** The prefix every key below starts with (named in errors about this cluster). */
  prefix: string;
  /** INCR counter: the table's global version (the last version handed out). */
  tableVersion: string;
  /** Redis Stream of versioned deltas, entry id `<version>-1`, field `d` = JSON delta. */
  tableLog: string;
  /** Hash {v, s}: the newest table snapshot (version, JSON) for hubs that fell behind the trimmed log. */
  tableSnapshot: string;
  /** String with expiry: the hub that drives rotation and liveness. */
  rotationLease: string;
  /** INCR counter: the fencing token, raised on every lease acquisition. */
  rotationEpoch: string;
  /** `…<serverId>` with expiry: the hub a server last beat through. */
  heartbeat: (serverId: string) => string;
  /** `…<streamId>`: who owns a stream id. */
  streamOwner: (streamId: string) => string;
  /** `…<keyId>`, sorted set stream id → expiry ms, with expiry: the broadcasts one stream key holds across hubs. */
  keySlots: (keyId: string) => string;
  /** `…<nonce>` with expiry: a cluster token already accepted. */
  nonce: (nonce: string) => string;
  /** `…<key>:<window>` with expiry: a shared rate counter. */
  rate: (key: string, window: number) => string;
  /** Hash hubId → "open,unconnected,atMs" with expiry: one client IP's viewer sessions on each hub. */
  ipSessions: (ip: string) => string;
  /** Sorted set hubId → Redis time of its last report (ms), with expiry; entries older than a report's expiry are pruned. */
  hubIndex: string;
  /** `…<hubId>` with expiry: one hub's JSON status (the dashboard's hub list). */
  hubStatus: (hubId: string) => string;
  /** Redis Stream: messages for one hub from the others (`HubMesh`), with expiry. */
  inbox: (hubId: string) => string;
  /** `…<streamId>`, hash with expiry: the hub that relays the id's WHIP broadcast, or holds its resume window (`SharedWhipStreams`). */
  whipStream: (streamId: string) => string;
  /** `…<hubId>` with expiry: the process that holds this hub id (`HubClaim`); two live hubs never share one. */
  hubClaim: (hubId: string) => string;
  /** String with expiry: a hash of the cluster secret every hub of this prefix runs with (`HubClaim`). */
  secretCheck: string;
}

export function clusterKeys(prefix = DEFAULT_REDIS_PREFIX): ClusterKeys {
  return {
    prefix,
    tableVersion: `${prefix}table:version`,
    tableLog: `${prefix}table:log`,
    tableSnapshot: `${prefix}table:snapshot`,
    rotationLease: `${prefix}rotation:lease`,
    rotationEpoch: `${prefix}rotation:epoch`,
    heartbeat: (id) => `${prefix}hb:${id}`,
    streamOwner: (id) => `${prefix}stream:${id}`,
    keySlots: (k) => `${prefix}key-slots:${k}`,
    nonce: (n) => `${prefix}nonce:${n}`,
    rate: (k, w) => `${prefix}rate:${k}:${w}`,
    ipSessions: (ip) => `${prefix}sess:${ip}`,
    hubIndex: `${prefix}hub-index`,
    hubStatus: (id) => `${prefix}hub:${id}`,
    inbox: (id) => `${prefix}inbox:${id}`,
    whipStream: (id) => `${prefix}whip:${id}`,
    hubClaim: (id) => `${prefix}hub-claim:${id}`,
    secretCheck: `${prefix}secret-check`,
  };
}
