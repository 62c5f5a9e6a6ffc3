// Connections to the Redis that several hubs share, set up to fail fast: a hub must degrade, never queue, while Redis is away.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';
import { parseRedisUrl } from './redis-url.js';

/** How long one command may wait for Redis before the hub treats Redis as unreachable. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** Longest pause between reconnect attempts. */
export const REDIS_RECONNECT_MAX_MS = 2_000;

/**
 * A client for commands. No offline queue and a command timeout: while Redis is down or hung a
 * command rejects at once (or after REDIS_COMMAND_TIMEOUT_MS) and the caller falls back, instead
 * of commands piling up and firing in a burst when Redis returns. It reconnects by itself.
 */
export function connectRedis(raw: string, extra: RedisOptions = {}): Redis {
  const { host, port, db, tls } = parseRedisUrl(raw);
  const u = new URL(raw);
  const r = new Redis({
    host,
    port,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: tls ? {} : undefined,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_COMMAND_TIMEOUT_MS * 2,
    retryStrategy: (attempt) => Math.min(100 * attempt, REDIS_RECONNECT_MAX_MS),
    ...extra,
  });
  // Connection errors are expected while Redis is away; callers read `status` (see redisReady) and
  // log transitions once, rather than ioredis printing every failed reconnect as unhandled.
  r.on('error', () => undefined);
  return r;
}

/** Resolves when the client is ready, rejects after `timeoutMs` (a hub refuses to start on a Redis it cannot reach). */
export function whenRedisReady(r: Redis, timeoutMs = 10_000): Promise<void> {
  if (r.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      r.off('ready', onReady);
      reject(new Error(`Redis not reachable within ${timeoutMs} ms (status ${r.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(t);
      resolve();
    };
    r.once('ready', onReady);
  });
}

/**
 * A client for blocking reads (XREAD BLOCK): its command timeout must outlast the block, and it
 * must not share a connection with commands that would wait behind the block.
 */
export function connectBlockingRedis(raw: string, blockMs: number): Redis {
  return connectRedis(raw, { commandTimeout: blockMs + REDIS_COMMAND_TIMEOUT_MS });
}

/** True when the client can take a command now (connected and ready). */
export function redisReady(r: Redis): boolean {
  return r.status === 'ready';
}

/** How often `RedisProbe` pings. */
export const REDIS_PROBE_INTERVAL_MS = 500;
/** Redis counts as unreachable once a ping has gone unanswered this long. */
export const REDIS_UNREACHABLE_AFTER_MS = 2_000;

/**
 * Whether Redis answers. The client's status alone stays `ready` while Redis is frozen (SIGSTOP, a
 * path that drops packets): the socket is open and nothing answers. A PING every
 * REDIS_PROBE_INTERVAL_MS makes a hung Redis take the same degraded path as a dead one,
 * REDIS_UNREACHABLE_AFTER_MS after the first ping it left unanswered. Silence is counted from a
 * ping sent, not from the last answer: this hub's own event loop stalling (no ping goes out) is not
 * Redis's silence.
 */
export class RedisProbe {
  readonly #redis: Redis;
  readonly #now: () => number;
  /** When the oldest ping not answered since was sent; undefined after an answer. */
  #silentSinceMs: number | undefined;
  /** `#stalledMs` when that ping was sent. */
  #stalledAtSilence = 0;
  /**
   * Time this process's event loop could not run, summed (lag of the probe's own tick past its period): a
   * ping's answer waits in the socket while the loop is busy, and that wait is the hub's, not Redis's.
   */
  #stalledMs = 0;
  #lastTickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #pinging = false;

  constructor(redis: Redis, now: () => number = Date.now) {
    this.#redis = redis;
    this.#now = now;
    this.#lastTickMs = now();
  }

  /** Connected, and no ping has waited REDIS_UNREACHABLE_AFTER_MS for its answer, not counting the loop's own stalls. */
  get reachable(): boolean {
    if (!redisReady(this.#redis)) return false;
    if (this.#silentSinceMs === undefined) return true;
    const now = this.#now();
    // A stall still being caught up (the tick has not run since it ended) counts as the loop's too.
    const pending = Math.max(0, now - this.#lastTickMs - REDIS_PROBE_INTERVAL_MS);
    const silence = now - this.#silentSinceMs - (this.#stalledMs - this.#stalledAtSilence) - pending;
    return silence < REDIS_UNREACHABLE_AFTER_MS;
  }

  start(): void {
    this.#lastTickMs = this.#now();
    this.#timer ??= setInterval(() => this.#tick(), REDIS_PROBE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = this.#now();
    this.#stalledMs += Math.max(0, now - this.#lastTickMs - REDIS_PROBE_INTERVAL_MS);
    this.#lastTickMs = now;
    this.#ping();
  }

  #ping(): void {
    if (!redisReady(this.#redis)) {
      // Reconnected later: a fresh start, not the silence before the drop.
      this.#silentSinceMs = undefined;
      return;
    }
    // One ping at a time: against a frozen Redis each waits out the command timeout.
    if (this.#pinging) return;
    this.#pinging = true;
    if (this.#silentSinceMs === undefined) {
      this.#silentSinceMs = this.#now();
      this.#stalledAtSilence = this.#stalledMs;
    }
    // A timeout that fired late (the loop stalled, the answer maybe unread in the socket) is not reset here: the
    // stall is already left out of the silence, and a reset at every late timeout would keep a frozen Redis
    // "reachable" for as long as the hub is busy.
    this.#redis
      .ping()
      .then(
        () => (this.#silentSinceMs = undefined),
        () => undefined,
      )
      .finally(() => (this.#pinging = false));
  }
}

export { within } from '../../common/within.js';

/** An error handler that logs the first error only (a Redis outage fails every sync until it ends). */
export function warnOnce(log: Logger, message: string): (err: Error) => void {
  let warned = false;
  return (err) => {
    if (warned) return;
    warned = true;
    log.warn({ err: err.message }, message);
  };
}
