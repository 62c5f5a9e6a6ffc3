// The signaling hub process: the transport-free core (signaling/core/) on socket.io and HTTP. Media never passes here.
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as IoServer } from 'socket.io';
import { ErrorCode, type CatalogEntry, type DecisionEvent } from './protocol/index.js';
import { TokenVerifier } from './auth.js';
import { logger, type Logger } from './log.js';
import { countAttached, countWhipWhep, type HubMetrics } from './hub-metrics.js';
import { KeyedRateLimiter } from '../common/token-bucket.js';
import { OperatorGate, forwardingHeader } from './operator-gate.js';
import type { CatalogView } from './catalog-view.js';
import { createHttpHandler } from './http-routes.js';
import { resolveLocation, loadGazetteer } from './geo/gazetteer.js';
import { checkAddressList, ipPlace, clientIp, isTrustedProxy, loadIpData } from './geo/ip-locate.js';
import { isLoopbackIp } from '../common/loopback-ip.js';
import { addressKey } from '../common/address-key.js';
import {
  boundedRequestOptions,
  capConnections,
  lingerUnreadBodies,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
} from '../common/connection-caps.js';
import { answerInTurn } from '../common/answer-in-turn.js';
import { DEFAULT_SESSION_LIMITS } from './core/session-registry.js';
import {
  broadcastCap,
  DEFAULT_CLUSTER_ADDRESSES,
  DEFAULT_HTTP_BURST,
  DEFAULT_HTTP_RATE_PER_S,
  HANDSHAKE_BURST,
  HANDSHAKES_PER_S,
  type HubOptions,
} from './hub-options.js';
import { WhipRoutes } from './whip-routes.js';
import { WhepRoutes } from './whep-routes.js';
import { HubCore } from './core/hub-core.js';
import { NODE_CLOCK, type HubClock } from './core/link.js';
import { SocketIoLink } from './transport/socketio-link.js';
import { createIoServer } from './transport/socketio-server.js';
import { budgetInbound } from './transport/inbound-budget.js';
import { wireServers } from './transport/socketio-servers.js';
import { wireClients } from './transport/socketio-clients.js';
import { DASHBOARD_CONNECT_BURST, DASHBOARD_CONNECTS_PER_S, wireDashboard } from './transport/socketio-dashboard.js';
import { apiState } from './api-state.js';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SharedCluster, type HubInfo } from './redis/shared-cluster.js';
import { secretCheck } from './redis/hub-claim.js';
import { DEFAULT_REDIS_PREFIX } from './redis/keys.js';
import type { HubMesh } from './redis/hub-mesh.js';
import type { HubListPush } from './redis/hub-list-push.js';
import { joinHubs, sharedCoreOf } from './hub-sharing.js';
import { coreWhipHost } from './whip-host.js';
import { forwardToOwner } from './resource-forward.js';
import type { RotationReason } from './policies/rotation.js';
import { parseRedisUrl } from './redis/redis-url.js';
import { sharedBucketLimit, type SharedRateWindows } from './redis/shared-rate.js';
import { shareIpSessions, type SharedIpSessions } from './redis/shared-sessions.js';
import { DEFAULT_MISSED_HEARTBEATS } from './policies/liveness.js';

/** How long a registering server waits for the hub its heartbeat key names to say whether it holds it live (a dead hub says nothing). */
const LIVE_ELSEWHERE_TIMEOUT_MS = 300;

export { MAX_EPOCH_STEP } from './core/director-seat.js';
export { DEFAULT_HTTP_BURST, DEFAULT_HTTP_RATE_PER_S, type HubOptions } from './hub-options.js';

