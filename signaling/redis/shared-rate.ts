// A per-address request budget that holds across hubs. Each hub answers from its own token bucket at
// once and counts what it accepted; every SYNC_MS it adds those counts to one Redis counter per
// address and window (one pipelined round trip for all addresses, whatever the request rate) and
// reads back the cluster's totals. An address whose total passed the window's limit is refused on
// this hub until the window ends. So an address spread over N hubs by a load balancer gets about one
// hub's budget, not N times it; the slack is what each hub accepts in one sync interval.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';
import { warnOnce } from './connect.js';
import type { Logger } from '../log.js';

/** Length of a shared window. A budget is `limit` requests per window, cluster-wide. */
export const SHARED_RATE_WINDOW_MS = 10_000;
/** How often a hub adds its counts to Redis and learns which addresses are over. */
export const SHARED_RATE_SYNC_MS = 250;
/** Addresses counted between two syncs, and addresses remembered as over; past it a new address is not counted. */
export const MAX_SHARED_RATE_KEYS = 10_000;
/** Addresses sent in one sync, busiest first; the rest wait for the next sync. */
export const MAX_SHARED_RATE_SYNC_KEYS = 1_000;

export interface SharedRateOptions {
  /** Requests one address may make per window across all hubs. */
  limit: number;
  /** Names the budget in its Redis keys, so two budgets of one address (HTTP, dashboard connections) stay apart. */
  scope?: string;
  windowMs?: number;
  syncMs?: number;
  maxKeys?: number;
  maxSyncKeys?: number;
  now?: () => number;
  /** Called when a sync fails (Redis away); the hub then limits on its own buckets only. */
  onError?: (err: Error) => void;
}

export class SharedRateWindows {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #limit: number;
  readonly #scope: string;
  readonly #windowMs: number;
  readonly #syncMs: number;
  readonly #maxKeys: number;
  readonly #maxSyncKeys: number;
  readonly #now: () => number;
  readonly #onError: (err: Error) => void;
  /** Accepted here since the last sync, in window `#window`. */
  readonly #pending = new Map<string, number>();
  /** Addresses over the cluster's limit in window `#window`; insertion order is age. */
  readonly #over = new Set<string>();
  #window = -1;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;

  constructor(redis: Redis, keys: ClusterKeys, o: SharedRateOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#limit = o.limit;
    this.#scope = o.scope ? `${o.scope}/` : '';
    this.#windowMs = o.windowMs ?? SHARED_RATE_WINDOW_MS;
    this.#syncMs = o.syncMs ?? SHARED_RATE_SYNC_MS;
    this.#maxKeys = o.maxKeys ?? MAX_SHARED_RATE_KEYS;
    this.#maxSyncKeys = o.maxSyncKeys ?? MAX_SHARED_RATE_SYNC_KEYS;
    this.#now = o.now ?? Date.now;
    this.#onError = o.onError ?? (() => undefined);
  }

  /** Addresses waiting for the next sync. */
  get pendingKeys(): number {
    return this.#pending.size;
  }

  /** Addresses known to be over the limit in this window. */
  get overKeys(): number {
    return this.#over.size;
  }

  /** False when the cluster already spent `key`'s budget for this window; else counts the request. */
  take(key: string): boolean {
    this.#roll();
    if (this.#over.has(key)) return false;
    const n = this.#pending.get(key);
    if (n !== undefined) this.#pending.set(key, n + 1);
    else if (this.#pending.size < this.#maxKeys) this.#pending.set(key, 1);
    return true;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sync(), this.#syncMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Adds this hub's counts to the cluster's and marks the addresses now over. One round trip; never rejects. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    this.#roll();
    if (this.#pending.size === 0) return;
    const window = this.#window;
    let batch = [...this.#pending];
    if (batch.length > this.#maxSyncKeys) batch = batch.sort((a, b) => b[1] - a[1]).slice(0, this.#maxSyncKeys);
    for (const [key] of batch) this.#pending.delete(key);
    const pipe = this.#redis.pipeline();
    for (const [key, n] of batch) {
      const k = this.#keys.rate(this.#scope + key, window);
      pipe.incrby(k, n).pexpire(k, this.#windowMs * 2);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipe.exec();
    } catch (err) {
      this.#onError(err as Error);
      return;
    }
    const failed = replies?.find(([err]) => err)?.[0];
    if (failed) return this.#onError(failed);
    if (!replies || window !== this.#window) return; // the window ended while Redis answered
    batch.forEach(([key], i) => {
      const total = Number(replies[i * 2]?.[1]);
      if (!(total > this.#limit) || this.#over.has(key)) return;
      if (this.#over.size >= this.#maxKeys) this.#over.delete(this.#over.values().next().value!);
      this.#over.add(key);
    });
  }

  /** A new window starts everyone afresh; counts not yet synced from the last one are dropped (≤ one sync interval's). */
  #roll(): void {
    const w = Math.floor(this.#now() / this.#windowMs);
    if (w === this.#window) return;
    this.#window = w;
    this.#pending.clear();
    this.#over.clear();
  }
}

/**
 * The cluster-wide twin of a per-hub token bucket (`ratePerS`, bursts of `burst`): per window, what
 * one bucket lets through in it. Warns once when Redis is away (the hub's own buckets still hold).
 */
export function sharedBucketLimit(
  shared: { redis: Redis; keys: ClusterKeys },
  ratePerS: number,
  burst: number,
  log: Logger,
  o: { now?: () => number; scope?: string; what?: string } = {},
): SharedRateWindows {
  return new SharedRateWindows(shared.redis, shared.keys, {
    limit: burst + (ratePerS * SHARED_RATE_WINDOW_MS) / 1000,
    now: o.now,
    scope: o.scope,
    onError: warnOnce(log, `per-IP ${o.what ?? 'request'} counts not shared (Redis away): each hub limits on its own until it is back`),
  });
}
