// The signaling hub: authoritative state table, replication, director rotation,
// request routing to the director, and the signaling relay. Media never passes here.
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Server as IoServer, type Namespace, type Socket } from 'socket.io';
import {
  StateTable,
  ErrorCode,
  ackError,
  parse,
  MAX_MESSAGE_BYTES,
  serverDescriptorSchema,
  heartbeatSchema,
  reportSchema,
  signalSchema,
  watchSchema,
  publishSchema,
  placesSchema,
  leaveSchema,
  loadFactor,
  type Ack,
  type CatalogEntry,
  type ClientToHubEvents,
  type DecisionEvent,
  type DirectorInfo,
  type Delta,
  type HubToClientEvents,
  type HubToDashboardEvents,
  type HubToServerEvents,
  type IngestDecision,
  type Place,
  type PublishReply,
  type SelectDecision,
  type ServerToHubEvents,
  type SessionOpen,
  type VersionedDelta,
  type WatchReply,
} from './protocol/index.js';
import { TokenVerifier, AuthError } from './auth.js';
import { logger, type Logger } from './log.js';
import { createHubMetrics, type HubMetrics } from './hub-metrics.js';
import { KeyedRateLimiter, TokenBucket } from './rate-limit.js';
import { OperatorGate } from './operator-gate.js';
import { CatalogView } from './catalog-view.js';
import { createHttpHandler } from './http-routes.js';
import { boundPackets, CLIENT_PACKET_BOUNDS, DASHBOARD_PACKET_BOUNDS, SERVER_PACKET_BOUNDS } from './packet-bounds.js';
import { nextDirector } from '../node-app/policies/rotation.js';
import { resolveLocation, suggest, loadGazetteer } from './geo/gazetteer.js';
import { expired, DEFAULT_MISSED_HEARTBEATS as MISSED_HEARTBEATS } from '../node-app/policies/liveness.js';
import { ipPlace, clientIp, loadIpData } from './geo/ip-locate.js';
import { verifyStreamKey } from '../node-app/ingest/stream-key.js';
import { publicDecision } from './geo/public-place.js';
import { SessionRegistry, DEFAULT_SESSION_LIMITS, type Admission, type SessionLimits } from './session-registry.js';
import { StreamOwners } from './stream-owners.js';
import { DecisionLog } from './decision-log.js';
import { WhipRoutes } from './whip-routes.js';
import { WhepRoutes } from './whep-routes.js';

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
   * Viewer sessions one client connection / client IP may hold, unconnected and
   * in all (`DEFAULT_SESSION_LIMITS`: 4 / 16 unconnected, 16 / 64 open). The IP
   * is `clientIp` (X-Forwarded-For from trusted proxies only); loopback is not
   * capped per IP.
   */
  sessionLimits?: Partial<SessionLimits>;
  /** Clock, injectable for tests. */
  now?: () => number;
}

interface DashboardToHubEvents {
  resync: (ack: (r: Ack<{ snapshot: ReturnType<StateTable['snapshot']> }>) => void) => void;
}

interface ServerConn {
  socket: Socket<ServerToHubEvents, HubToServerEvents>;
  id: string;
  lastSeenMs: number;
}

interface Session {
  id: string;
  kind: 'watch' | 'publish';
  clientSocketId: string;
  serverId: string;
  assetId: string;
  /** Publish sessions: which entry server of the pair this is. */
  role?: 'primary' | 'backup';
  /** Watch sessions: its place in its client's session counts (`SessionRegistry`). */
  admission?: Admission;
}

/** Director answers carrying another epoch are discarded; the hub tries this many directors. */
const DIRECTOR_ATTEMPTS = 3;
const SESSION_OPEN_TIMEOUT_MS = 2_000;
/**
 * How far a registering server's `lastEpoch` may move the epoch (a year of rotations every
 * 30 s is ≈ 10^6); further claims are ignored and logged.
 */
export const MAX_EPOCH_STEP = 1_000_000;
/** HTTP requests per client IP: sustained rate and burst (a page load is about a dozen). */
export const DEFAULT_HTTP_RATE_PER_S = 50;
export const DEFAULT_HTTP_BURST = 100;
/** Dashboard connections per client IP (each costs a full snapshot). */
const DASHBOARD_CONNECTS_PER_S = 2;
const DASHBOARD_CONNECT_BURST = 10;
/** Dashboard `resync` per connection (each is a full snapshot): 1/s, bursts of 3. */
const DASHBOARD_RESYNC_PER_S = 1;
const DASHBOARD_RESYNC_BURST = 3;
/**
 * Sessions closed lately, remembered so that a close crossing ours (the server
 * ends a finished broadcast while its broadcaster leaves) is not taken for a
 * message from an outsider. Session ids are the hub's own; the oldest go first.
 */
const RECENTLY_CLOSED_SESSIONS = 1024;

