// The headless media server: registers with the hub, keeps a replica of the
// state table, answers as director when it holds the baton, and serves sessions.
import { EventEmitter } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connect, type Socket } from 'socket.io-client';
import {
  StateTable,
  ErrorCode,
  ackError,
  parse,
  selectRequestSchema,
  selectIngestRequestSchema,
  signalSchema,
  DEFAULT_LOAD_WEIGHTS,
  loadFactor,
  type Ack,
  type HubToServerEvents,
  type ServerToHubEvents,
  type ServerDescriptor,
  type ServerLoad,
  type SessionOpen,
  type TableSnapshot,
  type VersionedDelta,
  type OwnDelta,
  type Role,
  type LoadWeights,
} from '../signaling/protocol/index.js';
import { SESSION_ID_PATTERN, isAssetId } from '../signaling/protocol/ids.js';
import { mintServerToken } from '../signaling/auth.js';
import { logger, type Logger } from '../signaling/log.js';
import { DEFAULT_LOAD_BOUND, placeViewer, type SelectOptions } from './policies/select.js';
import { selectIngest } from './policies/select-ingest.js';
import { DiskStore } from './storage/disk-store.js';
import { CachePolicy, createCache, type BlockCache } from './cache/index.js';
import { createCachedSource } from './cache/cached-reader.js';
import { CONNECT_TIMEOUT_MS, ServeSession, type ServeSessionOptions } from './delivery/serve-session.js';
import { createServerMetrics, type ServerMetrics } from './server-metrics.js';
import { IceFilter } from './webrtc/ice-filter.js';
import type { CacheChange } from './contracts.js';
import { serveMedia } from './http-media.js';
import type { Wrtc } from './webrtc/peer.js';
import { CLOSED_BY_HUB, IngestManager, ingestLimits } from './ingest/ingest-manager.js';
import { DEFAULT_MAX_INGEST_SESSIONS } from './slot-defaults.js';
import { WhipManager, iceUrls } from './whip/whip-manager.js';
import { WhepManager } from './whep/whep-manager.js';

export interface MediaServerOptions {
  hubUrl: string;
  clusterSecret: string;
  id: string;
  region: string;
  lat: number;
  lon: number;
  storageDir: string;
  cacheMb: number;
  /** Viewer session slots. */
  maxSessions: number;
  /** Broadcast session slots, apart from viewers' (default `DEFAULT_MAX_INGEST_SESSIONS`). */
  maxIngestSessions?: number;
  uplinkMbps: number;
  ingest: boolean;
  /** Per-stream ingest quotas: average Mbit/s (default 25) and MiB (default 8192). */
  ingestMaxMbps?: number;
  ingestMaxMb?: number;
  /** Cache policy: the interval cache (default) or LRU for comparison. */
  /** Cache policy (default `gic`: generalized interval caching). */
  cachePolicy?: CachePolicy;
  heartbeatMs?: number;
  /** Port of the server's own HTTP side (metrics, health); 0 = any free port. */
  httpPort?: number;
  httpHost?: string;
  weights?: LoadWeights;
  /**
   * ε of the director's bounded loads (`SelectOptions.loadBound`); null turns
   * the relative bound off (absolute threshold only). Default `DEFAULT_LOAD_BOUND`.
   */
  loadBound?: number | null;
  /** WebRTC implementation for simple-peer (default: node-datachannel's polyfill). */
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  /** Local address WHIP publishers' ICE binds to (e.g. 127.0.0.1 in tests); all interfaces by default. */
  rtcBindAddress?: string;
  /** Viewer-session timeouts (connect, stall, idle, slow viewer); ServeSession's defaults otherwise. */
  sessionTimeouts?: ServeSessionOptions['timeouts'];
  /**
   * A viewer session with no WebRTC connection this long after it was opened is
   * closed, its slot freed and the hub told (default `CONNECT_TIMEOUT_MS`, 5 s);
   * wins over `sessionTimeouts.connectMs`.
   */
  unconnectedSessionMs?: number;
  /** Viewers that ask for `fast` get unpaced delivery (`--allow-fast`). Default false: every viewer is paced. */
  allowFast?: boolean;
  /**
   * CIDRs (parseIceAllow) whose remote ICE candidates are probed although they are
   * loopback/private (`--ice-allow`). Hostname candidates are never probed.
   */
  iceAllow?: string[];
}

