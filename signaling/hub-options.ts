// What a Hub is configured with (the `baton hub` flags, merged with settings and defaults), and its HTTP rate defaults.
import type { SessionLimits } from './core/session-registry.js';
import { DEFAULT_MAX_BROADCASTS_PER_KEY } from './stream-owners.js';

export interface HubOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1 (use 0.0.0.0 to accept other machines). */
  host?: string;
  clusterSecret: string;
  /** Expected heartbeat period of servers, ms (default 1000). 3 missed = removed. */
  heartbeatMs?: number;
  /** Director rotation period, ms (default 30000; 0 disables the timer). */
  rotationMs?: number;
  /** How long the hub waits for the director's answer, ms (default 500). */
  directorTimeoutMs?: number;
  /** Accepted stream keys for broadcasters. */
  streamKeys?: string[];
  /**
   * Secret for signed stream keys with an expiry (`mintStreamKey`); default
   * env `BATON_STREAM_KEY_SECRET`. Without one, only `streamKeys` are accepted.
   */
  streamKeySecret?: string;
  /** Peers whose X-Forwarded-For is trusted. */
  trustedProxies?: string[];
  /** Directory with the built web client (served at /). */
  staticDir?: string;
  /**
   * Broadcasts one stream key may have live at once (stream ids reserved by its publishers, WHIP included; with
   * `redisUrl`, across all hubs). Default `DEFAULT_MAX_BROADCASTS_PER_KEY` (4); 0: no cap.
   */
  maxBroadcastsPerKey?: number;
  /** Per-connection request rate for clients (requests/s) and burst. */
  clientRatePerS?: number;
  clientBurst?: number;
  /** Per client IP: HTTP requests/s and burst (default 50/s, bursts of 100). */
  httpRatePerS?: number;
  httpBurst?: number;
  /**
   * Token for operator views (/api/state, /api/decisions, /metrics, /dashboard). Without one
   * they are open on a loopback hub and closed on any other address.
   */
  operatorToken?: string;
  /** STUN/TURN servers handed to browsers (GET /api/config) for NAT traversal. */
  iceServers?: RTCIceServer[];
  /**
   * The URL browsers and media servers reach this hub at (behind a TLS proxy, another host's view): what the hub list
   * (`/api/config`, `/api/hubs`) and, with several hubs, the servers attaching to every hub are given. Default: the
   * address it listens on (`http://127.0.0.1:PORT` when bound to 0.0.0.0, which no other machine can use).
   */
  publicUrl?: string;
  /**
   * Viewer sessions one client connection / client IP may hold, unconnected and
   * in all (`DEFAULT_SESSION_LIMITS`: 4 / 16 unconnected, 16 / 64 open). The IP
   * is `clientIp` (X-Forwarded-For from trusted proxies only); loopback is not
   * capped per IP.
   */
  sessionLimits?: Partial<SessionLimits>;
  /**
   * Open TCP connections (HTTP, socket.io, WHIP/WHEP) per remote address, and in all (`MAX_CONNECTIONS_PER_IP` 64,
   * `MAX_CONNECTIONS` 10,000; 0 turns one off). Loopback and trusted proxies are not capped per address.
   */
  connectionsPerIp?: number;
  maxConnections?: number;
  /**
   * Where media servers connect from (addresses, CIDR ranges, `loopback`, `private`; as `trustedProxies`): they are
   * not capped per address and may use the tenth of `maxConnections` other addresses cannot take
   * (`clusterReserve`). Default `['loopback']`; a list replaces it; an empty one keeps no share.
   */
  clusterAddresses?: string[];
  /**
   * Several hubs share one cluster through this Redis (`redis://host:port[/db]`): the table, the
   * rotation lease, servers' liveness and socket.io between hubs (docs/multi-hub.md). Without it
   * the hub keeps everything in its own memory.
   */
  redisUrl?: string;
  /** Key prefix in Redis, so two clusters can share one (default `baton:`). */
  redisPrefix?: string;
  /** This hub's name among several (default `hub-<random>`). */
  hubId?: string;
  /**
   * With Redis: another live process took this hub's id while this one was away (stalled past its claim). This hub
   * must stop at once, without the clean stop's cleanup: the lease, hub-list entry and inbox it would drop are the
   * other's now. The CLI exits 1.
   */
  onDisplaced?: (err: Error) => void;
  /** How long the rotation lease lasts, ms (default 3000; another hub takes over within about this after its holder dies). */
  leaseMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** Cluster members when none are named: servers on the hub's own machine. */
export const DEFAULT_CLUSTER_ADDRESSES: readonly string[] = ['loopback'];

/** HTTP requests per client IP: sustained rate and burst (a page load is about a dozen). */
export const DEFAULT_HTTP_RATE_PER_S = 50;
export const DEFAULT_HTTP_BURST = 100;
/**
 * socket.io handshakes (a new WebSocket to the hub) per client address, and their burst (the per-address connection
 * cap: a page, or a NAT of them, reconnecting all at once). They never reached the HTTP rate above (socket.io answers
 * its own path): one client made 1,500 a second, 64 % of the hub's core. Cluster members (`--cluster-addresses`) are
 * not counted: media servers reconnect after a hub restart all at once.
 */
export const HANDSHAKES_PER_S = 10;
export const HANDSHAKE_BURST = 64;

/** The publish path's per-key cap from `maxBroadcastsPerKey`: the default when unset, none at 0. */
export function broadcastCap(max: number | undefined): { maxBroadcastsPerKey?: number } {
  const n = max ?? DEFAULT_MAX_BROADCASTS_PER_KEY;
  return n > 0 ? { maxBroadcastsPerKey: n } : {};
}
