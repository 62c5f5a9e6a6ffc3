// The media server's one socket.io connection to the hub: authenticated connect,
// registration with backoff, reconnects, and typed send/receive. The only file of
// the media server that imports socket.io.
import { EventEmitter } from 'node:events';
import { io as connect, type Socket } from 'socket.io-client';
import {
  type Ack,
  ErrorCode,
  type HubToServerEvents,
  type OwnDelta,
  type ServerDescriptor,
  type ServerToHubEvents,
} from '../../signaling/protocol/index.js';
import { snapshotReplySchema } from '../../signaling/protocol/table-messages.js';
import type { Logger } from '../../signaling/log.js';
import { backoffMs } from '../../common/retry.js';
import { registrationOf, reportsOf } from './hub-pieces.js';
import { DEFAULT_HUB_RETURN_MS } from './hub-defaults.js';
import { HubAttachments, hubListOf, usableNamedHubs } from './hub-attachments.js';

/** socket.io-client's own reconnect schedule after a transport failure. */
const RECONNECT_DELAY_MS = 250;
const RECONNECT_DELAY_MAX_MS = 5_000;
/** A resync the hub has not answered by then is given up (the next gap asks again). */
const RESYNC_TIMEOUT_MS = 5_000;
/**
 * A hub that takes the TCP connection and never answers the handshake (hung, SIGSTOPped, a proxy with no upstream)
 * counts as unreachable after this long, and the link moves on to the next hub. socket.io's own default is 20 s: a
 * hung first hub of the list held the server's registration that long.
 */
export const HUB_CONNECT_TIMEOUT_MS = 5_000;
/** After the hub closed us on purpose (it does not reconnect by itself), come back after this plus up to as much again. */
const REJOIN_AFTER_HUB_CLOSE_MS = 500;
/**
 * Reports held while a registration is in flight (its listing was read when it was sent, so they must follow it).
 * Past this the server connects again once the registration is accepted, and registers with the state as it is then.
 */
export const MAX_REPORTS_WHILE_REGISTERING = 256;
/** After its first hub refused it for good, a server tries to return there no sooner than this (ms). */
const REFUSED_RETURN_PAUSE_MS = 10 * 60_000;
/** How often a server away from its first hub looks whether it is time to return. */
const RETURN_CHECK_MS = 1_000;

export interface HubLinkOptions {
  /**
   * The hub, or several hubs of one cluster (on Redis): when the hub in use disappears the
   * server moves to the next at once and registers there; its row, sessions and uploads go on.
   */
  hubUrl: string | readonly string[];
  /** A fresh cluster token for this server at each call (`serverTokenMinter`); the link holds no secret. */
  mintToken: () => string;
  /** This server's id (in its token). */
  id: string;
  /** What to register with: read at every (re)registration. */
  descriptor: () => ServerDescriptor;
  log: Logger;
  /**
   * Several hubs: return to the first hub of the list once it has been up this long (ms; default
   * `DEFAULT_HUB_RETURN_MS`, times 1 to 1.5); null: stay where the last failover left this server.
   */
  returnAfterMs?: number | null;
}

interface HubLinkEvents {
  /** The hub accepted the registration; the snapshot is its table at that moment, unparsed (the replica parses it). */
  registered: [snapshot: unknown];
  /** Every hub it knows refused this server for good (wrong secret, clock, heartbeat period). */
  fatal: [error: Error];
}

type Listener<E extends keyof HubToServerEvents> = HubToServerEvents[E];
type Untyped = (...args: unknown[]) => void;

/** Moving on after every hub of the list failed once: 250 ms doubling to 5 s, ± 50 %. */
const ROUND_BACKOFF = { baseMs: RECONNECT_DELAY_MS, maxMs: RECONNECT_DELAY_MAX_MS, jitter: 0.5 } as const;

