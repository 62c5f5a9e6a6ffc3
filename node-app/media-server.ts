// The headless media server: wires its parts together — the hub link, the state-table
// replica, the director role, viewer and ingest sessions, storage rescans, the HTTP side.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { StateTable, ServerDescriptor, TableSnapshot, OwnDelta } from '../signaling/protocol/index.js';
import { logger, type Logger } from '../signaling/log.js';
import { serverCredential, serverTokenMinter } from '../signaling/auth.js';
import { DirectorRole } from './director/director-role.js';
import { DiskStore } from './storage/disk-store.js';
import type { PosterMaker } from './storage/poster-maker.js';
import { type RenditionMaker, renditionsAmong } from './storage/rendition-maker.js';
import { serverRenditions, sweepPartialOutputs } from './server/server-renditions.js';
import { isAssetId } from '../signaling/protocol/ids.js';
import { createCachedSource } from './cache/cached-reader.js';
import { createCache, DEFAULT_CACHE_POLICY, type BlockCache } from './cache/index.js';
import { createServerMetrics, type ServerMetrics } from './server/metrics.js';
import { HubLink } from './server/hub-link.js';
import { LoadReport } from './server/load-report.js';
import { StorageWritable } from './server/storage-writable.js';
import { startStatusHttp, type StatusHttp } from './server/status-http.js';
import { ViewerSessions } from './server/viewer-sessions.js';
import { IceFilter } from './webrtc/ice-filter.js';
import type { CacheChange } from './contracts.js';
import type { IngestManager } from './ingest/ingest-manager.js';
import { DEFAULT_MAX_INGEST_SESSIONS } from './slot-defaults.js';
import { WhipManager, iceUrls } from './whip/whip-manager.js';
import { WhepManager } from './whep/whep-manager.js';
import type { MediaServerOptions } from './server/media-server-options.js';
import { cacheDeltas } from './server/own-deltas.js';
import { routeHubEvents } from './server/hub-events.js';
import { RescanSchedule } from './server/rescan-schedule.js';
import { serverPosters } from './server/server-posters.js';
import { statusBody } from './server/status-body.js';
import { DEFAULT_HEARTBEAT_MS, Heartbeat } from './server/heartbeat.js';
import { rescanStorage } from './server/storage-rescan.js';
import { serverDescriptor } from './server/server-descriptor.js';
import { serverIngest } from './server/server-ingest.js';
import { ServerReplica } from './server/server-replica.js';

export { registerBackoffMs } from './server/hub-link.js';
export { ANSWER_IN_ACK_WAIT_MS } from './server/session-open.js';
export type { MediaServerOptions } from './server/media-server-options.js';

interface MediaServerEvents {
  registered: [snapshot: TableSnapshot];
  fatal: [error: Error];
  director: [isDirector: boolean];
  closed: [];
}

