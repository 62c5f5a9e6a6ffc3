// Viewer sessions of one media server: admission of the hub's `session-open`
// (slots, asset checks), the open ServeSessions, and their ends.
import { ErrorCode, ackError, type Ack, type SessionOpen } from '../../signaling/protocol/index.js';
import { isAssetId } from '../../signaling/protocol/ids.js';
import { FrameErrorCode } from '../../signaling/protocol/frames.js';
import type { Logger } from '../../signaling/log.js';
import type { BlockCache } from '../cache/index.js';
import { type CachedSource, createCachedSource } from '../cache/cached-reader.js';
import { ServeSession } from '../delivery/serve-session.js';
import { CONNECT_TIMEOUT_MS, type ServeSessionOptions } from '../delivery/serve-options.js';
import { CLOSED_BY_HUB, type IngestManager } from '../ingest/ingest-manager.js';
import type { DiskStore } from '../storage/disk-store.js';
import type { Wrtc } from '../webrtc/peer.js';

export interface ViewerSessionsOptions {
  store: DiskStore;
  cache: BlockCache;
  /** Live streams being ingested here are served from their growing files. */
  ingest: IngestManager;
  maxSessions: number;
  /** Sends a session's WebRTC signal to the hub. */
  signal: (sessionId: string, data: unknown) => void;
  /** The session's WebRTC connection is up (the hub stops counting it as unconnected). */
  connected: (sessionId: string) => void;
  /** The session ended on this side: the hub must forget it. */
  closed: (sessionId: string) => void;
  /** Media bytes sent, for load and metrics. */
  sent: (bytes: number) => void;
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  sessionTimeouts?: ServeSessionOptions['timeouts'];
  /** Wins over `sessionTimeouts.connectMs` (default `CONNECT_TIMEOUT_MS`). */
  unconnectedSessionMs?: number;
  allowFast: boolean;
  log: Logger;
}

export class ViewerSessions {
  readonly #o: ViewerSessionsOptions;
  readonly #sessions = new Map<string, ServeSession>();
  /** The asset each open session watches (as many entries as sessions, so bounded by `maxSessions`). */
  readonly #assetOf = new Map<string, string>();
  /** The sessions reading a stored file (not a live one), with their sources: a subset of `#sessions`. */
  readonly #stored = new Map<string, CachedSource>();
  #closed = false;
  /** A session was opened since the last `takeOpened()`. */
  #opened = false;

