// Watches one asset through the hub: select, WebRTC to the chosen server, in-order bytes, failover. Node and browser.
import { FrameErrorCode, type ClientControl } from '../signaling/protocol/frames.js';
import type { WatchReply, WatchRequest } from '../signaling/protocol/messages.js';
import { ErrorCode } from '../signaling/protocol/types.js';
import { TypedEventTarget } from './typed-events.js';
import { ViewerHubMessages } from './viewer-hub-messages.js';
import { PeerLink } from './viewer-peer-link.js';
import { ViewerStatsMeter } from './viewer-stats.js';
import { ViewerStream } from './viewer-stream.js';
import type { ViewerEventMap, ViewerOptions, ViewerPeer, WatchAheadHandle } from './viewer-types.js';
import { aheadFits, replyFor } from './watch-adoption.js';

export type * from './viewer-types.js';
export { MAX_WATCH_ATTEMPTS, OFFER_WAIT_MS, WATCH_ACK_TIMEOUT_MS, WATCH_RETRY_BASE_MS } from './watch-request.js';
export { PEER_CONNECT_TIMEOUT_MS } from './viewer-peer-link.js';
export { STATS_INTERVAL_MS } from './viewer-stats.js';
export { MAX_GAP_REPAIRS, MAX_SEEK_RETRIES } from './viewer-stream.js';
export { MAX_EARLY_HUB_MESSAGES } from './viewer-hub-messages.js';
/** Failovers one Viewer makes before giving up. */
export const MAX_FAILOVERS = 8;
/**
 * After a failover found no server but those that failed this viewer, or a session given back while idle found every
 * holder full: the pause before it asks again.
 */
export const RETRY_PASSED_OVER_MS = 1_000;
/** A seek by time the server refused for now (`rate-limited`) is asked again after this long (ms). */
export const SEEK_RETRY_MS = 1_000;
/**
 * A server that answered none of this many `stats` requests in a row (one per STATS_INTERVAL_MS, on an open channel,
 * with nothing else from it meanwhile) is gone: the viewer resumes elsewhere. Usually the hub says so first; but when
 * the viewer's hub died with the server, only the channel's own timeouts would tell (≈ 15 s in node-datachannel, ≈ 30 s
 * in Chromium). A server's send buffer holds ≈ 64 KiB, so a reply waits behind it this long only on a link under
 * ≈ 90 kbit/s, which the server's slow-viewer rule drops anyway; a background tab's rarer requests are answered at once.
 */
export const SILENT_SERVER_REQUESTS = 6;

