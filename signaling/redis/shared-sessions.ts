// Per-IP session caps that hold across hubs. A hub admits from its own counts plus what the other
// hubs last said the address holds there. Every SYNC_MS it writes its count for each address it
// holds sessions for into one Redis hash per address (a field per hub, with the time it was
// written) and reads back the other hubs' fields, in one pipelined round trip whatever the number of
// watches. The slack is what one hub admits for an address in one sync interval before it learns of
// the others, itself bounded by the per-connection and per-IP caps of that hub; a field a dead hub
// left stops counting STALE_MS after it was written.
import type { Redis } from 'ioredis';
import type { SessionRegistry, Tally } from '../core/session-registry.js';
import type { Logger } from '../log.js';
import type { ClusterKeys } from './keys.js';
import { REDIS_COMMAND_TIMEOUT_MS, warnOnce, within } from './connect.js';

export const SHARED_SESSIONS_SYNC_MS = 250;
/** A hub's count for an address is believed this long after it wrote it (it rewrites it every sync). */
export const SHARED_SESSIONS_STALE_MS = 5_000;
/** Addresses a hub writes and reads per sync, most sessions first. */
export const MAX_SHARED_SESSION_IPS = 1_000;
/** Addresses holding nothing here whose counts elsewhere a hub read before admitting them (each kept one sync interval). */
export const MAX_SHARED_SESSION_LOOKUPS = 10_000;
/** How long an admission waits for Redis to say what an address holds elsewhere before it goes on from this hub's counts. */
export const SHARED_SESSIONS_LOOKUP_TIMEOUT_MS = 250;

export interface SharedSessionsOptions {
  hubId: string;
  /** This hub's per-IP counts. */
  local: () => Iterable<[string, Readonly<Tally>]>;
  syncMs?: number;
  staleMs?: number;
  maxIps?: number;
  maxLookups?: number;
  now?: () => number;
  onError?: (err: Error) => void;
  /** Redis answered lately: a stop skips its cleanup on a Redis known to be away. */
  reachable?: () => boolean;
}

export class SharedIpSessions {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #o: Required<Omit<SharedSessionsOptions, 'onError' | 'reachable'>> & Pick<SharedSessionsOptions, 'onError' | 'reachable'>;
  /** The other hubs' sums for the addresses this hub holds sessions for, as of the last sync (at most `maxIps`). */
  #remote = new Map<string, Tally>();
  /** The same for addresses looked up before their first session here, with when (at most MAX_SHARED_SESSION_LOOKUPS). */
  readonly #looked = new Map<string, { tally: Tally; atMs: number }>();
  readonly #lookups = new Map<string, Promise<void>>();
  /** Addresses whose field this hub wrote last sync (removed when their count goes to 0). */
  #written = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;