export class HubLink extends EventEmitter<HubLinkEvents> {
  readonly #o: HubLinkOptions;
  readonly #urls: readonly string[];
  /** The hub in use (or being connected to). */
  #current: string;
  /** Hubs tried in a row without a connection (several hubs): a whole round backs off. */
  #failedInRow = 0;
  #socket: Socket<HubToServerEvents, ServerToHubEvents>;
  /** Listeners of hub events (`handle`), put on every socket this link opens. */
  readonly #handlers: [string, Untyped][] = [];
  #registered = false;
  /** Reports made since the registration in flight was sent (null: none in flight); 'overflow' past the bound. */
  #heldReports: OwnDelta[][] | 'overflow' | null = null;
  #registerAttempts = 0;
  /** Hubs that refused this server for good since it last registered (url → why): it ends once every hub it knows has. */
  readonly #refusedBy = new Map<string, string>();
  #closed = false;
  /** The hub announced it is stopping (`shutdown`); cleared on reconnect. */
  #hubStopping = false;
  /** Several hubs: connections to the hubs of the list this server is not registered with (`HubAttachments`). */
  readonly #attachments: HubAttachments;
  /** Several hubs: the other hubs the hub registered with named (`hubs`), attached to beside the configured ones. */
  #learnedHubs: readonly string[] = [];
  /** This server's draw of the time its first hub must have been up before it returns there (null: never). */
  readonly #returnAfterMs: number | null;
  #returnCheck: ReturnType<typeof setInterval> | undefined;
  /** A `moving` is in flight; after a refusal, no new try before this time. */
  #returning = false;
  #returnNotBeforeMs = 0;

