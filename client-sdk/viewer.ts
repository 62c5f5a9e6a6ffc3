// Watches one asset through the hub: select, WebRTC to the chosen server, in-order bytes, failover. Node and browser.
import { decodeServerFrame, type ClientControl, type ServerControl } from '../signaling/protocol/frames.js';
import { LocalErrorCode } from '../common/error-codes.js';
import { parse, signalSchema, type WatchReply, type WatchRequest } from '../signaling/protocol/messages.js';
import { sessionCloseSchema } from '../signaling/protocol/replies.js';
import { ByteCursor } from './byte-cursor.js';
import { TypedEventTarget } from './typed-events.js';
import { PeerLink } from './viewer-peer-link.js';
import { ViewerStatsMeter } from './viewer-stats.js';
import type { ViewerEventMap, ViewerOptions, ViewerPeer, WatchAheadHandle } from './viewer-types.js';
import { aheadFits, replyFor } from './watch-adoption.js';

export type * from './viewer-types.js';
export { MAX_WATCH_ATTEMPTS, OFFER_WAIT_MS, WATCH_ACK_TIMEOUT_MS, WATCH_RETRY_BASE_MS } from './watch-request.js';
export { PEER_CONNECT_TIMEOUT_MS } from './viewer-peer-link.js';
export { STATS_INTERVAL_MS } from './viewer-stats.js';
/** Failovers one Viewer makes before giving up. */
export const MAX_FAILOVERS = 8;
/** Gaps repaired by asking the server to resend before the session is declared broken. */
export const MAX_GAP_REPAIRS = 8;

/** Hub messages kept while a watch's reply is awaited (the answer and a few candidates; more is not a session's). */
export const MAX_EARLY_HUB_MESSAGES = 32;

export class Viewer extends TypedEventTarget<ViewerEventMap> {
  readonly assetId: string;
  readonly #o: ViewerOptions;
  readonly #cursor: ByteCursor;
  readonly #startOffset: number;
  readonly #dead = new Set<string>();
  #started = false;
  /** The watch asked ahead (`ViewerOptions.ahead`) was taken or dropped. */
  #aheadUsed = false;
  #selecting = false;
  #closed = false;
  #ended = false;
  #paused = false;
  #link: PeerLink | null = null;
  #session: WatchReply | null = null;
  /** Hub messages come before the watch reply naming their session (the hub relays the answer right behind it): kept. */
  #early: Array<() => void> | null = null;
  #metaSeen = false;
  #failovers = 0;
  /** A live late joiner's seam (from its first server's meta): file offset = cursor offset + skip past `initBytes`. */
  #join: { initBytes: number; skip: number } | null = null;
  /** File offset minus cursor offset in the current session (non-zero when a late joiner resumed elsewhere). */
  #delta = 0;
  #gapRepairs = 0;
  /** A seek by time the server has not answered yet (ms), and the byte to go back to if it cannot seek. */
  #timeSeek: { ms: number; from: number } | null = null;
  #received = 0;
  #limitBps: number | null;
  /**
   * Starting at a time: the init segment (up to `initEnd`, from the first meta) is delivered first,
   * since a player needs it before any Cluster; then the stream seeks to `ms`.
   */
  #startAt: { ms: number; initEnd: number | null } | null = null;
  readonly #stats = new ViewerStatsMeter();

  constructor(opts: ViewerOptions) {
    super();
    this.#o = opts;
    this.assetId = opts.assetId;
    this.#startOffset = opts.offset ?? 0;
    this.#cursor = new ByteCursor(this.#startOffset);
    this.#limitBps = opts.limitBps ?? null;
    if (opts.startTimeMs !== undefined && opts.startTimeMs > 0) this.#startAt = { ms: opts.startTimeMs, initEnd: null };
  }

  /** Next byte wanted; bytes received so far are `offset - startOffset`. */
  get offset(): number {
    return this.#cursor.expected;
  }

  /** Bytes delivered by `data` events so far (across seeks). */
  get bytesReceived(): number {
    return this.#received;
  }

  /** The current server session, once selected. */
  get session(): WatchReply | null {
    return this.#session;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Ask the hub for a server and start streaming. Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#o.socket.on('signal', this.#onHubSignal);
    this.#o.socket.on('session-close', this.#onHubSessionClose);
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
    this.#send({ t: 'resume' });
  }

  /** Ask servers to send no faster than `bps` on average (null: no limit); kept across failovers. */
  limit(bps: number | null): void {
    this.#limitBps = bps;
    this.#send({ t: 'limit', bps });
  }

  /** Continue from another byte offset (e.g. a cluster the player seeked to). */
  seek(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
    this.#ended = false;
    this.#timeSeek = null;
    this.#cursor.seek(offset);
    this.#send(this.#play());
  }