  constructor(opts: ViewerSessionsOptions) {
    this.#o = opts;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Whether a session opened since the last call (and clears it). */
  takeOpened(): boolean {
    const o = this.#opened;
    this.#opened = false;
    return o;
  }

  get(sessionId: string): ServeSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** The asset each open session watches (one entry per session). */
  watchedAssets(): Iterable<string> {
    return this.#assetOf.values();
  }

  /** Per viewer: what the server holds for it (queuedBytes) is what a slow viewer could grow. */
  stats(): Array<{ sessionId: string } & ReturnType<ServeSession['stats']>> {
    return [...this.#sessions].map(([sessionId, s]) => ({ sessionId, ...s.stats() }));
  }

  /** The hub's `session-open` of a watch. */
  open(msg: SessionOpen): Ack {
    const o = this.#o;
    if (this.#closed) return ackError(ErrorCode.noCapacity, 'server is shutting down');
    // An id that could name a path is refused exactly like an id this server does not store.
    if (!isAssetId(msg.assetId))
      return ackError(ErrorCode.unknownAsset, `asset ${JSON.stringify(String(msg.assetId).slice(0, 64))} is not stored here`);
    if (this.#sessions.size >= o.maxSessions) return ackError(ErrorCode.noCapacity, 'every viewer slot of this server is taken');
    const info = o.store.stat(msg.assetId);
    // Not in the catalog (yet): a stream being ingested here is served from its live file.
    const live = info ? undefined : o.ingest.liveSource(msg.assetId, msg.offset);
    if (!info && !live) return ackError(ErrorCode.unknownAsset, `asset ${msg.assetId} is not stored here`);
    // Changed since the last rescan listed it: not served anew until a rescan lists it again (the hub tries another holder).
    if (info && !o.store.isAsListed(msg.assetId))
      return ackError(
        ErrorCode.unknownAsset,
        `the stored file of ${msg.assetId} changed on this server; it is served again once listed anew`,
      );
    const stored = live ? undefined : createCachedSource(o.store, o.cache, msg.assetId, Date.now);
    const source = live ?? stored!;
    const session = new ServeSession({
      sessionId: msg.sessionId,
      source,
      offset: msg.offset,
      ...(msg.limitBps !== undefined ? { limitBps: msg.limitBps } : {}),
      signal: (data: unknown) => o.signal(msg.sessionId, data),
      wrtc: o.wrtc,
      iceServers: o.iceServers,
      log: o.log.child({ session: msg.sessionId }),
      asset: info
        ? {
            mime: info.mime,
            bitrateBps: info.bitrateBps,
            durationMs: info.durationMs,
            initBytes: o.store.initBytes(msg.assetId),
            fingerprint: info.fingerprint,
          }
        : { mime: o.ingest.mimeOf(msg.assetId) },
      seekIndex: info ? () => o.store.seekIndex(msg.assetId) : undefined,
      timeouts: { ...o.sessionTimeouts, connectMs: o.unconnectedSessionMs ?? o.sessionTimeouts?.connectMs ?? CONNECT_TIMEOUT_MS },
      allowFast: o.allowFast,
    });
    this.#sessions.set(msg.sessionId, session);
    this.#assetOf.set(msg.sessionId, msg.assetId);
    if (stored) this.#stored.set(msg.sessionId, stored);
    this.#opened = true;
    // The server's own record of its slots (an access log): when each session took one and gave it back.
    o.log.info({ session: msg.sessionId, assetId: msg.assetId, sessions: this.#sessions.size }, 'watch session opened');
    session.on('sent', (n: number) => o.sent(n));
    // The hub counts a session against its client's unconnected cap until it hears this.
    session.once('connected', () => o.connected(msg.sessionId));
    session.once('closed', () => {
      source.close();
      // What this viewer cost the disk (the measure of the cache for one stream), when it read the store.
      const cost = !live && 'storageBytes' in source ? { storageBytes: source.storageBytes, cacheBytes: source.cacheBytes } : {};
      o.log.info({ session: msg.sessionId, assetId: msg.assetId, ...cost }, 'watch session ended');
      if (this.#sessions.get(msg.sessionId) === session) {
        this.#sessions.delete(msg.sessionId);
        this.#assetOf.delete(msg.sessionId);
        this.#stored.delete(msg.sessionId);
        o.closed(msg.sessionId);
      }
    });
    return { ok: true };
  }

  /** The hub closed a session; false when it is not a viewer session of this server. */
  closeByHub(sessionId: string): boolean {
    const session = this.#sessions.get(sessionId);
    if (!session) return false;
    // Out of the map first: the hub has forgotten it, so its 'closed' handler must not report it back.
    this.#sessions.delete(sessionId);
    this.#assetOf.delete(sessionId);
    this.#stored.delete(sessionId);
    session.close(CLOSED_BY_HUB);
    return true;
  }

  /**
   * The stored file of `assetId` changed or (`gone`) went away (a rescan says so): each session reading it is ended,
   * told why first. `asset-gone`, and `asset-changed` for another inode or size (every read since refused it): the
   * viewer resumes on another holder of the same copy. `asset-rewritten` for a rewrite in place that kept the inode and
   * the size (no read refused it, so bytes sent since may be the new file's): the viewer stops.
   * Returns how many were ended.
   */
  endStored(assetId: string, gone = false): number {
    let ended = 0;
    for (const [id, source] of [...this.#stored]) {
      if (this.#assetOf.get(id) !== assetId) continue;
      ended++;
      const session = this.#sessions.get(id);
      if (gone) session?.end(FrameErrorCode.assetGone, `the stored file of ${assetId} left this server`);
      else if (source.sameInodeAndSize())
        session?.end(FrameErrorCode.assetRewritten, `the stored file of ${assetId} was rewritten in place on this server`);
      else session?.end(FrameErrorCode.assetChanged, `the stored file of ${assetId} changed on this server`);
    }
    return ended;
  }

  /** Close every session and refuse new ones (idempotent). */
  close(): void {
    this.#closed = true;
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
    this.#assetOf.clear();
    this.#stored.clear();
  }
}