  constructor(opts: HubLinkOptions) {
    super();
    this.#o = opts;
    this.#urls = typeof opts.hubUrl === 'string' ? [opts.hubUrl] : [...opts.hubUrl];
    if (this.#urls.length === 0) throw new Error('at least one hub URL is needed');
    this.#attachments = new HubAttachments({
      mintToken: opts.mintToken,
      id: opts.id,
      instance: () => opts.descriptor().instance,
      handlers: this.#handlers,
      log: opts.log,
    });
    this.#current = this.#urls[0]!;
    const returnAfterMs = opts.returnAfterMs === undefined ? DEFAULT_HUB_RETURN_MS : opts.returnAfterMs;
    this.#returnAfterMs = returnAfterMs === null ? null : returnAfterMs * (1 + Math.random() / 2);
    this.#socket = this.#connectTo(this.#current);
  }

  /** The hub in use now. */
  get hubUrl(): string {
    return this.#current;
  }

  /**
   * The hubs this server may register with, in the order it tries them: those it was given, then those its hub named
   * (so a server given one hub's address moves to another when that one dies), and the one in use (a hub names only
   * the others). One hub may be in the list twice, by two names.
   */
  #hubs(): string[] {
    return [...new Set([...this.#urls, ...this.#learnedHubs, this.#current])];
  }

  /**
   * One socket to one hub. Alone, socket.io reconnects to it by itself; with several (given, or named by the hub), the
   * link moves on — decided at each event, as the hub may name others after the socket was made. A socket made while
   * there were several does not reconnect by itself: it moves on even when one hub is left (to that hub again).
   */
  #connectTo(url: string): Socket<HubToServerEvents, ServerToHubEvents> {
    const opts = this.#o;
    const severalNow = (): boolean => this.#hubs().length > 1;
    const movesOn = (): boolean => severalNow() || !socket.io.reconnection();
    const socket: Socket<HubToServerEvents, ServerToHubEvents> = connect(`${url}/server`, {
      autoConnect: false,
      auth: (cb) => cb({ token: opts.mintToken() }),
      reconnection: !severalNow(),
      reconnectionDelay: RECONNECT_DELAY_MS,
      reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
      randomizationFactor: 0.5,
      timeout: HUB_CONNECT_TIMEOUT_MS,
      transports: ['websocket'],
    });
    for (const [event, listener] of this.#handlers) (socket.on as (e: string, l: Untyped) => unknown)(event, listener);
    socket.on('connect', () => {
      this.#hubStopping = false;
      this.#failedInRow = 0;
      if (severalNow()) opts.log.info({ hub: url }, 'connected to hub');
      this.#register();
    });
    socket.on('connect_error', (err) => {
      if (err.message.startsWith('unauthorized')) {
        opts.log.error({ reason: err.message, hub: url }, 'the hub refused this server');
        return this.#refusedForGood(socket, err.message);
      }
      // While the hub restarts after saying so, failed reconnects are expected.
      if (this.#hubStopping) opts.log.info({ err: err.message, hub: url }, 'hub not back yet; retrying with backoff');
      else
        opts.log.warn(
          { err: err.message, hub: url },
          severalNow() ? 'hub unreachable; trying the next' : 'hub unreachable; retrying with backoff',
        );
      if (movesOn()) this.#moveOn(socket);
    });
    socket.on('hubs', (raw) => {
      // Only the hub registered with speaks for the cluster; a list that is not one changes nothing.
      if (socket !== this.#socket) return;
      const urls = hubListOf(raw);
      if (!urls) return void opts.log.warn({}, 'the hub sent a hub list that is not a list: ignored');
      const usable = usableNamedHubs(this.#urls, urls);
      if (usable.length < urls.length) opts.log.warn({ skipped: urls.length - usable.length }, 'the hub named hubs without https: skipped');
      this.#learnedHubs = usable;
      if (this.#registered) this.#attachments.sync(this.#hubs(), this.hubUrl);
    });
    socket.on('shutdown', ({ reason }) => {
      this.#hubStopping = true;
      opts.log.info(
        { reason },
        severalNow() ? 'the hub is stopping; moving to the next' : 'the hub is stopping; reconnecting when it is back',
      );
      if (movesOn()) this.#moveOn(socket);
    });
    socket.on('disconnect', (why) => {
      this.#registered = false;
      // A WARN only when the hub went away unannounced: not when this server or the hub stops on purpose.
      if (this.#closed || this.#hubStopping) opts.log.info({ why }, 'disconnected from hub');
      else opts.log.warn({ why, hub: url }, 'disconnected from hub');
      if (this.#closed || socket !== this.#socket) return;
      if (movesOn()) return this.#moveOn(socket);
      // socket.io reconnects by itself after transport failures, but not when the
      // hub closed us (e.g. missed heartbeats): come back after a pause.
      if (why === 'io server disconnect') {
        setTimeout(() => !this.#closed && socket.connect(), REJOIN_AFTER_HUB_CLOSE_MS * (1 + Math.random()));
      }
    });
    return socket;
  }

  /**
   * The hub in use refused this server in a way no retry with it changes (a wrong secret, a clock too far off, a
   * heartbeat period it cannot keep). Alone, that ends the process. With several hubs it is this hub's setting, not
   * necessarily the cluster's (one hub restarted with a shorter --heartbeat-ms in a rolling change, one hub's clock
   * off): the server moves on, and ends only once every hub it knows refused it since it last registered — before,
   * the first such refusal ended it, though the next hub of its list would have taken it.
   */
  #refusedForGood(socket: Socket<HubToServerEvents, ServerToHubEvents>, message: string): void {
    if (this.#closed || socket !== this.#socket) return;
    this.#refusedBy.set(this.#current, message);
    // Its first hub refused it: returning there at every --hub-return-s would leave a hub that takes it, only to be
    // refused again. It looks again after a while (the hub may have been fixed meanwhile).
    if (this.#current === this.#urls[0]) this.#returnNotBeforeMs = Date.now() + Math.max(REFUSED_RETURN_PAUSE_MS, this.#returnAfterMs ?? 0);
    const hubs = this.#hubs();
    if (hubs.length > 1 && hubs.some((h) => !this.#refusedBy.has(h))) {
      this.#o.log.warn({ hub: this.#current }, 'this hub refused the server; trying the next hub of the list');
      return this.#moveOn(socket);
    }
    const why =
      hubs.length > 1 ? `every hub refused this server: ${[...this.#refusedBy].map(([h, m]) => `${h}: ${m}`).join('; ')}` : message;
    this.emit('fatal', new Error(`hub refused registration: ${why}`));
  }

  /** Several hubs: leave `from` (if it is still the one in use) for the next hub of the list. */
  #moveOn(from: Socket<HubToServerEvents, ServerToHubEvents>): void {
    if (this.#closed || from !== this.#socket) return;
    const hubs = this.#hubs();
    this.#failedInRow++;
    const round = Math.floor(this.#failedInRow / hubs.length);
    this.#switchTo(hubs[(hubs.indexOf(this.#current) + 1) % hubs.length]!, round === 0 ? 0 : backoffMs(round - 1, ROUND_BACKOFF));
  }

  /**
   * Several hubs, away from the first of the list after a failover: back there once its attachment has been up long
   * enough. The hub in use is told first (`moving`: it lets go without taking the row out of the table; a hub refuses
   * an id registered on another), then left: a failover without the failure — sessions and uploads go on.
   */
  #returnToFirst(): void {
    const first = this.#urls[0]!;
    if (this.#closed || this.#returnAfterMs === null || this.#current === first || !this.registered || this.#returning) return;
    const upMs = this.#attachments.upForMs(first);
    if (upMs < this.#returnAfterMs || Date.now() < this.#returnNotBeforeMs) return;
    const socket = this.#socket;
    this.#returning = true;
    socket.timeout(RESYNC_TIMEOUT_MS).emit('moving', (err: Error | null, r: Ack) => {
      this.#returning = false;
      if (this.#closed || socket !== this.#socket) return;
      if (err || !r.ok) {
        // Not now (the hub did not answer, or cannot let go): stay, and ask again after as long once more.
        this.#returnNotBeforeMs = Date.now() + (this.#returnAfterMs ?? 0);
        return void this.#o.log.warn(
          { hub: this.#current, err: err?.message ?? (r.ok ? '' : r.message) },
          'could not leave the hub in use for the first one; staying',
        );
      }
      this.#o.log.info({ from: this.#current, to: first, upMs }, 'the first hub of the list is back; registering there again');
      this.#switchTo(first, 0);
    });
  }

  /** Drop the connection in use and connect to `url` after `delayMs`. */
  #switchTo(url: string, delayMs: number): void {
    const from = this.#socket;
    from.removeAllListeners();
    from.disconnect();
    this.#registered = false;
    this.#current = url;
    const next = this.#connectTo(url);
    this.#socket = next;
    setTimeout(() => !this.#closed && next === this.#socket && next.connect(), delayMs);
  }

  /** Registered with the hub and connected: reports and heartbeats go out. */
  get registered(): boolean {
    return this.#registered && this.#socket.connected;
  }

  /** Connect (and register on every connect). */
  open(): void {
    this.#socket.connect();
    if (this.#returnAfterMs !== null && !this.#returnCheck) {
      this.#returnCheck = setInterval(() => this.#returnToFirst(), RETURN_CHECK_MS);
      this.#returnCheck.unref();
    }
  }

  /** Listen to one hub → server event. */
  handle<E extends keyof HubToServerEvents>(event: E, listener: Listener<E>): void {
    this.#handlers.push([event, listener as unknown as Untyped]);
    (this.#socket.on as (e: string, l: Untyped) => unknown)(event, listener as unknown as Untyped);
  }

  /**
   * Send one server → hub event (dropped while disconnected: the next registration carries the full state). A session's
   * message goes back on the attachment the session came in on, while that is up; else to the hub registered with,
   * which forwards it.
   */
  send<E extends keyof ServerToHubEvents>(event: E, ...args: Parameters<ServerToHubEvents[E]>): void {
    const socket = this.#attachments.routeFor(event, args[0]) ?? this.#socket;
    (socket.emit as (e: string, ...a: unknown[]) => unknown)(event, ...args);
  }

  /** Several hubs: hubs attached to (connections open, up or retrying) and sessions routed back through them. */
  get attachments(): { hubs: number; routes: number } {
    return { hubs: this.#attachments.size, routes: this.#attachments.routes };
  }

  /** Ask for the whole table (after a gap in deltas), unparsed (the replica parses it); `null` when the hub refused. */
  requestSnapshot(done: (snapshot: unknown) => void): void {
    // An ack lost with a dropped connection never comes: give up after a while.
    this.#socket.timeout(RESYNC_TIMEOUT_MS).emit('resync', (err: Error | null, r: unknown) => {
      const p = err ? null : snapshotReplySchema.safeParse(r);
      done(p?.success && p.data.ok ? p.data.snapshot : null);
    });
  }

  /** Own table changes; only while registered (the next registration carries the full state). */
  report(deltas: OwnDelta[]): void {
    if (!this.registered) {
      // Not registered: the next registration carries the whole state; but one in flight was read before these.
      if (Array.isArray(this.#heldReports))
        this.#heldReports = this.#heldReports.length < MAX_REPORTS_WHILE_REGISTERING ? [...this.#heldReports, deltas] : 'overflow';
      return;
    }
    // In pieces within the hub's message limit: one too large would close the connection (a storage rescan finding thousands of files).
    for (const report of reportsOf(deltas)) {
      this.#socket.emit('report', report, (r) => {
        if (!r.ok) this.#o.log.warn({ code: r.code }, `report refused: ${r.message}`);
      });
    }
  }

  /** Leave the hub (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#returnCheck);
    this.#attachments.close();
    this.#socket.disconnect();
  }

  #register(): void {
    const socket = this.#socket;
    // A registration fits the hub's message limit: what the first message cannot hold follows as reports once it is accepted.
    const { descriptor, after } = registrationOf(this.#o.descriptor());
    this.#heldReports = [];
    socket.emit('register', descriptor, (raw: unknown) => {
      const held = this.#heldReports;
      this.#heldReports = null;
      const p = snapshotReplySchema.safeParse(raw);
      const r = p.success
        ? p.data
        : { ok: false as const, code: 'internal', message: `malformed register reply: ${p.error.issues[0]?.message}` };
      if (!r.ok) {
        // A registration the hub finds invalid (a region too long, a heartbeat period it cannot keep) would be refused
        // the same way for ever: that ends the process, as a wrong secret does at connect.
        if (FATAL_REGISTER_CODES.has(r.code)) {
          this.#o.log.error({ code: r.code, hub: this.#current }, `registration refused: ${r.message}`);
          return this.#refusedForGood(socket, r.message);
        }
        // Any other refusal (a live server of this id, a hub that cannot take us yet) is retried with backoff.
        const delayMs = registerBackoffMs(this.#registerAttempts++);
        this.#o.log.error({ code: r.code, retryInMs: Math.round(delayMs) }, `registration refused: ${r.message}`);
        setTimeout(() => !this.#closed && socket.connected && !this.#registered && this.#register(), delayMs);
        return;
      }
      this.#registerAttempts = 0;
      this.#registered = true;
      this.#refusedBy.clear();
      // Before the snapshot is applied: later reports (a rescan) must follow these, never pass them.
      for (const report of after) this.report(report);
      // Then what changed while the hub was answering (a rescan's added file is reported once only).
      if (held === 'overflow') {
        // Too much changed meanwhile to hold: connect again, and register with the state as it is now.
        this.#o.log.warn({}, `more than ${MAX_REPORTS_WHILE_REGISTERING} reports while registering; registering again`);
        socket.disconnect();
        // (With several hubs the disconnect moved this link to the next one, which registers afresh.)
        if (socket === this.#socket && !this.#closed) socket.connect();
        return;
      }
      for (const report of held ?? []) this.report(report);
      // Registered: every other hub of the list may now ask this server directly.
      this.#attachments.sync(this.#hubs(), this.hubUrl);
      this.emit('registered', r.snapshot);
    });
  }
}

/** Refusals of a registration that no retry can change: the descriptor itself is wrong, or not this server's to send. */
const FATAL_REGISTER_CODES: ReadonlySet<string> = new Set([ErrorCode.badRequest, ErrorCode.unauthorized]);

/** Registration after a refusal: 1 s doubling to 30 s, ± 25 % jitter. */
export const REGISTER_BACKOFF = { baseMs: 1_000, maxMs: 30_000, jitter: 0.25 } as const;

/** Delay before registration attempt `n + 1` after a refusal. */
export function registerBackoffMs(n: number): number {
  return backoffMs(n, REGISTER_BACKOFF);
}