  /**
   * Continue from media time `ms` of a stored asset: the server starts at the keyframe Cluster at or
   * before it; `seeked` says which, and `data` follows from there. Frames of the old position are dropped.
   */
  seekTime(ms: number): void {
    this.#setTimeSeek(ms);
    // A stream that ended may have lost its session (servers close idle ones): ask for a new one.
    if (this.#started && !this.#closed && !this.#session && !this.#selecting) void this.#select(null);
    else this.#send(this.#play());
  }

  #setTimeSeek(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`bad time ${ms}`);
    this.#ended = false;
    // Where to go back to if the server cannot seek: the position before the first of a run of seeks.
    this.#timeSeek = { ms: Math.round(ms), from: this.#timeSeek?.from ?? this.#cursor.expected };
    this.#cursor.awaitPosition();
  }

  /** Leave the session and release everything (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#aheadUsed) this.#o.ahead?.drop();
    this.#aheadUsed = true;
    this.#stats.stop();
    this.#o.socket.off('signal', this.#onHubSignal);
    this.#o.socket.off('session-close', this.#onHubSessionClose);
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
    // A late joiner past its seam resumes at the file offset of its next byte; other servers know nothing of its seam.
    // One still inside the init segment joins afresh (offset 0: the next server picks its own live edge, its meta
    // a new seam): the file's bytes after the init segment are the start of the broadcast, not where it joined.
    const rejoin = this.#join !== null && this.#cursor.expected < this.#join.initBytes;
    if (rejoin) this.#join = null;
    this.#delta = this.#join && this.#cursor.expected >= this.#join.initBytes ? this.#join.skip : 0;
    const req: WatchRequest = { assetId: this.assetId, offset: rejoin ? 0 : this.#cursor.expected + this.#delta };
    const avoid = from === null && this.#dead.size === 0 ? (this.#o.avoid ?? []) : [];
    const exclude = [...new Set([...avoid, ...this.#dead])].slice(-16);
    if (exclude.length) req.exclude = exclude;
    const ahead = this.#takeAhead(from, req);
    // The peer is made while the director chooses: its offer goes with the watch request (or the watch asked ahead
    // took its own peer's, and signals it for the session itself).
    const link = this.#createLink(ahead?.peer, () => ahead?.peer.played === true);
    // A watch asked ahead holds its hub messages itself (`held` below).
    this.#early = ahead ? null : [];
    const { reply, held } = await replyFor(req, ahead, link, this.#o.socket, () => this.#closed, from !== null);
    const early = this.#early;
    this.#early = null;
    if (this.#closed || !reply) {
      if (reply?.ok) this.#o.socket.emit('leave', { sessionId: reply.sessionId });
      return;
    }
    if (!reply.ok) {
      this.#dropPeer();
      return this.#fatal(reply.code, reply.message);
    }
    const { ok: _ok, answer, ...session } = reply;
    this.#session = session;
    this.#metaSeen = false;
    this.#emit('selected', session);
    if (from !== null) this.#emit('failover', { from, to: session.server.id, offset: this.#cursor.expected });
    if (this.#link !== link) return;
    link.bind(session.sessionId, req.offer ? 1 : 0);
    // The server answered the offer in its yes to the hub (else the answer follows as a signal). A watch asked ahead
    // gave its answer to its peer already: its reply carries none.
    if (answer) this.#onHubSignal({ sessionId: session.sessionId, data: answer });
    // What the hub sent for a watch asked ahead before this Viewer listened, in order.
    for (const h of held) (h.event === 'signal' ? this.#onHubSignal : this.#onHubSessionClose)(h.msg);
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
          if (this.#timeSeek) this.#send(this.#play());
          else if (!played()) this.#send(this.#o.fast ? { t: 'play', fast: true } : { t: 'play' });
          if (this.#paused) this.#send({ t: 'pause' });
        },
        data: (data) => this.#onFrame(data),
        lost: (code, message) => this.#lost(code, message),
      },
      adopted,
    );
    this.#link = link;
    link.listen();
    return link;
  }

  readonly #onHubSignal = (msg: unknown): void => {
    const p = parse(signalSchema, msg);
    if (!p.ok) return this.#refuse('signal', p.message);
    this.#fromHub(() => p.value.sessionId === this.#session?.sessionId && this.#link?.signal(p.value.data));
  };

  readonly #onHubSessionClose = (msg: unknown): void => {
    const p = parse(sessionCloseSchema, msg);
    if (!p.ok) return this.#refuse('session-close', p.message);
    this.#fromHub(
      () =>
        p.value.sessionId === this.#session?.sessionId && this.#lost('session-closed', `the hub closed the session (${p.value.reason})`),
    );
  };

  /** A parsed hub message applied now, or kept (up to MAX_EARLY_HUB_MESSAGES) while a watch's reply is awaited. */
  #fromHub(apply: () => void): void {
    if (!this.#early || this.#session) apply();
    else if (this.#early.length < MAX_EARLY_HUB_MESSAGES) this.#early.push(apply);
  }

  /** Dropped whole: acting on what can be read of a malformed one (a garbled session id may be ours) could end a healthy session. */
  #refuse(event: 'signal' | 'session-close', why: string): void {
    this.#emit('warning', { code: LocalErrorCode.badHubMessage, message: `dropped a malformed ${event} from the hub: ${why}` });
  }