  constructor(redis: Redis, keys: ClusterKeys, o: SharedSessionsOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#o = {
      syncMs: SHARED_SESSIONS_SYNC_MS,
      staleMs: SHARED_SESSIONS_STALE_MS,
      maxIps: MAX_SHARED_SESSION_IPS,
      maxLookups: MAX_SHARED_SESSION_LOOKUPS,
      now: Date.now,
      ...o,
    };
  }

  /** Addresses looked up before their first session here and still remembered. */
  get lookedUp(): number {
    return this.#looked.size;
  }

  /** What the other hubs hold for `ip`, as last read; undefined when this hub has not read it. */
  elsewhere(ip: string): Tally | undefined {
    return this.#remote.get(ip) ?? this.#looked.get(ip)?.tally;
  }

  /**
   * Before admitting a session for `ip`: unless the last sync or a recent lookup said what the other
   * hubs hold for it, asks Redis (one HGETALL; concurrent admissions for one address share it). Never
   * rejects, and gives up after SHARED_SESSIONS_LOOKUP_TIMEOUT_MS (the admission then counts this hub only).
   */
  async lookUp(ip: string): Promise<void> {
    const looked = this.#looked.get(ip);
    if (this.#remote.has(ip) || (looked && this.#o.now() - looked.atMs < this.#o.syncMs)) return;
    let pending = this.#lookups.get(ip);
    if (!pending) {
      pending = this.#redis
        .hgetall(this.#keys.ipSessions(ip))
        .then((fields) => {
          if (this.#looked.size >= this.#o.maxLookups) this.#looked.delete(this.#looked.keys().next().value!);
          this.#looked.delete(ip);
          this.#looked.set(ip, { tally: this.#others(fields, this.#o.now()), atMs: this.#o.now() });
        })
        .catch((err: Error) => this.#o.onError?.(err))
        .finally(() => this.#lookups.delete(ip));
      this.#lookups.set(ip, pending);
    }
    await within(pending, SHARED_SESSIONS_LOOKUP_TIMEOUT_MS);
  }

  /** The sum of the other hubs' fresh fields of one address's hash. */
  #others(fields: Record<string, string>, now: number): Tally {
    const sum: Tally = { open: 0, unconnected: 0 };
    for (const [hub, v] of Object.entries(fields)) {
      if (hub === this.#o.hubId) continue;
      const [open, unconnected, atMs] = v.split(',').map(Number);
      if (!(now - atMs! <= this.#o.staleMs) || !Number.isFinite(open) || !Number.isFinite(unconnected)) continue;
      sum.open += open!;
      sum.unconnected += unconnected!;
    }
    return sum;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sync(), this.#o.syncMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // Bounded: a Redis that is away must not hold the hub's exit (the fields expire STALE_MS after their last write anyway).
    await within(this.#syncing ?? Promise.resolve(), REDIS_COMMAND_TIMEOUT_MS);
    // This hub's sessions end with it; other hubs stop counting them now rather than STALE_MS later.
    if (this.#written.size === 0 || this.#o.reachable?.() === false) return;
    const pipe = this.#redis.pipeline();
    for (const ip of this.#written) pipe.hdel(this.#keys.ipSessions(ip), this.#o.hubId);
    await within(pipe.exec(), REDIS_COMMAND_TIMEOUT_MS);
  }

  /** Writes this hub's counts and reads the others'. One round trip; never rejects. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const { hubId, staleMs, maxIps } = this.#o;
    let held = [...this.#o.local()].filter(([, t]) => t.open > 0);
    if (held.length > maxIps) held = held.sort((a, b) => b[1].open - a[1].open).slice(0, maxIps);
    const holding = new Set(held.map(([ip]) => ip));
    const gone = [...this.#written].filter((ip) => !holding.has(ip));
    if (held.length === 0 && gone.length === 0) {
      this.#remote = new Map();
      return;
    }
    const now = this.#o.now();
    const pipe = this.#redis.pipeline();
    for (const ip of gone) pipe.hdel(this.#keys.ipSessions(ip), hubId);
    for (const [ip, t] of held) {
      const k = this.#keys.ipSessions(ip);
      pipe.hset(k, hubId, `${t.open},${t.unconnected},${now}`).pexpire(k, staleMs).hgetall(k);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipe.exec();
    } catch (err) {
      this.#o.onError?.(err as Error);
      return;
    }
    const failed = replies?.find(([err]) => err)?.[0];
    if (failed || !replies) {
      if (failed) this.#o.onError?.(failed);
      return;
    }
    this.#written = holding;
    const remote = new Map<string, Tally>();
    held.forEach(([ip], i) => remote.set(ip, this.#others((replies[gone.length + i * 3 + 2]?.[1] ?? {}) as Record<string, string>, now)));
    this.#remote = remote;
  }
}

/** Counts `registry`'s per-IP sessions across hubs: its caps then hold for the cluster, not per hub. Warns once when Redis is away. */
export function shareIpSessions(
  shared: { redis: Redis; keys: ClusterKeys; hubId: string; readonly ready: boolean },
  registry: SessionRegistry<object>,
  log: Logger,
): SharedIpSessions {
  const s = new SharedIpSessions(shared.redis, shared.keys, {
    hubId: shared.hubId,
    local: () => registry.ipTallies(),
    reachable: () => shared.ready,
    onError: warnOnce(log, 'per-IP session counts not shared (Redis away): each hub caps on its own until it is back'),
  });
  registry.shared = { elsewhere: (ip) => s.elsewhere(ip), lookUp: (ip) => s.lookUp(ip) };
  return s;
}