export class Hub {
  readonly core: HubCore;
  /** WHIP ingest: HTTP publishers placed through the same publish path. */
  readonly whip: WhipRoutes;
  /** WHEP playback: HTTP players placed by the director as for `watch`. */
  readonly whep: WhepRoutes;
  readonly operatorGate: OperatorGate;
  readonly iceServers: RTCIceServer[];
  readonly #port: number;
  readonly #host: string;
  readonly #staticDir: string | undefined;
  readonly #trustedProxies: string[];
  #untrustedProxySaid = false;
  readonly #clusterAddresses: readonly string[];
  readonly #connectionCaps: { perIp: number; total: number };
  readonly #clientRatePerS: number;
  readonly #clientBurst: number;
  readonly #httpLimiter: KeyedRateLimiter;
  readonly #handshakeLimiter = new KeyedRateLimiter(HANDSHAKES_PER_S, HANDSHAKE_BURST);
  /** With several hubs: each client IP's HTTP budget, counted across hubs. */
  readonly #sharedHttpLimit: SharedRateWindows | undefined;
  readonly #sharedDashboardConnects: SharedRateWindows | undefined;
  /** With several hubs: each client IP's sessions, counted across hubs against the per-IP caps. */
  readonly #sharedIpSessions: SharedIpSessions | undefined;
  readonly #clock: HubClock;
  readonly #log: Logger;
  readonly #verifier: TokenVerifier;
  readonly #link = new SocketIoLink();
  /** Several hubs on Redis; undefined for a hub alone. */
  readonly shared: SharedCluster | undefined;
  readonly hubId: string;
  #adapterRedis?: Redis;
  #mesh?: HubMesh;
  /** Several hubs: tells this hub's servers the other hubs, so they attach to each. */
  #hubListPush?: HubListPush;
  readonly #redisUrl: string | undefined;
  #http?: HttpServer;
  #io?: IoServer;
  #closed = false;
  #url = '';
  readonly #publicUrl: string | undefined;