export class Hub {
  readonly table = new StateTable();
  readonly metrics: HubMetrics;
  /** WHIP ingest: HTTP publishers placed through the same publish path. */
  readonly whip: WhipRoutes;
  readonly whep: WhepRoutes;
  readonly #opts: Required<Omit<HubOptions, 'staticDir' | 'now' | 'iceServers' | 'streamKeySecret' | 'operatorToken' | 'sessionLimits'>> & Pick<HubOptions, 'staticDir'>;
  readonly operatorGate: OperatorGate;
  readonly catalogView = new CatalogView(this.table);
  readonly #httpLimiter: KeyedRateLimiter;
  readonly #dashboardLimiter = new KeyedRateLimiter(DASHBOARD_CONNECTS_PER_S, DASHBOARD_CONNECT_BURST);
  readonly iceServers: RTCIceServer[];
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #verifier: TokenVerifier;
  readonly #conns = new Map<string, ServerConn>();
  readonly #sessions: SessionRegistry<Session>;
  /** Stream ids reserved by a publisher (one owner per id); released when its last publish session ends. */
  readonly #owners = new StreamOwners();
  readonly #pending: VersionedDelta[] = [];
  readonly #decisions = new DecisionLog();
  readonly #recentlyClosed = new Map<string, Session>();
  readonly #streamKeys: Set<string>;
  readonly #streamKeySecret: string | undefined;
  #flushScheduled = false;
  #http?: HttpServer;
  #io?: IoServer;
  #servers?: Namespace<ServerToHubEvents, HubToServerEvents>;
  #clients?: Namespace<ClientToHubEvents, HubToClientEvents>;
  #dashboard?: Namespace<DashboardToHubEvents, HubToDashboardEvents>;
  #livenessTimer?: NodeJS.Timeout;
  #rotationTimer?: NodeJS.Timeout;
  #closed = false;
  #url = '';
  #lastLivenessCheckMs = 0;
  #lastDirector: DirectorInfo | null = null;