interface MediaServerEvents {
  registered: [snapshot: TableSnapshot];
  fatal: [error: Error];
  director: [isDirector: boolean];
  closed: [];
}

/** Load is re-sent at least this often even when it did not change. */
const LOAD_REFRESH_MS = 10_000;
/** Egress changes smaller than this (and under 10 %) are not worth a load delta. */
const EGRESS_REPORT_MIN_MBPS = 0.05;
/** How often the storage directory is rescanned for added or removed assets. */
const STORAGE_RESCAN_MS = 2_000;

export class MediaServer extends EventEmitter<MediaServerEvents> {
  readonly table = new StateTable();
  readonly store: DiskStore;
  readonly cache: BlockCache;
  readonly metrics: ServerMetrics;
  readonly #iceFilter: IceFilter;
  readonly #o: MediaServerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, ServeSession>();
  readonly #ingest: IngestManager;
  readonly #whip: WhipManager;
  readonly #whep: WhepManager;
  #socket?: Socket<HubToServerEvents, ServerToHubEvents>;
  #http?: HttpServer;
  #httpUrl?: string;
  #heartbeat?: NodeJS.Timeout;
  #rescan?: NodeJS.Timeout;
  #registered = false;
  #registerAttempts = 0;
  #closed = false;
  #lastLoad?: { load: ServerLoad; atMs: number };
  /** A session was opened here since the last heartbeat. */
  #opened = false;
  #egressBytes = 0;
  #egressMark = { bytes: 0, atMs: Date.now() };
  #cpuMark = { usage: process.cpuUsage(), atMs: Date.now() };
  #resyncing = false;
  /** The hub announced it is stopping (`shutdown`); cleared on reconnect. */
  #hubStopping = false;