  /** The current server is gone: resume at the same byte on another one. */
  #lost(code: string, message: string): void {
    if (this.#closed || !this.#session) return;
    const old = this.#session;
    this.#dropPeer();
    this.#session = null;
    this.#o.socket.emit('leave', { sessionId: old.sessionId });
    if (this.#ended) return;
    this.#dead.add(old.server.id);
    if (++this.#failovers > MAX_FAILOVERS)
      return this.#fatal('failover-exhausted', `gave up after ${MAX_FAILOVERS} failovers (${code}: ${message})`);
    this.#emit('warning', { code, message });
    void this.#select(old.server.id);
  }

  #dropPeer(): void {
    const link = this.#link;
    this.#link = null;
    link?.destroy();
  }

  // ---- frames ----------------------------------------------------------------------

  #onFrame(data: unknown): void {
    const r = decodeServerFrame(data);
    if (!r.ok) return this.#emit('warning', { code: r.code, message: r.message });
    const f = r.frame;
    if (f.kind === 'control') return this.#onControl(f.msg);
    const a = this.#cursor.accept(f.offset - this.#delta, f.payload);
    if (a.kind === 'data') {
      const initEnd = this.#startAt?.initEnd ?? null;
      if (initEnd !== null && a.offset + a.bytes.byteLength >= initEnd) {
        const ms = this.#startAt!.ms;
        this.#startAt = null;
        const init = a.bytes.subarray(0, initEnd - a.offset);
        this.#received += init.byteLength;
        if (init.byteLength) this.#emit('data', { offset: a.offset, bytes: init });
        this.#cursor.seek(initEnd);
        this.seekTime(ms);
        return;
      }
      this.#received += a.bytes.byteLength;
      this.#emit('data', { offset: a.offset, bytes: a.bytes });
    } else if (a.kind === 'gap') {
      if (++this.#gapRepairs > MAX_GAP_REPAIRS) return this.#lost('gap', `bytes ${a.expected}..${a.got} never arrived`);
      this.#emit('warning', { code: 'gap', message: `expected byte ${a.expected}, got ${a.got}; asking again` });
      this.#cursor.seek(a.expected);
      this.#send(this.#play());
    }
  }

  #onControl(msg: ServerControl): void {
    switch (msg.t) {
      case 'meta': {
        if (this.#timeSeek) {
          // A meta of an older position: its frames are dropped until the answer to this seek.
          if (msg.seekMs !== this.#timeSeek.ms) return;
          this.#timeSeek = null;
          this.#cursor.confirmAt(msg.offset - this.#delta);
          this.#emit('seeked', { seekMs: msg.seekMs, timeMs: msg.timeMs ?? msg.seekMs, offset: msg.offset });
        }
        this.#cursor.confirm();
        if (msg.skipBytes && msg.joinedAt !== undefined && this.#delta === 0)
          this.#join = { initBytes: msg.joinedAt - msg.skipBytes, skip: msg.skipBytes };
        if (this.#metaSeen) return;
        this.#metaSeen = true;
        // Only a stored asset read from its start can start at a time; anything else plays from where it is.
        if (this.#startAt && !msg.live && msg.initBytes !== undefined && msg.initBytes > 0 && this.#cursor.expected <= msg.initBytes)
          this.#startAt.initEnd = msg.initBytes;
        else this.#startAt = null;
        const { t: _t, ...meta } = msg;
        return this.#emit('meta', meta);
      }
      case 'end':
        // An end sent before the server saw our seek belongs to the old position.
        if (this.#cursor.seekPending || this.#ended) return;
        if (this.#cursor.expected >= msg.bytes - this.#delta) {
          this.#ended = true;
          this.#emitStats();
          return this.#emit('end', { bytes: msg.bytes - this.#delta });
        }
        this.#cursor.seek(this.#cursor.expected);
        return this.#send(this.#play());
      case 'error':
        if (this.#timeSeek && (msg.code === 'not-seekable' || msg.code === 'rate-limited')) {
          // The seek was refused: carry on from where the stream was.
          const from = this.#timeSeek.from;
          this.#timeSeek = null;
          this.#cursor.seek(from);
          this.#send(this.#play());
        }
        return this.#emit('warning', { code: msg.code, message: msg.message });
      case 'stats': {
        const { t: _t, ...stats } = msg;
        this.#stats.server = stats;
        return;
      }
    }
  }

  #play(): ClientControl {
    if (this.#timeSeek)
      return this.#o.fast ? { t: 'play', timeMs: this.#timeSeek.ms, fast: true } : { t: 'play', timeMs: this.#timeSeek.ms };
    const offset = this.#cursor.expected + this.#delta;
    return this.#o.fast ? { t: 'play', offset, fast: true } : { t: 'play', offset };
  }

  #send(msg: ClientControl): void {
    this.#link?.send(msg);
  }

  #emitStats(): void {
    if (this.#closed) return;
    this.#emit('stats', this.#stats.take(this.bytesReceived));
    if (!this.#ended) this.#send({ t: 'stats' });
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