  constructor(opts: HubOptions) {
    this.#opts = {
      port: opts.port ?? 8080,
      host: opts.host ?? '127.0.0.1',
      clusterSecret: opts.clusterSecret,
      heartbeatMs: opts.heartbeatMs ?? 1000,
      rotationMs: opts.rotationMs ?? 30_000,
      directorTimeoutMs: opts.directorTimeoutMs ?? 500,
      streamKeys: opts.streamKeys ?? [],
      trustedProxies: opts.trustedProxies ?? [],
      staticDir: opts.staticDir,
      clientRatePerS: opts.clientRatePerS ?? 20,
      clientBurst: opts.clientBurst ?? 40,
      httpRatePerS: opts.httpRatePerS ?? DEFAULT_HTTP_RATE_PER_S,
      httpBurst: opts.httpBurst ?? DEFAULT_HTTP_BURST,
    };
    this.operatorGate = new OperatorGate(opts.operatorToken, this.#opts.host);
    this.#httpLimiter = new KeyedRateLimiter(this.#opts.httpRatePerS, this.#opts.httpBurst);
    this.#now = opts.now ?? Date.now;
    this.iceServers = opts.iceServers ?? [];
    this.#log = logger('hub');
    this.#verifier = new TokenVerifier(opts.clusterSecret);
    this.#streamKeys = new Set(this.#opts.streamKeys);
    this.#sessions = new SessionRegistry({ ...DEFAULT_SESSION_LIMITS, ...opts.sessionLimits });
    this.#streamKeySecret = opts.streamKeySecret ?? (process.env.BATON_STREAM_KEY_SECRET || undefined);
    this.metrics = createHubMetrics({ sessionCounts: () => this.#sessionCounts() });
    this.whip = new WhipRoutes({
      publish: (clientId, req, ip) => this.#publish(clientId, req, ip),
      clientIp: (req) => clientIp(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], this.#opts.trustedProxies),
      emit: (serverId, event, msg) => Boolean(this.#conns.get(serverId)?.socket.emit(event as 'signal', msg as never)),
      request: async (serverId, event, msg, timeoutMs) => {
        const conn = this.#conns.get(serverId);
        if (!conn) return ackError(ErrorCode.noIngest, `server ${serverId} is gone`);
        this.#flush();
        try {
          return await conn.socket.timeout(timeoutMs).emitWithAck(event as 'session-open', msg as never);
        } catch {
          return ackError(ErrorCode.timeout, `server ${serverId} did not answer ${event} in time`);
        }
      },
      session: (id) => this.#sessions.get(id),
      serverIds: () => [...this.#conns.keys()],
      // An empty copy (a broadcast that sent nothing) can be taken over from byte 0.
      liveCopies: (streamId) => [...this.table.liveHolders(streamId)].filter((id) => (this.table.get(id)?.live.get(streamId)?.bytes ?? 0) > 0),
      hasSessions: (clientId) => [...this.#sessions.values()].some((s) => s.clientSocketId === clientId),
      closeClient: (clientId, reason) => {
        for (const s of [...this.#sessions.values()]) if (s.clientSocketId === clientId) this.#closeSession(s, reason);
      },
      iceServers: this.iceServers,
      log: this.#log.child({ part: 'whip' }),
    });
    this.whep = new WhepRoutes({ ...this.whip.host, select: (assetId, exclude) => this.#askDirector<SelectDecision>('select', { assetId, exclude }), log: this.#log.child({ part: 'whep' }) });
  }

  /** The URL the hub listens on (after start). */
  get url(): string {
    return this.#url;
  }

  /** Recent decisions (watch selections, ingest assignments, director changes; each kind bounded on its own), newest last. */
  get decisions(): readonly DecisionEvent[] {
    return this.#decisions.all();
  }

  /** Spends one of the request's client IP's HTTP tokens; false means answer 429. */
  takeHttpToken(req: IncomingMessage): boolean {
    const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.#opts.trustedProxies) ?? 'unknown';
    if (this.#httpLimiter.take(ip, this.#now())) return true;
    this.metrics.rejected.inc({ code: ErrorCode.rateLimited });
    return false;
  }

  lastSeen(id: string): number | undefined {
    return this.#conns.get(id)?.lastSeenMs;
  }

  async start(): Promise<string> {
    // Both datasets take a second or two to load; load them before taking
    // traffic so no request (and no heartbeat) waits behind them.
    loadGazetteer();
    loadIpData();
    const http = createServer();
    const io = new IoServer(http, {
      maxHttpBufferSize: MAX_MESSAGE_BYTES,
      pingInterval: 5_000,
      pingTimeout: 5_000,
      cors: { origin: true },
    });
    this.#http = http;
    this.#io = io;
    http.on('request', createHttpHandler(this, this.#opts.staticDir));
    this.#wireServers(io);
    this.#wireClients(io);
    this.#wireDashboard(io);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#opts.port, this.#opts.host, () => resolve());
    });
    const addr = http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.#url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
    this.#lastLivenessCheckMs = this.#now();
    this.#livenessTimer = setInterval(() => this.#checkLiveness(), this.#opts.heartbeatMs);
    if (this.#opts.rotationMs > 0) {
      this.#rotationTimer = setInterval(() => this.#rotate('timer'), this.#opts.rotationMs);
    }
    this.#log.info({ url: this.#url }, 'hub listening');
    return this.#url;
  }

  /** Idempotent: closes sockets, timers and the HTTP server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#livenessTimer);
    clearInterval(this.#rotationTimer);
    const io = this.#io;
    const http = this.#http;
    // Said before the sockets drop, so servers log an orderly stop, not a lost hub.
    this.#servers?.emit('shutdown', { reason: 'hub stopping' });
    if (io) await new Promise<void>((r) => io.close(() => r()));
    if (http?.listening) await new Promise<void>((r) => http.close(() => r()));
    http?.closeAllConnections?.();
  }

  /** The `/api/state` view of the table. */
  apiState() {
    const now = this.#now();
    return {
      version: this.table.version,
      director: this.table.director ? { id: this.table.director.id, epoch: this.table.director.epoch, sinceMs: this.table.director.sinceMs } : null,
      servers: [...this.table.servers()].map((s) => ({
        id: s.id,
        region: s.region,
        lat: s.lat,
        lon: s.lon,
        roles: [...s.roles],
        httpUrl: s.httpUrl,
        loadFactor: round3(loadFactor(s)),
        sessions: s.load.sessions,
        egressMbps: s.load.egressMbps,
        maxSessions: s.maxSessions,
        ingestSessions: s.load.ingestSessions ?? 0,
        maxIngestSessions: s.maxIngestSessions ?? s.maxSessions,
        cache: [...s.cache],
        storageCount: s.storage.size,
        live: [...s.live.values()],
        lastSeenMs: now - (this.#conns.get(s.id)?.lastSeenMs ?? now),
      })),
    };
  }

  /** Every asset in the cluster, sorted by id (cached until the catalog changes; do not mutate). */
  catalog(): readonly CatalogEntry[] {
    return this.catalogView.all();
  }

  // ---- table changes and replication --------------------------------------

  #commit(delta: Delta): VersionedDelta {
    const vd = this.table.commit(delta);
    this.catalogView.noteDelta(delta.type);
    this.metrics.deltas.inc();
    this.metrics.tableVersion.set(vd.v);
    this.metrics.servers.set(this.table.size);
    this.#pending.push(vd);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return vd;
  }

  /**
   * Sends pending deltas, batched per event-loop turn. Called before any direct
   * message to a server too, so a server always sees the table changes (e.g. its
   * own designation as director) before the request that depends on them.
   */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0);
    this.#servers?.to('registered').emit('deltas', batch);
    this.#dashboard?.emit('deltas', batch);
  }

  #record(event: DecisionEvent): void {
    // Only the public form is kept: the log is what /api/decisions and the dashboard show.
    const d = publicDecision(event);
    this.#decisions.record(d);
    this.#dashboard?.emit('decision', d);
  }

  #setDirector(reason: string): void {
    // The last director is passed even after it left the table, so the order
    // carries on and the epoch (the fencing token) never goes back.
    const next = nextDirector(this.table, this.table.director ?? this.#lastDirector, this.#now(), reason);
    const cur = this.table.director;
    if (next?.id === cur?.id && next?.epoch === cur?.epoch) return;
    if (next) this.#lastDirector = next;
    this.#commit({ type: 'director', director: next });
    this.metrics.directorChanges.inc({ reason });
    this.metrics.directorEpoch.set(next?.epoch ?? 0);
    this.#record({ kind: 'director', atMs: this.#now(), director: next, reason });
    this.#log.info({ director: next?.id ?? null, epoch: next?.epoch, reason }, 'director designated');
  }

  #rotate(reason: string): void {
    if (this.table.size === 0) return;
    this.#setDirector(reason);
  }

  #removeServer(id: string, reason: string): void {
    if (!this.table.get(id)) return;
    const wasDirector = this.table.director?.id === id;
    this.#commit({ type: 'server-left', id, reason });
    this.#conns.delete(id);
    for (const s of this.#sessions.values()) {
      if (s.serverId !== id) continue;
      this.#sessions.delete(s.id);
      this.#releaseIfIdle(s);
      this.#toClient(s.clientSocketId, 'session-close', { sessionId: s.id, reason: 'server-gone' });
    }
    this.#log.info({ server: id, reason }, 'server removed');
    if (wasDirector || !this.table.director) this.#setDirector(wasDirector ? 'director-left' : 'no-director');
  }

  #checkLiveness(): void {
    const now = this.#now();
    const stalledMs = now - this.#lastLivenessCheckMs - this.#opts.heartbeatMs;
    this.#lastLivenessCheckMs = now;
    if (stalledMs > this.#opts.heartbeatMs) {
      // The hub itself was not running (event loop blocked, process paused):
      // the servers' silence proves nothing, so give everyone a fresh start.
      this.#log.warn({ stalledMs }, 'hub stalled; liveness grace for all servers');
      for (const c of this.#conns.values()) c.lastSeenMs = now;
      return;
    }
    const lastSeen = new Map([...this.#conns.values()].map((c) => [c.id, c.lastSeenMs]));
    for (const id of expired(lastSeen, now, this.#opts.heartbeatMs, MISSED_HEARTBEATS)) {
      const c = this.#conns.get(id)!;
      this.metrics.missedHeartbeats.inc();
      this.#removeServer(c.id, 'missed-heartbeats');
      c.socket.disconnect(true);
    }
  }

  // ---- media servers --------------------------------------------------------

  #wireServers(io: IoServer): void {
    const ns = io.of('/server') as Namespace<ServerToHubEvents, HubToServerEvents>;
    this.#servers = ns;
    ns.use((socket, next) => {
      try {
        socket.data.serverId = this.#verifier.verify(socket.handshake.auth?.token, this.#now());
        next();
      } catch (err) {
        this.metrics.authFailures.inc();
        const reason = err instanceof AuthError ? err.message : 'authentication failed';
        this.#log.warn({ address: socket.handshake.address, reason }, 'server refused');
        next(new Error(`unauthorized: ${reason}`));
      }
    });
    ns.on('connection', (socket) => {
      const tokenId: string = socket.data.serverId;
      const log = this.#log.child({ server: tokenId });
      let registered = false;
      const refuse = (code: ErrorCode, message: string) => {
        this.metrics.rejected.inc({ code });
        log.warn({ code }, message);
        return ackError(code, message);
      };
      socket.use(boundPackets(SERVER_PACKET_BOUNDS, (message) => refuse(ErrorCode.badRequest, message)));
      socket.use(guardPackets(SERVER_EVENTS, (e) => socket.listeners(e as never).length > 0, (message) => refuse(ErrorCode.badRequest, message)));

      socket.on('register', (raw, ack) => {
        if (typeof ack !== 'function') return;
        const p = parse(serverDescriptorSchema, raw);
        if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid registration: ${p.message}`));
        const d = p.value;
        if (d.id !== tokenId) return ack(refuse(ErrorCode.unauthorized, `token was minted for ${tokenId}, not ${d.id}`));
        if (registered) return ack(refuse(ErrorCode.conflict, 'already registered on this connection'));
        const existing = this.#conns.get(d.id);
        if (existing && existing.socket.id !== socket.id) {
          const fresh = existing.lastSeenMs >= this.#now() - MISSED_HEARTBEATS * this.#opts.heartbeatMs && existing.socket.connected;
          if (fresh) return ack(refuse(ErrorCode.conflict, `server id ${d.id} is already live`));
          // The old connection is stale (silent or half-open): the new one replaces it.
          log.info('replacing a stale connection of the same id');
          this.#removeServer(d.id, 'replaced');
          existing.socket.disconnect(true);
        }
        registered = true;
        const { lastEpoch, ...descriptor } = d;
        const floor = this.#lastDirector?.epoch ?? 0;
        if (lastEpoch !== undefined && lastEpoch > floor && !this.table.director) {
          // After a hub restart, servers carry the epoch on: but one server's word moves it
          // only a sane step, so a rogue cannot push it to the schema's ceiling.
          if (lastEpoch - floor <= MAX_EPOCH_STEP) this.#lastDirector = { id: this.#lastDirector?.id ?? '', epoch: lastEpoch, sinceMs: this.#now() };
          else log.warn({ lastEpoch, current: floor, maxStep: MAX_EPOCH_STEP }, 'registration claims an epoch too far ahead: ignored');
        }
        this.#conns.set(d.id, { socket, id: d.id, lastSeenMs: this.#now() });
        this.#commit({ type: 'server-joined', server: { ...descriptor, joinedAtMs: this.#now() } });
        if (!this.table.director) this.#setDirector('first-server');
        this.#flush();
        socket.join('registered');
        ack({ ok: true, snapshot: this.table.snapshot() });
        log.info({ region: d.region, assets: d.storage.length }, 'server registered');
      });

      socket.on('heartbeat', (raw) => {
        const conn = this.#conns.get(tokenId);
        if (!registered || !conn || conn.socket !== socket) return;
        const p = parse(heartbeatSchema, raw);
        if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid heartbeat: ${p.message}`);
        conn.lastSeenMs = this.#now();
        if (p.value.load) this.#commit({ type: 'load', id: tokenId, load: p.value.load });
      });

      socket.on('report', (raw, ack) => {
        const reply = typeof ack === 'function' ? ack : () => {};
        if (!registered) return reply(refuse(ErrorCode.badRequest, 'register first'));
        const p = parse(reportSchema, raw);
        if (!p.ok) return reply(refuse(ErrorCode.badRequest, `invalid report: ${p.message}`));
        const conn = this.#conns.get(tokenId);
        if (conn) conn.lastSeenMs = this.#now();
        for (const own of p.value) this.#commit({ ...own, id: tokenId } as Delta);
        reply({ ok: true });
      });

      socket.on('resync', (ack) => {
        if (typeof ack !== 'function') return;
        this.#flush();
        ack({ ok: true, snapshot: this.table.snapshot() });
      });

      socket.on('signal', (raw) => {
        const p = parse(signalSchema, raw);
        if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid signal: ${p.message}`);
        const s = this.#sessions.get(p.value.sessionId);
        if (!s || s.serverId !== tokenId) return void refuse(ErrorCode.notParty, `signal for session ${p.value.sessionId} ignored: not a party`);
        this.#toClient(s.clientSocketId, 'signal', p.value);
      });

      socket.on('session-close', (raw) => {
        const p = parse(leaveSchema, raw);
        if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid session-close: ${p.message}`);
        const s = this.#sessions.get(p.value.sessionId);
        if (!s && this.#recentlyClosed.get(p.value.sessionId)?.serverId === tokenId) return void log.debug({ session: p.value.sessionId }, 'session-close crossed ours');
        if (!s || s.serverId !== tokenId) return void refuse(ErrorCode.notParty, `session-close for ${p.value.sessionId} ignored: not a party`);
        this.#forgetSession(s);
        this.#releaseIfIdle(s);
        this.#toClient(s.clientSocketId, 'session-close', { sessionId: s.id, reason: 'closed-by-server' });
      });

      socket.on('session-connected', (raw) => {
        const p = parse(leaveSchema, raw);
        if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid session-connected: ${p.message}`);
        const s = this.#sessions.get(p.value.sessionId);
        if (!s || s.serverId !== tokenId) return void refuse(ErrorCode.notParty, `session-connected for ${p.value.sessionId} ignored: not a party`);
        s.admission?.connect();
      });

      socket.on('whip-signal', (raw) => this.whip.onServerSignal(tokenId, raw));
      socket.on('whip-leave', (raw) => this.whip.onServerLeave(tokenId, raw));
      socket.on('whep-closed', (raw) => this.whep.onServerClosed(tokenId, raw));

      socket.on('disconnect', (why) => {
        // The hub shutting down is not the server failing: its viewers must not be told to move.
        if (this.#closed) return;
        const conn = this.#conns.get(tokenId);
        if (conn?.socket === socket) this.#removeServer(tokenId, `disconnected: ${why}`);
      });
    });
  }

  // ---- clients (viewers, broadcasters) -------------------------------------

  #wireClients(io: IoServer): void {
    const ns = io.of('/client') as Namespace<ClientToHubEvents, HubToClientEvents>;
    this.#clients = ns;
    ns.on('connection', (socket) => {
      const bucket = new TokenBucket(this.#now(), this.#opts.clientRatePerS, this.#opts.clientBurst);
      const log = this.#log.child({ client: socket.id });
      const limited = (): boolean => {
        if (bucket.take(this.#now())) return false;
        this.metrics.rejected.inc({ code: ErrorCode.rateLimited });
        return true;
      };
      const refuse = (code: ErrorCode, message: string) => {
        this.metrics.rejected.inc({ code });
        log.debug({ code }, message);
        return ackError(code, message);
      };
      const onBadPacket = (message: string, acked: boolean) => {
        const r = refuse(ErrorCode.badRequest, message);
        // Bad packets spend the sender's tokens too, so they cannot make the hub talk without limit.
        if (!acked && !limited()) socket.emit('error', { code: r.code, message: r.message });
        return r;
      };
      // Signals and leaves for others' sessions are counted; the first of each kind per
      // connection is a warning, the rest debug lines, so a flood cannot fill the log (50,000
      // leaves were 10 MB).
      const warnedNotParty = new Set<string>();
      const notParty = (what: 'signal' | 'leave', session: string): void => {
        this.metrics.rejected.inc({ code: ErrorCode.notParty });
        const level = warnedNotParty.has(what) ? 'debug' : 'warn';
        warnedNotParty.add(what);
        log[level]({ session }, `${what} for a session this client is not part of: ignored`);
      };
      socket.use(boundPackets(CLIENT_PACKET_BOUNDS, onBadPacket));
      socket.use(guardPackets(CLIENT_EVENTS, (e) => socket.listeners(e as never).length > 0, onBadPacket));

      socket.on('catalog', (ack) => {
        if (typeof ack !== 'function') return;
        if (limited()) return ack(ackError(ErrorCode.rateLimited, 'too many requests; slow down'));
        ack({ ok: true, ...this.catalogView.page() });
      });

      socket.on('watch', (raw, ack) => {
        if (typeof ack !== 'function') return;
        if (limited()) return ack(ackError(ErrorCode.rateLimited, 'too many requests; slow down'));
        const p = parse(watchSchema, raw);
        if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid watch: ${p.message}`));
        const started = performance.now();
        const ip = clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], this.#opts.trustedProxies);
        this.#watch(socket.id, ip, p.value.assetId, p.value.offset ?? 0, p.value.exclude ?? []).then(
          (r) => {
            this.metrics.watchLatency.observe((performance.now() - started) / 1000);
            if (!r.ok) this.metrics.rejected.inc({ code: r.code });
            ack(r);
          },
          (err) => ack(refuse(ErrorCode.internal, `watch failed: ${(err as Error).message}`)),
        );
      });

      socket.on('publish', (raw, ack) => {
        if (typeof ack !== 'function') return;
        if (limited()) return ack(ackError(ErrorCode.rateLimited, 'too many requests; slow down'));
        const p = parse(publishSchema, raw);
        if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid publish: ${p.message}`));
        const ip = clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], this.#opts.trustedProxies);
        this.#publish(socket.id, p.value, ip).then(
          (r) => ack(r),
          (err) => ack(refuse(ErrorCode.internal, `publish failed: ${(err as Error).message}`)),
        );
      });

      socket.on('places', (raw, ack) => {
        if (typeof ack !== 'function') return;
        if (limited()) return ack(ackError(ErrorCode.rateLimited, 'too many requests; slow down'));
        const p = parse(placesSchema, raw);
        if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid places query: ${p.message}`));
        ack({ ok: true, places: suggest(p.value.q, p.value.limit ?? 8) });
      });

      socket.on('signal', (raw) => {
        if (limited()) return;
        const p = parse(signalSchema, raw);
        if (!p.ok) return void socket.emit('error', { code: ErrorCode.badRequest, message: `invalid signal: ${p.message}` });
        const s = this.#sessions.get(p.value.sessionId);
        if (!s || s.clientSocketId !== socket.id) return notParty('signal', p.value.sessionId);
        this.#conns.get(s.serverId)?.socket.emit('signal', p.value);
      });

      socket.on('leave', (raw) => {
        if (limited()) return;
        const p = parse(leaveSchema, raw);
        if (!p.ok) return;
        const s = this.#sessions.get(p.value.sessionId);
        if (!s && this.#recentlyClosed.get(p.value.sessionId)?.clientSocketId === socket.id) return void log.debug({ session: p.value.sessionId }, 'leave crossed a close');
        if (!s || s.clientSocketId !== socket.id) return notParty('leave', p.value.sessionId);
        this.#closeSession(s, 'client-left');
      });

      socket.on('disconnect', () => {
        // On hub shutdown the sessions stay: media flows peer to peer and needs no hub.
        if (this.#closed) return;
        for (const s of [...this.#sessions.values()]) if (s.clientSocketId === socket.id) this.#closeSession(s, 'client-gone');
      });
    });
  }

  /** A client is a browser's socket, or a WHIP broadcast whose relay runs on its primary server. */
  #toClient(clientId: string, event: 'signal' | 'session-close', msg: { sessionId: string; data?: unknown; reason?: string }): void {
    if (this.whip.deliver(clientId, event, msg)) return;
    this.#clients?.to(clientId).emit(event, msg as never);
  }

  #closeSession(s: Session, reason: string): void {
    this.#forgetSession(s);
    this.#releaseIfIdle(s);
    this.#conns.get(s.serverId)?.socket.emit('session-close', { sessionId: s.id, reason });
  }

  /** A stream id stays reserved while any publish session of it is open here. */
  #releaseIfIdle(gone: Session): void {
    if (gone.kind !== 'publish') return;
    for (const s of this.#sessions.values()) if (s.kind === 'publish' && s.assetId === gone.assetId) return;
    this.#owners.release(gone.assetId);
  }

  #forgetSession(s: Session): void {
    this.#sessions.delete(s.id);
    this.#recentlyClosed.set(s.id, s);
    if (this.#recentlyClosed.size > RECENTLY_CLOSED_SESSIONS) this.#recentlyClosed.delete(this.#recentlyClosed.keys().next().value!);
  }

  #sessionCounts(): { watch: number; publish: number } {
    const c = { watch: 0, publish: 0 };
    for (const s of this.#sessions.values()) c[s.kind]++;
    return c;
  }

  /**
   * Ask the current director; if it does not answer in time (or answers with a
   * stale epoch) rotate the role and ask the next one. Answers exactly once.
   */
  async #askDirector<T extends { epoch: number }>(
    event: 'select' | 'select-ingest',
    body: Record<string, unknown>,
  ): Promise<Ack<T>> {
    const attempts = Math.min(DIRECTOR_ATTEMPTS, Math.max(1, this.table.size));
    let last: Ack<T> = ackError(ErrorCode.noDirector, 'no media server is registered');
    for (let i = 0; i < attempts; i++) {
      const dir = this.table.director;
      const conn = dir && this.#conns.get(dir.id);
      if (!dir || !conn) return ackError(ErrorCode.noDirector, 'no director is available');
      this.#flush();
      const req = { ...body, requestId: randomBytes(6).toString('hex'), epoch: dir.epoch };
      let reply: Ack<T>;
      try {
        reply = (await conn.socket.timeout(this.#opts.directorTimeoutMs).emitWithAck(event as 'select', req as never)) as unknown as Ack<T>;
      } catch {
        this.#log.warn({ director: dir.id, epoch: dir.epoch }, 'director did not answer in time; rotating');
        last = ackError(ErrorCode.timeout, 'the director did not answer in time');
        if (this.table.director?.epoch === dir.epoch) this.#setDirector('director-timeout');
        continue;
      }
      if (reply?.ok && reply.epoch !== this.table.director?.epoch) {
        last = ackError(ErrorCode.staleEpoch, 'the director answered for an old epoch');
        continue; // fenced: an answer from a deposed director is discarded
      }
      if (!reply?.ok && reply?.code === ErrorCode.staleEpoch) {
        last = reply;
        continue;
      }
      return reply;
    }
    return last;
  }

  /**
   * The client's session counts are checked (and its new session counted) before
   * the director is asked: a watch over a cap gets `too-many-sessions` and
   * changes nothing, not even a reservation in the director's replica.
   */
  async #watch(clientSocketId: string, ip: string | null, assetId: string, offset: number, exclude: string[]): Promise<Ack<WatchReply>> {
    const admission = this.#sessions.admit(clientSocketId, ip);
    if (!admission.ok) return admission;
    let attached = false;
    try {
      return await this.#placeWatch(clientSocketId, assetId, offset, exclude, (sessionId) => (attached = this.#sessions.attach(sessionId, admission)));
    } finally {
      if (!attached) admission.release();
    }
  }

  async #placeWatch(clientSocketId: string, assetId: string, offset: number, exclude: string[], opened: (sessionId: string) => void): Promise<Ack<WatchReply>> {
    const tried = new Set(exclude);
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await this.#askDirector<SelectDecision>('select', { assetId, exclude: [...tried] });
      if (!r.ok) return r;
      const server = this.table.get(r.serverId);
      const conn = this.#conns.get(r.serverId);
      if (!server || !conn) {
        tried.add(r.serverId);
        continue;
      }
      const sessionId = randomBytes(12).toString('base64url');
      const open: SessionOpen = { sessionId, kind: 'watch', assetId, offset };
      const session: Session = { id: sessionId, kind: 'watch', clientSocketId, serverId: r.serverId, assetId };
      this.#sessions.set(sessionId, session);
      const accepted = await this.#openSession(conn, open);
      if (!accepted.ok) {
        this.#sessions.delete(sessionId);
        tried.add(r.serverId);
        if (accepted.code === ErrorCode.unknownAsset || accepted.code === ErrorCode.noCapacity || accepted.code === ErrorCode.timeout) continue;
        return accepted;
      }
      opened(sessionId);
      this.metrics.selections.inc({ reason: r.reason });
      this.#record({ kind: 'watch', atMs: this.#now(), assetId, ...stripOk(r) });
      return {
        ok: true,
        sessionId,
        server: { id: server.id, region: server.region },
        reason: r.reason,
        loadFactor: r.loadFactor,
        epoch: r.epoch,
      };
    }
    return ackError(ErrorCode.noCapacity, `no server could take a session for ${assetId}`);
  }