export class Viewer extends TypedEventTarget<ViewerEventMap> {
  readonly assetId: string;
  readonly #o: ViewerOptions;
  /** The bytes in order, whichever server sends them. */
  readonly #stream: ViewerStream;
  readonly #hub: ViewerHubMessages;
  readonly #dead = new Set<string>();
  /**
   * Servers whose copy of the asset is not the one this watch's bytes came from (its file changed there, or it is
   * another file): never asked again for this watch, unlike `#dead`, which a failover with nowhere else to go clears.
   */
  readonly #otherCopy = new Set<string>();
  #started = false;
  /** The watch asked ahead (`ViewerOptions.ahead`) was taken or dropped. */
  #aheadUsed = false;
  #selecting = false;
  #closed = false;
  /** The server closed the session as idle and none was asked for since (`#idle`); cleared by the next session. */
  #released = false;
  #paused = false;
  #link: PeerLink | null = null;
  #session: WatchReply | null = null;
  #failovers = 0;
  /** `stats` requests sent on the current channel since the server was last heard (`SILENT_SERVER_REQUESTS`). */
  #unanswered = 0;
  #limitBps: number | null;
  readonly #stats = new ViewerStatsMeter();
  /** The next ask for a seek the server refused for now (`retryPlay`). */
  #seekRetry: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: ViewerOptions) {
    super();
    this.#o = opts;
    this.assetId = opts.assetId;
    this.#limitBps = opts.limitBps ?? null;
    this.#stream = new ViewerStream(opts.offset ?? 0, opts.startTimeMs, opts.fast === true, {
      emit: (type, detail) => this.#emit(type, detail),
      idle: (message) => this.#idle(message),
      send: (msg) => this.#send(msg),
      lost: (code, message) => this.#lost(code, message),
      otherCopy: (message) => this.#lost(FrameErrorCode.assetChanged, message, true),
      fatal: (code, message) => this.#fatal(code, message),
      seekTime: (ms) => this.seekTime(ms),
      retryPlay: () => {
        if (this.#seekRetry !== undefined) return;
        this.#seekRetry = setTimeout(() => {
          this.#seekRetry = undefined;
          if (!this.#closed && this.#stream.seekingTime) this.#send(this.#stream.play());
        }, SEEK_RETRY_MS);
      },
      emitStats: () => this.#emitStats(),
      serverStats: (stats) => {
        this.#stats.server = stats;
      },
    });
    this.#hub = new ViewerHubMessages(opts.socket, {
      hasSession: () => this.#session !== null,
      signal: (m) => m.sessionId === this.#session?.sessionId && this.#link?.signal(m.data),
      sessionClose: (m) =>
        m.sessionId === this.#session?.sessionId && this.#lost('session-closed', `the hub closed the session (${m.reason})`),
      warn: (w) => this.#emit('warning', w),
    });
  }

  /** Next byte wanted; bytes received so far are `offset - startOffset`. */
  get offset(): number {
    return this.#stream.expected;
  }

  /** Bytes delivered by `data` events so far (across seeks). */
  get bytesReceived(): number {
    return this.#stream.received;
  }

  /** The current server session, once selected. */
  get session(): WatchReply | null {
    return this.#session;
  }

  get ended(): boolean {
    return this.#stream.ended;
  }

  /** Ask the hub for a server and start streaming. Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#hub.listen();
    this.#stats.start(() => this.#emitStats());
    void this.#select(null);
  }

  /** Stop the server sending (e.g. the player's buffer is full). */
  pause(): void {
    this.#paused = true;
    this.#send({ t: 'pause' });
  }

  resume(): void {
    this.#paused = false;
    if (!this.#reopen()) this.#send({ t: 'resume' });
  }

  /** Ask servers to send no faster than `bps` on average (null: no limit); kept across failovers. */
  limit(bps: number | null): void {
    this.#limitBps = bps;
    this.#send({ t: 'limit', bps });
  }

  /** Continue from another byte offset (e.g. a cluster the player seeked to). */
  seek(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
    this.#stream.seek(offset);
    if (!this.#reopen()) this.#send(this.#stream.play());
  }

  /**
   * Continue from media time `ms` of a stored asset: the server starts at the keyframe Cluster at or
   * before it; `seeked` says which, and `data` follows from there. Frames of the old position are dropped.
   */
  seekTime(ms: number): void {
    this.#stream.seekTime(ms);
    if (!this.#reopen()) this.#send(this.#stream.play());
  }

  /**
   * No session (the server closed it as idle, or it ended): asks for a new one from where the stream is, and says so.
   * The session's `play` then asks for that place (a seek by time as its own `play`).
   */
  #reopen(): boolean {
    if (!this.#started || this.#closed || this.#session || this.#selecting || this.#stream.ended) return false;
    void this.#select(null);
    return true;
  }

  /** Leave the session and release everything (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#seekRetry);
    if (!this.#aheadUsed) this.#o.ahead?.drop();
    this.#aheadUsed = true;
    this.#stats.stop();
    this.#hub.unlisten();
    const sessionId = this.#session?.sessionId;
    this.#dropPeer();
    if (sessionId) {
      this.#o.socket.emit('leave', { sessionId });
      this.#emit('leave', { sessionId });
    }
  }

  // ---- selection -----------------------------------------------------------------

  async #select(from: string | null): Promise<void> {
    this.#selecting = true;
    try {
      await this.#selectOnce(from);
    } finally {
      this.#selecting = false;
    }
  }

  async #selectOnce(from: string | null): Promise<void> {
    const req: WatchRequest = { assetId: this.assetId, offset: this.#stream.watchOffset() };
    // The limit goes with the watch: the server sends from the moment the channel opens, before a `limit` frame arrives.
    if (this.#limitBps !== null) req.limitBps = this.#limitBps;
    const avoid = from === null && this.#dead.size === 0 && this.#otherCopy.size === 0 ? (this.#o.avoid ?? []) : [];
    // The other copies last: the cut to the schema's 16 keeps them (at most MAX_FAILOVERS of them).
    const exclude = [...new Set([...avoid, ...this.#dead, ...this.#otherCopy])].slice(-16);
    if (exclude.length) req.exclude = exclude;
    const ahead = this.#takeAhead(from, req);
    // The peer is made while the director chooses: its offer goes with the watch request (or the watch asked ahead
    // took its own peer's, and signals it for the session itself).
    const link = this.#createLink(ahead?.peer, () => ahead?.peer.played === true);
    // A watch asked ahead holds its hub messages itself (`held` below).
    this.#hub.awaitReply(!ahead);
    const { reply, held } = await replyFor(req, ahead, link, this.#o.socket, () => this.#closed, from !== null);
    const early = this.#hub.release();
    if (this.#closed || !reply) {
      if (reply?.ok) this.#o.socket.emit('leave', { sessionId: reply.sessionId });
      return;
    }
    if (!reply.ok) {
      this.#dropPeer();
      // The servers this viewer passed over may only have been slow (a connect that timed out on a loaded server):
      // when nothing else can serve it, it asks once more passing over none, after a pause, as one more failover.
      if (reply.code === ErrorCode.noCapacity && from !== null && this.#dead.size > 0) {
        this.#dead.clear();
        if (++this.#failovers > MAX_FAILOVERS)
          return this.#fatal('failover-exhausted', `gave up after ${MAX_FAILOVERS} failovers (${reply.code}: ${reply.message})`);
        this.#emit('warning', { code: reply.code, message: `${reply.message}; asking again for the servers passed over` });
        await new Promise((r) => setTimeout(r, RETRY_PASSED_OVER_MS));
        if (this.#closed || this.#session) return;
        return this.#selectOnce(from);
      }
      // A session given back while idle, asked for again while every holder is full: the player has what it buffered
      // to play meanwhile. Asked again after a pause, each try counted as a failover.
      if (reply.code === ErrorCode.noCapacity && this.#released) {
        if (++this.#failovers > MAX_FAILOVERS)
          return this.#fatal('failover-exhausted', `gave up after ${MAX_FAILOVERS} failovers (${reply.code}: ${reply.message})`);
        this.#emit('warning', { code: reply.code, message: `${reply.message}; asking again` });
        await new Promise((r) => setTimeout(r, RETRY_PASSED_OVER_MS));
        if (this.#closed || this.#session) return;
        return this.#selectOnce(from);
      }
      // Every holder left is one whose copy is another file: the watch cannot go on byte for byte anywhere.
      if (this.#otherCopy.size > 0 && (reply.code === ErrorCode.noCapacity || reply.code === ErrorCode.unknownAsset))
        return this.#fatal(
          FrameErrorCode.assetChanged,
          `no other server could resume ${this.assetId} on the copy this watch started on (${[...this.#otherCopy].join(', ')}: ` +
            `another copy; ${reply.code}: ${reply.message})`,
        );
      return this.#fatal(reply.code, reply.message);
    }
    const { ok: _ok, answer, ...session } = reply;
    this.#session = session;
    this.#released = false;
    this.#stream.newSession();
    this.#emit('selected', session);
    if (from !== null) this.#emit('failover', { from, to: session.server.id, offset: this.#stream.expected });
    if (this.#link !== link) return;
    link.bind(session.sessionId, req.offer ? 1 : 0);
    // The server answered the offer in its yes to the hub (else the answer follows as a signal). A watch asked ahead
    // gave its answer to its peer already: its reply carries none.
    if (answer) this.#hub.signal({ sessionId: session.sessionId, data: answer });
    // What the hub sent for a watch asked ahead before this Viewer listened, in order.
    for (const h of held) (h.event === 'signal' ? this.#hub.signal : this.#hub.sessionClose)(h.msg);
    for (const apply of early ?? []) apply();
  }

  /** The watch asked ahead, once, for the first selection when it asked what this one would; else it is dropped. */
  #takeAhead(from: string | null, req: WatchRequest): WatchAheadHandle | null {
    const ahead = this.#o.ahead;
    if (!ahead || this.#aheadUsed) return null;
    this.#aheadUsed = true;
    if (aheadFits(ahead, from, req)) return ahead;
    ahead.drop();
    return null;
  }

  // ---- peer ----------------------------------------------------------------------

  /** `played`: the page sent the adopted peer's first `play` itself before this Viewer took it. */
  #createLink(adopted?: ViewerPeer, played: () => boolean = () => false): PeerLink {
    const link: PeerLink = new PeerLink(
      this.#o,
      () => this.#link === link && !this.#closed,
      {
        connect: () => {
          if (this.#limitBps !== null) this.#send({ t: 'limit', bps: this.#limitBps });
          // The start offset travels once, in the watch request; only a seek by time names a new place.
          if (this.#stream.seekingTime) this.#send(this.#stream.play());
          else if (!played()) this.#send(this.#o.fast ? { t: 'play', fast: true } : { t: 'play' });
          if (this.#paused) this.#send({ t: 'pause' });
        },
        data: (data) => {
          if (this.#link === link) this.#unanswered = 0;
          this.#stream.onFrame(data);
        },
        lost: (code, message) => this.#lost(code, message),
      },
      adopted,
    );
    this.#link = link;
    this.#unanswered = 0;
    link.listen();
    return link;
  }

  /**
   * The current server is gone: resume at the same byte on another one. `otherCopy`: its copy is not the one the
   * watch started on, so it is not asked again.
   */
  #lost(code: string, message: string, otherCopy = false): void {
    if (this.#closed || !this.#session) return;
    const old = this.#session;
    this.#dropPeer();
    this.#session = null;
    this.#o.socket.emit('leave', { sessionId: old.sessionId });
    if (this.#stream.ended) return;
    (otherCopy ? this.#otherCopy : this.#dead).add(old.server.id);
    if (++this.#failovers > MAX_FAILOVERS)
      return this.#fatal('failover-exhausted', `gave up after ${MAX_FAILOVERS} failovers (${code}: ${message})`);
    this.#emit('warning', { code, message });
    void this.#select(old.server.id);
  }

  /**
   * The server closed the session as idle (paused, or at the end): the slot is given back and no other server asked;
   * `resume`, `seek` or `seekTime` asks for a new session from where the stream is. A viewer that still wants bytes
   * (at the edge of a live stream that did not grow) resumes at once, as after a lost server.
   */
  #idle(message: string): void {
    if (this.#closed || !this.#session) return;
    // Neither paused nor at the end (waiting at the edge of a live stream that did not grow): bytes are still wanted.
    if (!this.#paused && !this.#stream.ended) return this.#lost(FrameErrorCode.idle, message);
    const old = this.#session;
    this.#dropPeer();
    this.#session = null;
    this.#o.socket.emit('leave', { sessionId: old.sessionId });
    this.#released = true;
    this.#emit('warning', { code: FrameErrorCode.idle, message });
  }

  #dropPeer(): void {
    const link = this.#link;
    this.#link = null;
    link?.destroy();
  }

  #send(msg: ClientControl): void {
    this.#link?.send(msg);
  }

  #emitStats(): void {
    if (this.#closed) return;
    this.#emit('stats', this.#stats.take(this.bytesReceived));
    if (this.#stream.ended || !this.#link?.connected) return;
    if (this.#unanswered >= SILENT_SERVER_REQUESTS)
      return this.#lost('server-silent', `the server answered none of the last ${SILENT_SERVER_REQUESTS} stats requests`);
    this.#unanswered++;
    this.#send({ t: 'stats' });
  }

  #fatal(code: string, message: string): void {
    if (this.#closed) return;
    this.#emit('error', { code, message });
    this.close();
  }

  #emit<K extends keyof ViewerEventMap>(type: K, detail: ViewerEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