  constructor(opts: MediaServerOptions) {
    super();
    this.#o = opts;
    this.#log = logger('media-server', { server: opts.id });
    this.store = new DiskStore(opts.storageDir);
    this.cache = createCache({ policy: opts.cachePolicy ?? CachePolicy.gic, budgetBytes: Math.round(opts.cacheMb * 1024 * 1024) });
    this.cache.onChange((c) => this.#reportCache(c));
    this.metrics = createServerMetrics(this);
    this.#iceFilter = new IceFilter(opts.iceAllow ?? [], (reason, address) => {
      this.metrics.iceDropped.inc({ reason });
      this.#log.debug({ reason, address }, 'remote ICE candidate dropped');
    });
    this.#ingest = new IngestManager({
      store: this.store,
      enabled: opts.ingest,
      limits: ingestLimits(opts.ingestMaxMbps, opts.ingestMaxMb),
      signal: (sessionId, data) => this.#socket?.emit('signal', { sessionId, data }),
      sessionClosed: (sessionId) => this.#socket?.emit('session-close', { sessionId }),
      report: (deltas) => this.#report(deltas),
      finalized: () => this.#rescanStorage(),
      knownStart: (id) => Math.min(...[...this.table.liveHolders(id)].map((s) => this.table.get(s)?.live.get(id)?.startedAtMs ?? Infinity)),
      // Broadcasts have their own slots: viewers filling theirs never starve an ingest, nor the reverse.
      hasCapacity: () => this.#ingest.sessionCount < this.#maxIngestSessions,
      wrtc: opts.wrtc,
      iceServers: opts.iceServers,
      log: this.#log,
    });
    this.#whip = new WhipManager({
      emitToHub: (event, msg) => this.#socket?.emit(event, msg),
      bindAddress: opts.rtcBindAddress,
      wrtc: opts.wrtc,
      iceServers: opts.iceServers,
      log: this.#log.child({ part: 'whip' }),
      continuation: (streamId) => this.#ingest.continuation(streamId),
    });
    this.#whep = new WhepManager({
      // The same byte path as a data-channel viewer's: the interval cache for a stored asset, the live writer otherwise.
      openSource: (id) => (!isAssetId(id) ? undefined : this.store.stat(id) ? createCachedSource(this.store, this.cache, id, Date.now) : this.#ingest.liveSource(id, 0)),
      emitToHub: (event, msg) => this.#socket?.emit(event, msg),
      bindAddress: opts.rtcBindAddress,
      iceServerUrls: iceUrls(opts.iceServers),
      log: this.#log.child({ part: 'whep' }),
    });
  }

  get id(): string {
    return this.#o.id;
  }

  get isDirector(): boolean {
    return this.table.director?.id === this.#o.id;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  get #maxIngestSessions(): number {
    return this.#o.maxIngestSessions ?? DEFAULT_MAX_INGEST_SESSIONS;
  }

  /** Broadcast bytes received by this server's ingest sessions since start. */
  get ingestBytes(): number {
    return this.#ingest.bytesIngested;
  }

  get ingestSessionCount(): number {
    return this.#ingest.sessionCount;
  }

  get egressBytes(): number {
    return this.#egressBytes;
  }

  get httpUrl(): string | undefined {
    return this.#httpUrl;
  }

  async start(): Promise<void> {
    await this.store.refresh();
    await this.#ingest.removeStaleParts();
    await this.#startHttp();
    const socket: Socket<HubToServerEvents, ServerToHubEvents> = connect(`${this.#o.hubUrl}/server`, {
      auth: (cb) => cb({ token: mintServerToken(this.#o.clusterSecret, this.#o.id, Date.now()) }),
      reconnectionDelay: 250,
      reconnectionDelayMax: 5_000,
      randomizationFactor: 0.5,
      transports: ['websocket'],
    });
    this.#socket = socket;
    socket.on('connect', () => this.#register());
    socket.on('connect_error', (err) => {
      if (err.message.startsWith('unauthorized')) {
        this.#log.error({ reason: err.message }, 'the hub refused this server');
        this.emit('fatal', new Error(`hub refused registration: ${err.message}`));
        return;
      }
      // While the hub restarts after saying so, failed reconnects are expected.
      if (this.#hubStopping) this.#log.info({ err: err.message }, 'hub not back yet; retrying with backoff');
      else this.#log.warn({ err: err.message }, 'hub unreachable; retrying with backoff');
    });
    socket.on('connect', () => {
      this.#hubStopping = false;
    });
    socket.on('shutdown', ({ reason }) => {
      this.#hubStopping = true;
      this.#log.info({ reason }, 'the hub is stopping; reconnecting when it is back');
    });
    socket.on('disconnect', (why) => {
      this.#registered = false;
      // A WARN only when the hub went away unannounced: not when this server or the hub stops on purpose.
      if (this.#closed || this.#hubStopping) this.#log.info({ why }, 'disconnected from hub');
      else this.#log.warn({ why }, 'disconnected from hub');
      // socket.io reconnects by itself after transport failures, but not when the
      // hub closed us (e.g. missed heartbeats): come back after a pause.
      if (why === 'io server disconnect' && !this.#closed) setTimeout(() => !this.#closed && socket.connect(), 500 + Math.random() * 500);
    });
    socket.on('deltas', (batch) => this.#onDeltas(batch));
    socket.on('snapshot', (s) => this.table.load(s));
    socket.on('select', (req, ack) => this.#onSelect(req, ack));
    socket.on('select-ingest', (req, ack) => this.#onSelectIngest(req, ack));
    socket.on('session-open', (msg, ack) => this.#onSessionOpen(msg, ack));
    socket.on('signal', (msg) => {
      const p = parse(signalSchema, msg);
      if (!p.ok) return;
      // Remote candidates this server must not probe never reach the WebRTC stack.
      const data = this.#iceFilter.filterSignal(p.value.data);
      if (data === null) return;
      const s = this.#sessions.get(p.value.sessionId);
      if (s) s.signal(data);
      else this.#ingest.signal(p.value.sessionId, data);
    });
    socket.on('whip-offer', (msg, ack) => this.#whip.offer(msg, ack));
    socket.on('whip-end', (msg, ack) => this.#whip.end(msg, ack));
    socket.on('whip-signal', (msg) => this.#whip.signal(msg));
    socket.on('whip-session-close', (msg) => this.#whip.sessionClose(msg));
    socket.on('whep-offer', (msg, ack) => this.#whep.offer(msg, ack));
    socket.on('whep-end', (msg, ack) => this.#whep.end(msg, ack));
    socket.on('session-close', (msg) => {
      const id = msg?.sessionId;
      const session = this.#sessions.get(id);
      if (!session) return void this.#ingest.closeSession(id);
      // Out of the map first: the hub has forgotten it, so its 'closed' handler must not report it back.
      this.#sessions.delete(id);
      session.close(CLOSED_BY_HUB);
    });
    this.#heartbeat = setInterval(() => this.#beat(), this.#o.heartbeatMs ?? 1000);
    this.#rescan = setInterval(() => void this.#rescanStorage(), STORAGE_RESCAN_MS);
  }

  async #rescanStorage(): Promise<void> {
    const { added, removed } = await this.store.refresh();
    const deltas: OwnDelta[] = [];
    if (added.length) deltas.push({ type: 'storage-add', assets: added });
    if (removed.length) deltas.push({ type: 'storage-remove', assets: removed });
    if (deltas.length) {
      this.#log.info({ added: added.map((a) => a.id), removed }, 'storage changed');
      this.#report(deltas);
    }
  }

  /** Stop taking sessions, leave the hub, close everything (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#rescan);
    // Leave the table first: the hub then tells every viewer of this server to
    // move, and no director can pick this server again while they do.
    this.#socket?.disconnect();
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
    this.#whip.close();
    this.#whep.close();
    const http = this.#http;
    if (http?.listening) {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    // Bounded in time (SHUTDOWN_FLUSH_MS): accepted chunks are written if the disk lets them.
    await this.#ingest.close();
    this.store.close();
    this.emit('closed');
  }

  descriptor(): ServerDescriptor {
    return {
      id: this.#o.id,
      region: this.#o.region,
      lat: this.#o.lat,
      lon: this.#o.lon,
      roles: (this.#o.ingest ? ['edge', 'ingest'] : ['edge']) as Role[],
      maxSessions: this.#o.maxSessions,
      maxIngestSessions: this.#o.ingest ? this.#maxIngestSessions : 0,
      uplinkMbps: this.#o.uplinkMbps,
      load: this.#measureLoad(),
      cache: this.cache.assets(),
      storage: this.store.list(),
      live: this.#ingest.liveInfo(),
      ...(this.#httpUrl ? { httpUrl: this.#httpUrl } : {}),
      ...(this.table.director ? { lastEpoch: this.table.director.epoch } : {}),
    };
  }

  // ---- hub link ---------------------------------------------------------------

  #register(): void {
    const socket = this.#socket;
    if (!socket) return;
    socket.emit('register', this.descriptor(), (r) => {
      if (!r.ok) {
        // A refusal (a live server of this id, a hub that cannot take us yet) is retried with
        // backoff; only a wrong secret — refused at connect — ends the process.
        const delayMs = registerBackoffMs(this.#registerAttempts++);
        this.#log.error({ code: r.code, retryInMs: Math.round(delayMs) }, `registration refused: ${r.message}`);
        setTimeout(() => !this.#closed && socket.connected && !this.#registered && this.#register(), delayMs);
        return;
      }
      this.#registerAttempts = 0;
      this.table.load(r.snapshot);
      this.#registered = true;
      this.#log.info({ version: r.snapshot.version, servers: r.snapshot.servers.length }, 'registered with hub');
      this.emit('registered', r.snapshot);
      if (this.#o.ingest) this.#whip.warm();
      this.#whep.warm();
    });
  }

  #onDeltas(batch: VersionedDelta[]): void {
    if (!Array.isArray(batch)) return;
    const wasDirector = this.isDirector;
    for (const vd of batch) {
      const outcome = this.table.offer(vd);
      if (outcome === 'gap') {
        this.#resync();
        return;
      }
    }
    if (wasDirector !== this.isDirector) this.#directorChanged();
  }

  #resync(): void {
    if (this.#resyncing || !this.#socket) return;
    this.#resyncing = true;
    this.#log.warn({ version: this.table.version }, 'gap in deltas; asking for a snapshot');
    this.#socket.emit('resync', (r) => {
      this.#resyncing = false;
      if (r.ok) this.table.load(r.snapshot);
    });
  }

  #directorChanged(): void {
    this.metrics.isDirector.set(this.isDirector ? 1 : 0);
    this.#log.info({ epoch: this.table.director?.epoch }, this.isDirector ? 'now the director' : 'no longer the director');
    this.emit('director', this.isDirector);
  }

  #beat(): void {
    if (!this.#registered || !this.#socket?.connected) return;
    const load = this.#measureLoad();
    const now = Date.now();
    const prev = this.#lastLoad;
    const changed =
      !prev ||
      prev.load.sessions !== load.sessions ||
      prev.load.ingestSessions !== load.ingestSessions ||
      Math.abs(prev.load.egressMbps - load.egressMbps) > Math.max(EGRESS_REPORT_MIN_MBPS, prev.load.egressMbps * 0.1) ||
      Math.abs(prev.load.cpu - load.cpu) > 0.05 ||
      // The director counted each session it sent here (a reservation in its replica) until this
      // server's next load report: after any session opened, report, even if the count is back where it was.
      this.#opened ||
      now - prev.atMs > LOAD_REFRESH_MS;
    this.#opened = false;
    if (changed) this.#lastLoad = { load, atMs: now };
    this.#socket.emit('heartbeat', changed ? { load } : {});
  }

  #measureLoad(): ServerLoad {
    const now = Date.now();
    const dt = Math.max(1, now - this.#egressMark.atMs);
    const egressMbps = ((this.#egressBytes - this.#egressMark.bytes) * 8) / (dt * 1000);
    this.#egressMark = { bytes: this.#egressBytes, atMs: now };
    const usage = process.cpuUsage();
    const cpuDt = Math.max(1, now - this.#cpuMark.atMs);
    const cpu = (usage.user - this.#cpuMark.usage.user + usage.system - this.#cpuMark.usage.system) / 1000 / cpuDt;
    this.#cpuMark = { usage, atMs: now };
    return {
      sessions: this.#sessions.size,
      ingestSessions: this.#ingest.sessionCount,
      egressMbps: Math.round(egressMbps * 100) / 100,
      cpu: Math.min(64, Math.round(cpu * 100) / 100),
      storageReadBytes: this.store.bytesRead,
    };
  }

  #report(deltas: OwnDelta[]): void {
    if (!this.#registered || !this.#socket?.connected) return; // the next registration carries the full state
    this.#socket.emit('report', deltas, (r) => {
      if (!r.ok) this.#log.warn({ code: r.code }, `report refused: ${r.message}`);
    });
  }

  #reportCache(c: CacheChange): void {
    const deltas: OwnDelta[] = [];
    if (c.added.length) deltas.push({ type: 'cache-add', assets: c.added });
    if (c.removed.length) deltas.push({ type: 'cache-remove', assets: c.removed });
    if (deltas.length) this.#report(deltas);
  }

  // ---- director role --------------------------------------------------------------

  #fenced(epoch: number): boolean {
    const d = this.table.director;
    return !d || d.id !== this.#o.id || d.epoch !== epoch;
  }

  #onSelect(raw: unknown, ack: (r: Ack<any>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(selectRequestSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, p.message));
    if (this.#fenced(p.value.epoch)) return ack(ackError(ErrorCode.staleEpoch, `not the director for epoch ${p.value.epoch}`));
    const r = placeViewer(this.table, { assetId: p.value.assetId, exclude: p.value.exclude }, this.#o.id, this.#selectOptions());
    this.metrics.decisions.inc({ result: r.ok ? r.reason : r.code });
    ack(r.ok ? { ...r, epoch: p.value.epoch } : r);
  }

  /** The director policy's options as this server runs them (also shown in /api/status). */
  #selectOptions(): SelectOptions {
    const loadBound = this.#o.loadBound === undefined ? DEFAULT_LOAD_BOUND : this.#o.loadBound;
    return { weights: this.#o.weights ?? DEFAULT_LOAD_WEIGHTS, ...(loadBound === null ? {} : { loadBound }) };
  }

  #onSelectIngest(raw: unknown, ack: (r: Ack<any>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(selectIngestRequestSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, p.message));
    if (this.#fenced(p.value.epoch)) return ack(ackError(ErrorCode.staleEpoch, `not the director for epoch ${p.value.epoch}`));
    const r = selectIngest(this.table, { typed: p.value.typed, ip: p.value.ip, exclude: p.value.exclude }, {
      weights: this.#o.weights ?? DEFAULT_LOAD_WEIGHTS,
    });
    ack(r.ok ? { ...r, epoch: p.value.epoch } : r);
  }

  // ---- sessions ------------------------------------------------------------------------

  #onSessionOpen(msg: SessionOpen, ack: (r: Ack) => void): void {
    if (typeof ack !== 'function') return;
    if (this.#closed) return ack(ackError(ErrorCode.noCapacity, 'server is shutting down'));
    // The hub validates, but a server trusts no input: a malformed open must not throw in here.
    if (!isSessionOpen(msg)) return ack(ackError(ErrorCode.badRequest, 'malformed session-open'));
    if (msg.kind === 'publish') return ack(this.#ingest.open(msg));
    if (msg.kind !== 'watch') return ack(ackError(ErrorCode.badRequest, `session kind ${msg.kind} is not served here yet`));
    // An id that could name a path is refused exactly like an id this server does not store.
    if (!isAssetId(msg.assetId)) return ack(ackError(ErrorCode.unknownAsset, `asset ${JSON.stringify(String(msg.assetId).slice(0, 64))} is not stored here`));
    if (this.#sessions.size >= this.#o.maxSessions) return ack(ackError(ErrorCode.noCapacity, 'every viewer slot of this server is taken'));
    const info = this.store.stat(msg.assetId);
    // Not in the catalog (yet): a stream being ingested here is served from its live file.
    const live = info ? undefined : this.#ingest.liveSource(msg.assetId, msg.offset);
    if (!info && !live) return ack(ackError(ErrorCode.unknownAsset, `asset ${msg.assetId} is not stored here`));
    const source = live ?? createCachedSource(this.store, this.cache, msg.assetId, Date.now);
    const session = new ServeSession({
      sessionId: msg.sessionId,
      source,
      offset: msg.offset,
      signal: (data: unknown) => this.#socket?.emit('signal', { sessionId: msg.sessionId, data }),
      wrtc: this.#o.wrtc,
      iceServers: this.#o.iceServers,
      log: this.#log.child({ session: msg.sessionId }),
      asset: info ? { mime: info.mime, bitrateBps: info.bitrateBps } : { mime: this.#ingest.mimeOf(msg.assetId) },
      timeouts: { ...this.#o.sessionTimeouts, connectMs: this.#o.unconnectedSessionMs ?? this.#o.sessionTimeouts?.connectMs ?? CONNECT_TIMEOUT_MS },
      allowFast: this.#o.allowFast === true,
    });
    this.#sessions.set(msg.sessionId, session);
    this.#opened = true;
    session.on('sent', (n: number) => {
      this.#egressBytes += n;
      this.metrics.egressBytes.inc(n);
    });
    // The hub counts a session against its client's unconnected cap until it hears this.
    session.once('connected', () => this.#socket?.emit('session-connected', { sessionId: msg.sessionId }));
    session.once('closed', () => {
      source.close();
      // What this viewer cost the disk: the measure of the cache for one stream.
      if (!live && 'storageBytes' in source) this.#log.info({ session: msg.sessionId, assetId: msg.assetId, storageBytes: source.storageBytes, cacheBytes: source.cacheBytes }, 'watch session ended');
      if (this.#sessions.get(msg.sessionId) === session) {
        this.#sessions.delete(msg.sessionId);
        this.#socket?.emit('session-close', { sessionId: msg.sessionId });
      }
    });
    ack({ ok: true });
  }

  // ---- HTTP (metrics, health) ----------------------------------------------------------

  async #startHttp(): Promise<void> {
    const http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (serveMedia(this.store, path, req, res)) return;
      if (path === '/metrics') {
        this.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(text);
        });
        return;
      }
      const body =
        path === '/healthz'
          ? { ok: true }
          : path === '/api/table'
            ? this.table.snapshot()
          : path === '/api/status'
            ? {
                id: this.#o.id,
                registered: this.#registered,
                director: this.isDirector,
                sessions: this.#sessions.size,
                ingestSessions: this.#ingest.sessionCount,
                // Per viewer: what the server holds for it (queuedBytes) is what a slow viewer could grow.
                sessionStats: [...this.#sessions].map(([sessionId, s]) => ({ sessionId, ...s.stats() })),
                loadFactor: loadFactor({ maxSessions: this.#o.maxSessions, uplinkMbps: this.#o.uplinkMbps, load: this.#lastLoad?.load ?? this.#measureLoad() }),
                cache: { policy: this.cache.policy, usedBytes: this.cache.usedBytes, peakBytes: this.cache.stats().peakBytes, budgetBytes: this.cache.budgetBytes, assets: this.cache.assets() },
                storageReadBytes: this.store.bytesRead,
                tableVersion: this.table.version,
                // The effective settings (flags, environment, config file and defaults merged): `loadBound: null` = off.
                options: {
                  cacheMb: this.#o.cacheMb,
                  cachePolicy: this.#o.cachePolicy ?? 'interval',
                  maxSessions: this.#o.maxSessions,
                  uplinkMbps: this.#o.uplinkMbps,
                  weights: this.#selectOptions().weights,
                  loadBound: this.#selectOptions().loadBound ?? null,
                },
              }
            : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { error: 'not found' }));
    });
    this.#http = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#o.httpPort ?? 0, this.#o.httpHost ?? '127.0.0.1', () => resolve());
    });
    const a = http.address() as AddressInfo;
    this.#httpUrl = `http://${a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
  }
}

/** The shape of a `session-open` (ids are checked where they are used). */
function isSessionOpen(m: unknown): m is SessionOpen {
  if (!m || typeof m !== 'object') return false;
  const o = m as Record<string, unknown>;
  return (
    typeof o.sessionId === 'string' &&
    SESSION_ID_PATTERN.test(o.sessionId) &&
    typeof o.kind === 'string' &&
    typeof o.assetId === 'string' &&
    Number.isSafeInteger(o.offset) &&
    (o.offset as number) >= 0 &&
    (o.streamSecret === undefined || (typeof o.streamSecret === 'string' && o.streamSecret.length <= 64))
  );
}

/** Delay before registration attempt `n + 1` after a refusal: 1 s doubling to 30 s, ± 25 % jitter. */
export function registerBackoffMs(n: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.min(n, 5)) * (0.75 + Math.random() * 0.5);
}
