// The media server's one socket.io connection to the hub: authenticated connect,
// registration with backoff, reconnects, and typed send/receive. The only file of
// the media server that imports socket.io.
import { EventEmitter } from 'node:events';
import { io as connect, type Socket } from 'socket.io-client';
import type {
  Ack,
  HubToServerEvents,
  OwnDelta,
  ServerDescriptor,
  ServerToHubEvents,
  TableSnapshot,
} from '../../signaling/protocol/index.js';
import { mintServerToken } from '../../signaling/auth.js';
import type { Logger } from '../../signaling/log.js';
import { backoffMs } from '../../common/retry.js';

/** socket.io-client's own reconnect schedule after a transport failure. */
const RECONNECT_DELAY_MS = 250;
const RECONNECT_DELAY_MAX_MS = 5_000;
/** A resync the hub has not answered by then is given up (the next gap asks again). */
const RESYNC_TIMEOUT_MS = 5_000;
/** After the hub closed us on purpose (it does not reconnect by itself), come back after this plus up to as much again. */
const REJOIN_AFTER_HUB_CLOSE_MS = 500;

export interface HubLinkOptions {
  hubUrl: string;
  clusterSecret: string;
  /** This server's id (in its token). */
  id: string;
  /** What to register with: read at every (re)registration. */
  descriptor: () => ServerDescriptor;
  log: Logger;
}

interface HubLinkEvents {
  /** The hub accepted the registration; the snapshot is its table at that moment. */
  registered: [snapshot: TableSnapshot];
  /** The hub refused this server for good (wrong secret). */
  fatal: [error: Error];
}

type Listener<E extends keyof HubToServerEvents> = HubToServerEvents[E];

export class HubLink extends EventEmitter<HubLinkEvents> {
  readonly #o: HubLinkOptions;
  readonly #socket: Socket<HubToServerEvents, ServerToHubEvents>;
  #registered = false;
  #registerAttempts = 0;
  #closed = false;
  /** The hub announced it is stopping (`shutdown`); cleared on reconnect. */
  #hubStopping = false;

  constructor(opts: HubLinkOptions) {
    super();
    this.#o = opts;
    const socket: Socket<HubToServerEvents, ServerToHubEvents> = connect(`${opts.hubUrl}/server`, {
      autoConnect: false,
      auth: (cb) => cb({ token: mintServerToken(opts.clusterSecret, opts.id, Date.now()) }),
      reconnectionDelay: RECONNECT_DELAY_MS,
      reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
      randomizationFactor: 0.5,
      transports: ['websocket'],
    });
    this.#socket = socket;
    socket.on('connect', () => {
      this.#hubStopping = false;
      this.#register();
    });
    socket.on('connect_error', (err) => {
      if (err.message.startsWith('unauthorized')) {
        opts.log.error({ reason: err.message }, 'the hub refused this server');
        this.emit('fatal', new Error(`hub refused registration: ${err.message}`));
        return;
      }
      // While the hub restarts after saying so, failed reconnects are expected.
      if (this.#hubStopping) opts.log.info({ err: err.message }, 'hub not back yet; retrying with backoff');
      else opts.log.warn({ err: err.message }, 'hub unreachable; retrying with backoff');
    });
    socket.on('shutdown', ({ reason }) => {
      this.#hubStopping = true;
      opts.log.info({ reason }, 'the hub is stopping; reconnecting when it is back');
    });
    socket.on('disconnect', (why) => {
      this.#registered = false;
      // A WARN only when the hub went away unannounced: not when this server or the hub stops on purpose.
      if (this.#closed || this.#hubStopping) opts.log.info({ why }, 'disconnected from hub');
      else opts.log.warn({ why }, 'disconnected from hub');
      // socket.io reconnects by itself after transport failures, but not when the
      // hub closed us (e.g. missed heartbeats): come back after a pause.
      if (why === 'io server disconnect' && !this.#closed) {
        setTimeout(() => !this.#closed && socket.connect(), REJOIN_AFTER_HUB_CLOSE_MS * (1 + Math.random()));
      }
    });
  }

  /** Registered with the hub and connected: reports and heartbeats go out. */
  get registered(): boolean {
    return this.#registered && this.#socket.connected;
  }

  /** Connect (and register on every connect). */
  open(): void {
    this.#socket.connect();
  }

  /** Listen to one hub → server event. */
  handle<E extends keyof HubToServerEvents>(event: E, listener: Listener<E>): void {
    type Untyped = (...args: unknown[]) => void;
    (this.#socket.on as (e: string, l: Untyped) => unknown)(event, listener as unknown as Untyped);
  }

  /** Send one server → hub event (dropped while disconnected: the next registration carries the full state). */
  send<E extends keyof ServerToHubEvents>(event: E, ...args: Parameters<ServerToHubEvents[E]>): void {
    (this.#socket.emit as (e: string, ...a: unknown[]) => unknown)(event, ...args);
  }

  /** Ask for the whole table (after a gap in deltas); `null` when the hub refused. */
  requestSnapshot(done: (snapshot: TableSnapshot | null) => void): void {
    // An ack lost with a dropped connection never comes: give up after a while.
    this.#socket
      .timeout(RESYNC_TIMEOUT_MS)
      .emit('resync', (err: Error | null, r: Ack<{ snapshot: TableSnapshot }>) => done(!err && r.ok ? r.snapshot : null));
  }

  /** Own table changes; only while registered (the next registration carries the full state). */
  report(deltas: OwnDelta[]): void {
    if (!this.registered) return;
    this.#socket.emit('report', deltas, (r) => {
      if (!r.ok) this.#o.log.warn({ code: r.code }, `report refused: ${r.message}`);
    });
  }

  /** Leave the hub (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.disconnect();
  }

  #register(): void {
    const socket = this.#socket;
    socket.emit('register', this.#o.descriptor(), (r) => {
      if (!r.ok) {
        // A refusal (a live server of this id, a hub that cannot take us yet) is retried with
        // backoff; only a wrong secret — refused at connect — ends the process.
        const delayMs = registerBackoffMs(this.#registerAttempts++);
        this.#o.log.error({ code: r.code, retryInMs: Math.round(delayMs) }, `registration refused: ${r.message}`);
        setTimeout(() => !this.#closed && socket.connected && !this.#registered && this.#register(), delayMs);
        return;
      }
      this.#registerAttempts = 0;
      this.#registered = true;
      this.#o.log.info({ version: r.snapshot.version, servers: r.snapshot.servers.length }, 'registered with hub');
      this.emit('registered', r.snapshot);
    });
  }
}

/** Registration after a refusal: 1 s doubling to 30 s, ± 25 % jitter. */
export const REGISTER_BACKOFF = { baseMs: 1_000, maxMs: 30_000, jitter: 0.25 } as const;

/** Delay before registration attempt `n + 1` after a refusal. */
export function registerBackoffMs(n: number): number {
  return backoffMs(n, REGISTER_BACKOFF);
}