  constructor(opts: HubOptions) {
    this.#port = opts.port ?? 8080;
    this.#host = opts.host ?? '127.0.0.1';
    this.#staticDir = opts.staticDir;
    this.#publicUrl = opts.publicUrl;
    this.#trustedProxies = opts.trustedProxies ?? [];
    this.#clusterAddresses = opts.clusterAddresses ?? DEFAULT_CLUSTER_ADDRESSES;
    // Matched leniently (a bad entry matches nothing): a typo must stop the start, not leave a proxy untrusted.
    checkAddressList(this.#trustedProxies);
    checkAddressList(this.#clusterAddresses);
    this.#connectionCaps = { perIp: opts.connectionsPerIp ?? MAX_CONNECTIONS_PER_IP, total: opts.maxConnections ?? MAX_CONNECTIONS };
    this.#clientRatePerS = opts.clientRatePerS ?? 20;
    this.#clientBurst = opts.clientBurst ?? 40;
    this.#clock = opts.now ? { ...NODE_CLOCK, now: opts.now } : NODE_CLOCK;
    this.operatorGate = new OperatorGate(opts.operatorToken, this.#host);
    const httpRate = opts.httpRatePerS ?? DEFAULT_HTTP_RATE_PER_S;
    const httpBurst = opts.httpBurst ?? DEFAULT_HTTP_BURST;
    this.#httpLimiter = new KeyedRateLimiter(httpRate, httpBurst);
    this.iceServers = opts.iceServers ?? [];
    this.#log = logger('hub');
    this.#verifier = new TokenVerifier(opts.clusterSecret);
    this.hubId = opts.hubId ?? `hub-${randomBytes(3).toString('hex')}`;
    const heartbeatMs = opts.heartbeatMs ?? 1000;
    this.#redisUrl = opts.redisUrl;
    if (opts.redisUrl) parseRedisUrl(opts.redisUrl); // a typo is a clear error before anything connects
    this.shared = opts.redisUrl
      ? new SharedCluster({
          url: opts.redisUrl,
          prefix: opts.redisPrefix,
          hubId: this.hubId,
          heartbeatMs,
          missedHeartbeats: DEFAULT_MISSED_HEARTBEATS,
          leaseMs: opts.leaseMs,
          secretCheck: secretCheck(opts.clusterSecret, opts.redisPrefix ?? DEFAULT_REDIS_PREFIX),
          onDisplaced: opts.onDisplaced,
          log: this.#log.child({ part: 'redis' }),
          now: opts.now,
        })
      : undefined;
    this.#link.crossHub = this.shared !== undefined;
    this.#sharedHttpLimit = this.shared && sharedBucketLimit(this.shared, httpRate, httpBurst, this.#log, { now: opts.now });
    this.#sharedDashboardConnects =
      this.shared &&
      sharedBucketLimit(this.shared, DASHBOARD_CONNECTS_PER_S, DASHBOARD_CONNECT_BURST, this.#log, {
        now: opts.now,
        scope: 'dashboard',
        what: 'dashboard connection',
      });
    this.core = new HubCore({
      link: this.#link,
      clock: this.#clock,
      log: this.#log,
      heartbeatMs,
      rotationMs: opts.rotationMs ?? 30_000,
      ...(this.shared
        ? {
            lease: this.shared.lease,
            shared: {
              log: this.shared.log,
              liveness: this.shared.liveness,
              // Changes waiting for Redis overflowed: this hub's servers register again (their whole rows).
              onLost: () => this.#link.servers?.local.disconnectSockets(true),
              degraded: () => !this.shared!.ready,
              requestRotation: (epoch, reason) => void this.#askLeaseHolder(epoch, reason),
            },
          }
        : {}),
      directorTimeoutMs: opts.directorTimeoutMs ?? 500,
      sessionLimits: { ...DEFAULT_SESSION_LIMITS, ...opts.sessionLimits },
      publish: {
        streamKeys: opts.streamKeys ?? [],
        streamKeySecret: opts.streamKeySecret ?? (process.env.BATON_STREAM_KEY_SECRET || undefined),
        resolveLocation,
        ipPlace,
        claims: this.shared?.streamClaims,
        ...broadcastCap(opts.maxBroadcastsPerKey),
      },
    });
    this.#sharedIpSessions = this.shared && shareIpSessions(this.shared, this.core.relay.sessions, this.#log);
    this.whip = new WhipRoutes(
      coreWhipHost(this.core, {
        trustedProxies: this.#trustedProxies,
        iceServers: this.iceServers,
        log: this.#log.child({ part: 'whip' }),
        // Several hubs: a resource's DELETE may reach any of them (a load balancer without sticky sessions).
        // And a publisher's re-POST after its primary died (the broadcast is found through Redis).
        ...(this.shared
          ? {
              hubId: this.hubId,
              forward: async (...a) => forwardToOwner(await this.hubList({ shared: true }).catch(() => undefined), this.#mesh, ...a),
              streams: this.shared.whipStreams,
            }
          : {}),
      }),
    );
    this.whep = new WhepRoutes({
      ...this.whip.host,
      select: (assetId, exclude) => this.core.select(assetId, exclude),
      log: this.#log.child({ part: 'whep' }),
    });
    this.#link.deliverElsewhere = (clientId, event, msg) => this.whip.deliver(clientId, event, msg);
    this.core.onServerJoined = (id, instance) => {
      this.whip.serverJoined(id, instance);
      this.whep.serverJoined(id, instance);
      this.#mesh?.serverJoined(id, instance);
    };
    countWhipWhep(this.metrics.registry, this.whip, this.whep);
    if (this.shared) countAttached(this.metrics.registry, this.#link);
  }

  get table() {
    return this.core.table;
  }

  get metrics(): HubMetrics {
    return this.core.metrics;
  }

  get catalogView(): CatalogView {
    return this.core.catalogView;
  }

  /** The URL the hub listens on (after start). */
  get url(): string {
    return this.#url;
  }

  /** Recent decisions (watch selections, ingest assignments, director changes; each kind bounded on its own), newest last. */
  get decisions(): readonly DecisionEvent[] {
    return this.core.decisions;
  }

  /** Spends one of the request's client IP's HTTP tokens; false means answer 429. */
  takeHttpToken(req: IncomingMessage): boolean {
    this.#noteUntrustedProxy(req);
    // Counted by addressKey: an IPv6 client's whole /64 is one address.
    const ip = addressKey(clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.#trustedProxies) ?? 'unknown');
    if (this.#httpLimiter.take(ip, this.#clock.now()) && (this.#sharedHttpLimit?.take(ip) ?? true)) return true;
    this.metrics.rejected.inc({ code: ErrorCode.rateLimited });
    return false;
  }

  /** A socket.io handshake (a new WebSocket): counted per client address, cluster members aside. */
  takeHandshakeToken(req: IncomingMessage): boolean {
    this.#noteUntrustedProxy(req);
    const key = this.#socketAddressKey(req);
    if (key === null) return true;
    if (this.#handshakeLimiter.take(key, this.#clock.now())) return true;
    this.metrics.rejected.inc({ code: 'too-many-handshakes' });
    return false;
  }

  /** The client address a WebSocket counts against (handshakes, inbound bytes); null for a cluster member's. */
  #socketAddressKey(req: IncomingMessage): string | null {
    const from = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.#trustedProxies);
    if (from && isTrustedProxy(from, this.#clusterAddresses)) return null;
    return addressKey(from ?? 'unknown');
  }

  /**
   * Said once per process: a request from loopback that a proxy forwarded (it carries X-Forwarded-For or the like)
   * while `--trusted-proxies` does not name loopback. Every client of such a proxy (nginx on the hub's host) is then
   * 127.0.0.1 to the hub: not geolocated, and not capped per address (loopback is left uncapped for local tools), so
   * one client may hold every viewer session and WHEP player the hub-wide caps allow. Refusing would break a hub
   * that works; the operator reads this in the log instead.
   */
  #noteUntrustedProxy(req: IncomingMessage): void {
    if (this.#untrustedProxySaid) return;
    const peer = req.socket.remoteAddress;
    if (!peer || !isLoopbackIp(peer) || isTrustedProxy(peer, this.#trustedProxies)) return;
    const header = forwardingHeader(req.headers);
    if (header === undefined) return;
    this.#untrustedProxySaid = true;
    this.#log.warn(
      { peer, header },
      `a request from ${peer} carries ${header}, but --trusted-proxies does not name it: every client of that proxy counts as this machine (loopback), which is not geolocated nor capped per address (viewer sessions, WHEP players); if that proxy is this machine's own, start the hub with --trusted-proxies loopback`,
    );
  }

  lastSeen(id: string): number | undefined {
    return this.core.members.get(id)?.lastSeenMs;
  }

  async start(): Promise<string> {
    const http = createServer(boundedRequestOptions());
    lingerUnreadBodies(http);
    capConnections(http, {
      perIp: this.#connectionCaps.perIp,
      total: this.#connectionCaps.total,
      exempt: (a) => isLoopbackIp(a) || isTrustedProxy(a, this.#trustedProxies) || isTrustedProxy(a, this.#clusterAddresses),
      // None named (an empty list): no share is kept that nobody could use.
      cluster: this.#clusterAddresses.length > 0 ? (a) => isTrustedProxy(a, this.#clusterAddresses) : undefined,
      onRefused: (why) => this.metrics.rejected.inc({ code: `too-many-connections-${why}` }),
    });
    if (this.#redisUrl) {
      // The adapter's own client: its blocking reads must not share the hub's fail-fast command connection.
      const { Redis } = await import('ioredis');
      // It waits out an outage (no retry limit) and resumes the stream where it stopped: no packet lost.
      this.#adapterRedis = new Redis(this.#redisUrl, { maxRetriesPerRequest: null });
      this.#adapterRedis.on('error', () => undefined);
    }
    const io = createIoServer(
      http,
      this.#adapterRedis && { redis: this.#adapterRedis, streamName: `${this.shared!.keys.tableLog}:sio` },
      (req) => this.takeHandshakeToken(req),
    );
    budgetInbound(io, {
      now: () => this.#clock.now(),
      keyOf: (req) => this.#socketAddressKey(req),
      onOver: () => this.metrics.rejected.inc({ code: 'inbound-bytes' }),
    });
    this.#http = http;
    this.#io = io;
    if (this.shared) {
      ({ mesh: this.#mesh, hubListPush: this.#hubListPush } = joinHubs(this.core, this.shared, this.#link, {
        url: this.#redisUrl!,
        log: this.#log,
        onResource: (route, req) => (route === 'whip' ? this.whip : this.whep).answerForwarded(req),
        others: async () => (await this.hubUrls()).slice(1),
      }));
    }
    // One answer per connection at a time (pipelined requests wait their turn), as on the media servers.
    answerInTurn(http, createHttpHandler(this, this.#staticDir, this.#log), undefined, this.#log);
    const now = () => this.#clock.now();
    const core = this.core;
    this.#link.servers = wireServers(io, {
      core,
      verifier: this.#verifier,
      whip: this.whip,
      whep: this.whep,
      log: this.#log,
      now,
      crossHub: this.shared !== undefined,
      mesh: this.#mesh,
      liveElsewhere: this.#mesh ? (id) => this.#mesh!.liveElsewhere(id, LIVE_ELSEWHERE_TIMEOUT_MS) : undefined,
      // Several hubs: its heartbeat key names this hub at once, so the others' messages for it come here.
      registered: this.shared
        ? (id) => {
            void this.shared!.beatNow([id]);
            this.#hubListPush?.registered(id);
          }
        : undefined,
      nonces: this.shared?.nonces,
      attachments: this.shared ? this.#link : undefined,
    });
    this.#link.clients = wireClients(io, {
      core,
      log: this.#log,
      now,
      ratePerS: this.#clientRatePerS,
      burst: this.#clientBurst,
      trustedProxies: this.#trustedProxies,
    });
    this.#link.dashboard = wireDashboard(io, {
      core,
      gate: this.operatorGate,
      now,
      trustedProxies: this.#trustedProxies,
      sharedConnects: this.#sharedDashboardConnects,
      hubList: () => this.hubList(),
    });
    this.#link.onSlowDashboard = (backlog) => {
      core.metrics.rejected.inc({ code: 'slow-reader' });
      this.#log.warn({ backlog }, 'dashboard left too many deltas unread: disconnected');
    };
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#port, this.#host, () => resolve());
    });
    const addr = http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.#url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
    // With several hubs the shared table is loaded before the core's timers start.
    // Before the mesh reads this hub's inbox: a second hub with this id must not take the first one's messages.
    await this.shared?.claim();
    await this.#mesh?.start();
    if (this.shared) await this.shared.start(sharedCoreOf(this.core, this.#mesh, () => this.#hubStatus()));
    this.#sharedHttpLimit?.start();
    this.#sharedDashboardConnects?.start();
    this.#sharedIpSessions?.start();
    this.#hubListPush?.start();
    this.core.start();
    this.#log.info({ url: this.#url }, 'hub listening');
    // The place dataset takes about a second to load (more than half of a hub's start): loaded just after
    // listening, while the servers that connect at once are still starting, rather than before. Only a
    // broadcaster's place (typed, or from its IP) needs it; a lookup before it is loaded loads it itself.
    // The IP dataset (≈ 140 MB read, 0.6-0.8 s) only when a client's address can be a routable one: a hub bound to
    // loopback that trusts no proxy only ever sees loopback addresses, which never geolocate.
    const routableClients = !isLoopbackIp(this.#host) || this.#trustedProxies.length > 0;
    setImmediate(() => {
      if (this.#closed) return;
      const t0 = performance.now();
      loadGazetteer();
      if (routableClients) loadIpData();
      this.core.members.excuseBusy(`datasets loaded (places${routableClients ? ', IP' : ''})`, performance.now() - t0);
    });
    return this.#url;
  }

  /** Idempotent: closes sockets, timers and the HTTP server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.core.stop();
    const io = this.#io;
    const http = this.#http;
    // Said before the sockets drop, so servers log an orderly stop, not a lost hub.
    this.#link.servers?.local.emit('shutdown', { reason: 'hub stopping' });
    this.#sharedHttpLimit?.stop();
    this.#sharedDashboardConnects?.stop();
    this.#hubListPush?.stop();
    await this.#sharedIpSessions?.stop();
    // Together: each waits on Redis at most one command timeout, and what it skips (Redis away) expires by itself.
    await Promise.all([this.shared?.stop(), this.#mesh?.stop()]);
    if (io) await new Promise<void>((r) => io.close(() => r()));
    this.#adapterRedis?.disconnect();
    if (http?.listening) await new Promise<void>((r) => http.close(() => r()));
    http?.closeAllConnections?.();
  }

  /** Asks the hub holding the rotation lease to move the baton (through the mesh); nothing if it is unknown or this hub. */
  async #askLeaseHolder(epoch: number, reason: RotationReason): Promise<void> {
    const holder = await this.shared?.leaseHolder().catch(() => null);
    if (holder && holder !== this.hubId) this.#mesh?.requestRotation(holder, epoch, reason);
  }

  /**
   * Every hub of the cluster (this one alone without Redis), read now; `shared`: a read up to HUB_LIST_FRESH_MS old,
   * shared by every request meanwhile (what anonymous requests get, so they cannot make Redis work for each).
   */
  async hubList(o: { shared?: boolean } = {}): Promise<HubInfo[]> {
    if (this.shared) return o.shared ? this.shared.sharedHubs() : this.shared.hubs();
    return [{ id: this.hubId, ...this.#hubStatus(), leaseHolder: true, lastSeenMs: this.#clock.now() }];
  }

  /** The URLs clients may use (this hub's first): what `/api/config` hands the web client for failover. */
  async hubUrls(o: { shared?: boolean } = {}): Promise<string[]> {
    const others = (await this.hubList(o)).map((h) => h.url).filter((u) => u && u !== this.publicUrl);
    return [this.publicUrl, ...others.sort()];
  }

  /** Where browsers and media servers reach this hub (`--public-url`), else the address it listens on. */
  get publicUrl(): string {
    return this.#publicUrl ?? this.#url;
  }

  #hubStatus() {
    return {
      url: this.publicUrl,
      clients: this.#link.clients?.sockets.size ?? 0,
      servers: this.core.members.size,
      attached: this.#link.attachments,
    };
  }

  /** The `/api/state` view of the table. */
  apiState() {
    return apiState(this.table, (id) => this.lastSeen(id), this.#clock.now());
  }

  /** Every asset in the cluster, sorted by id (cached until the catalog changes; do not mutate). */
  catalog(): readonly CatalogEntry[] {
    return this.core.catalogView.all();
  }
}