export class MediaServer extends EventEmitter<MediaServerEvents> {
  readonly #replica: ServerReplica;
  readonly store: DiskStore;
  /** This process's (this server object's) registration: a restart under the same id makes hubs drop the old one's state. */
  readonly instance = randomBytes(12).toString('base64url');
  readonly cache: BlockCache;
  readonly metrics: ServerMetrics;
  readonly #iceFilter: IceFilter;
  readonly #o: MediaServerOptions;
  /** This server's hub tokens, from its cluster secret or its own key. */
  readonly #mintToken: () => string;
  readonly #log: Logger;
  readonly #director: DirectorRole;
  readonly #viewers: ViewerSessions;
  readonly #ingest: IngestManager;
  readonly #whip: WhipManager;
  readonly #whep: WhepManager;
  readonly #loadReport: LoadReport;
  /** An ingest server's storage, checked for room for a new broadcast (reported in its load). */
  readonly #storageWritable: StorageWritable | undefined;
  readonly #posters: PosterMaker | undefined;
  readonly #renditions: RenditionMaker | undefined;
  #hub?: HubLink;
  #http?: StatusHttp;
  readonly #heartbeat: Heartbeat;
  readonly #rescan = new RescanSchedule(
    () => this.#rescanStorage(),
    (err) => this.#log.warn({ err: err.message }, 'storage rescan failed'),
  );
  #closed = false;

  constructor(opts: MediaServerOptions) {
    super();
    this.#o = opts;
    this.#mintToken = serverTokenMinter(serverCredential(opts), opts.id);
    this.#log = logger('media-server', { server: opts.id });
    this.#heartbeat = new Heartbeat(opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, () => this.#beat(), this.#log);
    this.#replica = new ServerReplica({
      hub: () => this.#hub,
      isDirector: () => this.isDirector,
      directorChanged: () => this.#directorChanged(),
      log: this.#log,
    });
    this.#posters =
      opts.posters === false
        ? undefined
        : serverPosters({
            store: () => this.store,
            writing: (id) => this.#ingest.writing(id),
            posterMade: (id, token) => this.#ingest.posterMade(id, token),
            log: this.#log,
          });
    this.#renditions = opts.renditions
      ? serverRenditions({
          rescan: (made) => {
            if (made) this.store.written(made);
            void this.#rescanStorage();
          },
          log: this.#log,
        })
      : undefined;
    this.store = new DiskStore(opts.storageDir, {
      posters: this.#posters,
      renditions: this.#renditions,
      sidecarError: (id, message) => this.#log.warn({ asset: id, err: message }, 'sidecar ignored'),
      notListed: (file, reason) => this.#log.warn({ file, reason }, `${file} not listed: ${reason}`),
    });
    this.cache = createCache({ policy: opts.cachePolicy ?? DEFAULT_CACHE_POLICY, budgetBytes: Math.round(opts.cacheMb * 1024 * 1024) });
    this.cache.onChange((c) => this.#reportCache(c));
    this.metrics = createServerMetrics(this);
    this.#director = new DirectorRole({
      selfId: opts.id,
      table: this.table,
      weights: opts.weights,
      loadBound: opts.loadBound,
      onDecision: (result) => this.metrics.decisions.inc({ result }),
    });
    this.#iceFilter = new IceFilter(opts.iceAllow ?? [], (reason, address) => {
      this.metrics.iceDropped.inc({ reason });
      this.#log.debug({ reason, address }, 'remote ICE candidate dropped');
    });
    this.#ingest = serverIngest(opts, {
      store: this.store,
      table: this.table,
      posters: this.#posters,
      hub: () => this.#hub,
      report: (deltas) => this.#report(deltas),
      rescan: () => this.#rescanStorage(),
      maxSessions: this.#maxIngestSessions,
      log: this.#log,
    });
    this.#viewers = new ViewerSessions({
      store: this.store,
      cache: this.cache,
      ingest: this.#ingest,
      maxSessions: opts.maxSessions,
      signal: (sessionId, data) => this.#hub?.send('signal', { sessionId, data }),
      connected: (sessionId) => this.#hub?.send('session-connected', { sessionId }),
      closed: (sessionId) => this.#hub?.send('session-close', { sessionId }),
      sent: (n) => this.#countEgress(n),
      wrtc: opts.wrtc,
      iceServers: opts.iceServers,
      sessionTimeouts: opts.sessionTimeouts,
      unconnectedSessionMs: opts.unconnectedSessionMs,
      allowFast: opts.allowFast === true,
      log: this.#log,
    });
    this.#storageWritable = opts.ingest ? new StorageWritable(opts.storageDir) : undefined;
    const storageWritable = this.#storageWritable;
    this.#whip = new WhipManager({
      emitToHub: (event, msg, ack) =>
        event === 'whip-replace' ? this.#hub?.send(event, msg, ack ?? (() => undefined)) : this.#hub?.send(event, msg),
      readCopy: (streamId, offset, length) => this.#ingest.readCopy(streamId, offset, length),
      resendBufferBytes: opts.whipResendBufferBytes,
      bindAddress: opts.rtcBindAddress,
      wrtc: opts.wrtc,
      iceServers: opts.iceServers,
      log: this.#log.child({ part: 'whip' }),
      continuation: (streamId, secret) => this.#ingest.continuation(streamId, secret),
      mimeOf: (streamId) => this.#ingest.mimeOf(streamId),
    });
    this.#whep = new WhepManager({
      // The same byte path as a data-channel viewer's: the interval cache for a stored asset, the live writer otherwise.
      openSource: (id) => {
        if (!isAssetId(id)) return undefined;
        if (this.store.stat(id)) return { source: createCachedSource(this.store, this.cache, id, Date.now), stored: true };
        const live = this.#ingest.liveSource(id, 0);
        return live && { source: live, stored: false };
      },
      emitToHub: (event, msg) => this.#hub?.send(event, msg),
      bindAddress: opts.rtcBindAddress,
      iceServerUrls: iceUrls(opts.iceServers),
      log: this.#log.child({ part: 'whep' }),
      renditionsOf: (id) => renditionsAmong(this.store.list(), id),
      // WHEP players leave by the same uplink as the data-channel viewers: the load the director reads counts them.
      sent: (n) => this.#countEgress(n),
      feedback: (f) => {
        this.metrics.whepFeedback.inc({ kind: f.kind });
        if (f.kind !== 'nack') return;
        for (const result of ['resent', 'unavailable', 'refused'] as const) this.metrics.whepNackedPackets.inc({ result }, f[result]);
      },
    });
    this.#loadReport = new LoadReport({
      viewers: this.#viewers,
      whep: this.#whep,
      ingest: this.#ingest,
      storageReadBytes: () => this.store.bytesRead,
      renditions: this.#renditions,
      ...(storageWritable ? { storageWritable: () => storageWritable.ok } : {}),
    });
  }

  /** Media bytes sent to a viewer (data channel, WHEP or GET /media): the egress the load reports and the metric count. */
  #countEgress(bytes: number): void {
    this.#loadReport.meter.addEgress(bytes);
    this.metrics.egressBytes.inc(bytes);
  }

  /** This server's replica of the hub's state table. */
  get table(): StateTable {
    return this.#replica.table;
  }

  get id(): string {
    return this.#o.id;
  }

  get isDirector(): boolean {
    return this.#director.active;
  }

  get sessionCount(): number {
    return this.#viewers.size;
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
    return this.#loadReport.meter.egressBytes;
  }

  get httpUrl(): string | undefined {
    return this.#http?.url;
  }

  /** Nothing a failed start started (the HTTP listener, ffmpeg for posters or renditions) outlives it. */
  async start(): Promise<void> {
    await this.#start().catch(async (err: unknown) => {
      await this.close().catch(() => undefined);
      throw err;
    });
  }

  async #start(): Promise<void> {
    // The port first: a server that cannot listen fails before its first scan starts any ffmpeg.
    this.#http = await startStatusHttp({
      port: this.#o.httpPort,
      httpRatePerS: this.#o.httpRatePerS,
      host: this.#o.httpHost,
      operatorToken: this.#o.operatorToken,
      store: this.store,
      // HTTP downloads leave by the same uplink as the viewers' data channels: the load the director reads counts both.
      mediaSent: (n) => this.#countEgress(n),
      livePoster: (id) => this.#ingest.posterOf(id),
      registry: this.metrics.registry,
      table: () => this.table.snapshot(),
      status: () =>
        statusBody(this.#o, {
          registered: this.#hub?.registered ?? false,
          director: this.isDirector,
          sessions: this.#viewers.size,
          ingestSessions: this.#ingest.sessionCount,
          sessionStats: this.#viewers.stats(),
          load: this.#loadReport.reported,
          cache: this.cache,
          storageReadBytes: this.store.bytesRead,
          tableVersion: this.table.version,
          selectOptions: this.#director.selectOptions,
          renditions: this.#renditions?.status() ?? null,
        }),
    });
    // Before the first scan, which may start ffmpeg on a partial file of this process's own. Always: a recording's
    // sidecar is written (through a temporary file) whether or not this server makes renditions or posters.
    await sweepPartialOutputs(this.#o.storageDir, this.#log);
    // Before the first scan too: a broadcast a crash left as a `.part` is finalized (salvaged) and listed by it.
    for (const p of await this.#ingest.sweepStaleParts()) {
      if (p.kind === 'salvaged') this.store.written(p.streamId);
      if (p.kind === 'failed')
        this.#log.warn({ stream: p.streamId, bytes: p.partBytes, err: p.detail }, 'could not salvage an unfinished broadcast');
      else this.#log.info(p, p.kind === 'salvaged' ? 'unfinished broadcast salvaged' : 'unfinished broadcast removed');
    }
    await this.store.refresh();
    const hub = new HubLink({
      hubUrl: this.#o.hubUrl,
      returnAfterMs: this.#o.hubReturnAfterMs,
      mintToken: this.#mintToken,
      id: this.#o.id,
      descriptor: () => this.descriptor(),
      log: this.#log,
    });
    this.#hub = hub;
    hub.on('fatal', (err) => this.emit('fatal', err));
    hub.on('registered', (raw) => {
      const snapshot = this.#replica.register(raw);
      if (snapshot) this.emit('registered', snapshot);
    });
    routeHubEvents(hub, {
      deltas: (batch) => this.#replica.offer(batch),
      closed: () => this.#closed,
      director: this.#director,
      viewers: this.#viewers,
      ingest: this.#ingest,
      whip: this.#whip,
      whep: this.#whep,
      iceFilter: this.#iceFilter,
      log: this.#log,
    });
    // Load the WHIP/WHEP stacks before registering, not after: evaluating them (mediabunny, werift)
    // blocks the event loop for a few hundred ms, which right after registration stalled the first
    // director answers and viewer sessions (watch p99 23 → 630 ms in the quick bench).
    await Promise.all([this.#o.ingest ? this.#whip.warm() : undefined, this.#whep.warm()]);
    hub.open();
    this.#heartbeat.start();
    this.#rescan.start();
  }

  #rescanStorage(): Promise<void> {
    return rescanStorage({
      store: this.store,
      cache: this.cache,
      viewers: this.#viewers,
      whep: this.#whep,
      report: (deltas) => this.#report(deltas),
      log: this.#log,
    });
  }

  /** Stop taking sessions, leave the hub, close everything (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#heartbeat.stop();
    this.#rescan.stop();
    this.#posters?.close();
    this.#renditions?.close();
    this.#storageWritable?.close();
    // Leave the table first: the hub then tells every viewer of this server to
    // move, and no director can pick this server again while they do.
    this.#hub?.close();
    this.#viewers.close();
    this.#whip.close();
    this.#whep.close();
    await this.#http?.close();
    // Bounded in time (SHUTDOWN_FLUSH_MS): accepted chunks are written if the disk lets them.
    await this.#ingest.close();
    this.store.close();
    this.emit('closed');
  }

  descriptor(): ServerDescriptor {
    return serverDescriptor(this.#o, {
      loadReport: this.#loadReport,
      cache: this.cache,
      store: this.store,
      ingest: this.#ingest,
      maxIngestSessions: this.#maxIngestSessions,
      httpUrl: this.httpUrl,
      lastEpoch: this.table.director?.epoch,
      instance: this.instance,
    });
  }

  // ---- replica -----------------------------------------------------------------

  #directorChanged(): void {
    this.metrics.isDirector.set(this.isDirector ? 1 : 0);
    this.#log.info({ epoch: this.table.director?.epoch }, this.isDirector ? 'now the director' : 'no longer the director');
    this.emit('director', this.isDirector);
  }

  // ---- load and own changes -------------------------------------------------------

  #beat(): void {
    if (this.#hub?.registered) this.#hub.send('heartbeat', this.#loadReport.heartbeat());
  }

  #report(deltas: OwnDelta[]): void {
    this.#hub?.report(deltas);
  }

  #reportCache(c: CacheChange): void {
    const deltas = cacheDeltas(c);
    if (deltas.length) this.#report(deltas);
  }
}