  async #openSession(conn: ServerConn, open: SessionOpen): Promise<Ack> {
    try {
      return await conn.socket.timeout(SESSION_OPEN_TIMEOUT_MS).emitWithAck('session-open', open);
    } catch {
      return ackError(ErrorCode.timeout, `server ${conn.id} did not accept the session in time`);
    }
  }

  /**
   * Assign entry servers to a broadcast. A first request gets a primary (best
   * from the typed place) and a backup (best from the IP place). A *replacement*
   * — `streamId` of a stream this client is publishing with one entry server
   * still up, and the failed one in `exclude` — gets the one new server in
   * `primary` with `backup: null`; it takes over the missing role (a backup is
   * chosen from the IP place, a primary from the typed place). A stream id that
   * another client is publishing (without its stream secret), or that is already
   * stored, is refused; the id is reserved before the director is asked.
   */
  async #publish(clientSocketId: string, req: { streamKey: string; location: string | { lat: number; lon: number; label?: string }; streamId?: string; exclude?: string[]; streamSecret?: string }, ip: string | null): Promise<Ack<PublishReply>> {
    const key = verifyStreamKey(req.streamKey, this.#streamKeys, this.#streamKeySecret, this.#now());
    if (!key.ok) return ackError(ErrorCode.unauthorized, key.message);
    if (key.streamId && req.streamId && req.streamId !== key.streamId) return ackError(ErrorCode.unauthorized, `this stream key is for stream ${key.streamId}`);
    const typed: Place | null = resolveLocation(req.location);
    if (!typed) return ackError(ErrorCode.unknownPlace, `unknown place: ${typeof req.location === 'string' ? req.location : JSON.stringify(req.location)}`);
    const fromIp = ip ? ipPlace(ip) : null;
    const streamId = req.streamId ?? key.streamId ?? `live-${randomBytes(4).toString('hex')}`;
    const exclude = new Set(req.exclude ?? []);
    const current = [...this.#sessions.values()].filter((s) => s.kind === 'publish' && s.assetId === streamId);
    // Reserved synchronously, before any await: a concurrent publish of this id finds it taken.
    const liveOwners = [...this.table.liveHolders(streamId)].map((id) => this.table.get(id)?.live.get(streamId)).filter((l) => l?.live).map((l) => l!.owner ?? '');
    const claim = this.#owners.claim(streamId, clientSocketId, req.streamSecret, { liveOwners, stored: current.length === 0 && this.table.storageHolders(streamId).size > 0 });
    if (!claim.ok) return claim;
    // A failed assignment leaves no reservation behind unless the stream still has publish sessions.
    const released = <T>(r: T): T => {
      if (![...this.#sessions.values()].some((s) => s.kind === 'publish' && s.assetId === streamId)) this.#owners.release(streamId);
      return r;
    };
    const survivors = current.filter((s) => !exclude.has(s.serverId) && this.#conns.has(s.serverId));
    const replacing: 'primary' | 'backup' | null = survivors.length === 1 ? (survivors[0]!.role === 'primary' ? 'backup' : 'primary') : null;
    if (survivors.length >= 2) return released(ackError(ErrorCode.conflict, `stream ${streamId} already has two entry servers`));
    for (const s of survivors) exclude.add(s.serverId);
    // A replacement backup is the best server from the IP place: ask with that place as "typed".
    const from = replacing === 'backup' && fromIp ? fromIp : typed;
    const r = await this.#askDirector<IngestDecision>('select-ingest', { streamId, typed: from, ip: replacing ? null : fromIp, exclude: [...exclude] });
    if (!r.ok) return released(r);
    this.metrics.ingestAssignments.inc({ kind: replacing ? 'replacement' : 'new' });
    const open = async <C extends { serverId: string }>(c: C, role: 'primary' | 'backup', peer?: string) => {
      const sessionId = randomBytes(12).toString('base64url');
      this.#sessions.set(sessionId, { id: sessionId, kind: 'publish', clientSocketId, serverId: c.serverId, assetId: streamId, role });
      const conn = this.#conns.get(c.serverId);
      const accepted = conn ? await this.#openSession(conn, { sessionId, kind: 'publish', assetId: streamId, offset: 0, role, peer, streamSecret: claim.secret }) : ackError(ErrorCode.noIngest, `server ${c.serverId} is gone`);
      if (!accepted.ok) this.#sessions.delete(sessionId);
      return accepted.ok ? { ...c, sessionId } : accepted;
    };
    const [primary, backup] = replacing
      ? [await open(r.primary, replacing, survivors[0]!.serverId), null]
      : await Promise.all([open(r.primary, 'primary', r.backup?.serverId), r.backup ? open(r.backup, 'backup', r.primary.serverId) : null]);
    if ('code' in primary) {
      // The backup may have been accepted: without its primary the assignment is void.
      if (backup && !('code' in backup)) {
        const b = this.#sessions.get(backup.sessionId);
        if (b) this.#closeSession(b, 'assignment-failed');
      }
      return released(primary);
    }
    this.#record({ kind: 'publish', atMs: this.#now(), streamId, typed: from, ip: fromIp, ...stripOk(r), ...(replacing ? { backup: null } : {}) });
    return { ok: true, streamId, streamSecret: claim.secret, primary, backup: backup && !('code' in backup) ? backup : null, ipUnknown: fromIp === null, epoch: r.epoch };
  }

  // ---- dashboard -------------------------------------------------------------

  #wireDashboard(io: IoServer): void {
    const ns = io.of('/dashboard') as Namespace<DashboardToHubEvents, HubToDashboardEvents>;
    this.#dashboard = ns;
    ns.use((socket, next) => {
      const v = this.operatorGate.check(typeof socket.handshake.auth?.token === 'string' ? socket.handshake.auth.token : undefined);
      if (!v.ok) return next(new Error(`unauthorized: ${v.message}`));
      const ip = clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], this.#opts.trustedProxies) ?? 'unknown';
      if (!this.#dashboardLimiter.take(ip, this.#now())) {
        this.metrics.rejected.inc({ code: ErrorCode.rateLimited });
        return next(new Error('rate-limited: too many dashboard connections; slow down'));
      }
      next();
    });
    ns.on('connection', (socket) => {
      this.#flush();
      socket.emit('snapshot', this.table.snapshot());
      for (const d of this.#decisions.all()) socket.emit('decision', d);
      const bucket = new TokenBucket(this.#now(), DASHBOARD_RESYNC_PER_S, DASHBOARD_RESYNC_BURST);
      const onBad = (message: string) => {
        this.metrics.rejected.inc({ code: ErrorCode.badRequest });
        return ackError(ErrorCode.badRequest, message);
      };
      socket.use(boundPackets(DASHBOARD_PACKET_BOUNDS, onBad));
      // Without this, a resync with arguments or an unknown event with an ack went unanswered.
      socket.use(guardPackets(DASHBOARD_EVENTS, (e) => socket.listeners(e as never).length > 0, onBad));
      socket.on('resync', (ack) => {
        if (typeof ack !== 'function') return;
        if (!bucket.take(this.#now())) return ack(ackError(ErrorCode.rateLimited, 'at most one resync a second; slow down'));
        this.#flush();
        ack({ ok: true, snapshot: this.table.snapshot() });
      });
      // The dashboard is read-only: anything else it sends is ignored.
    });
  }
}

/** Each inbound event: how many arguments it takes, and whether the sender must ask for an ack. */
type EventShape = readonly [args: number, ack: boolean];
const CLIENT_EVENTS: Readonly<Record<string, EventShape>> = { catalog: [0, true], watch: [1, true], publish: [1, true], places: [1, true], signal: [1, false], leave: [1, false] };
const DASHBOARD_EVENTS: Readonly<Record<string, EventShape>> = { resync: [0, true] };
const SERVER_EVENTS: Readonly<Record<string, EventShape>> = { register: [1, true], heartbeat: [1, false], report: [1, true], resync: [0, true], signal: [1, false], 'session-close': [1, false], 'session-connected': [1, false], 'whip-signal': [1, false], 'whip-leave': [1, false], 'whep-closed': [1, false] };
/** The socket's own events: listened to, but never to be fired by a peer's packet. */
const SOCKET_OWN_EVENTS = new Set(['error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/**
 * socket.io packet middleware: an event nobody handles, or one of `shapes` with the wrong
 * arguments or ack, never reaches a handler (which would stay silent); the sender gets an
 * error ack when it asked for one, and `onBad` hears of it either way. Handled events not in
 * `shapes` pass unchecked (their handler validates).
 */
function guardPackets(
  shapes: Readonly<Record<string, EventShape>>,
  handled: (event: string) => boolean,
  onBad: (message: string, acked: boolean) => ReturnType<typeof ackError>,
) {
  return (packet: unknown[], next: (err?: Error) => void): void => {
    const [event, ...args] = packet;
    const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (r: unknown) => void) : undefined;
    const given = args.length - (ack ? 1 : 0);
    const shape = typeof event === 'string' && Object.hasOwn(shapes, event) ? shapes[event] : undefined;
    const custom = typeof event === 'string' && !SOCKET_OWN_EVENTS.has(event) && handled(event);
    if (shape ? given === shape[0] && (ack !== undefined) === shape[1] : custom) return next();
    const name = JSON.stringify(String(event).slice(0, 64));
    const message = !shape
      ? `unknown event ${name}`
      : given !== shape[0]
        ? `event ${name} takes ${shape[0]} argument(s), got ${given}`
        : `event ${name} ${shape[1] ? 'needs an' : 'takes no'} acknowledgement callback`;
    const reply = onBad(message, ack !== undefined);
    ack?.(reply);
  };
}

function stripOk<T extends { ok: true }>(r: T): Omit<T, 'ok'> {
  const { ok: _ok, ...rest } = r;
  return rest;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
