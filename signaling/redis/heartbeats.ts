// Server liveness across hubs: each server's heartbeat is a key with a TTL, written by whichever hub it talks to.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

/** Keys asked per MGET when the lease holder checks the whole table. */
export const HEARTBEAT_CHECK_BATCH = 1_000;

/**
 * Why a key and not the hub's own timers: when a hub dies, its servers reconnect to other hubs and
 * go on beating there; the lease holder judges every server by its key, so a dead hub's servers
 * are not all declared dead with it. The TTL is the liveness timeout.
 */
export class SharedHeartbeats {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #hubId: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, keys: ClusterKeys, hubId: string, ttlMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#hubId = hubId;
    this.#ttlMs = ttlMs;
  }

  /** Record beats for servers (one round trip however many). */
  async beat(serverIds: readonly string[]): Promise<void> {
    if (serverIds.length === 0) return;
    const p = this.#redis.pipeline();
    for (const id of serverIds) p.set(this.#keys.heartbeat(id), this.#hubId, 'PX', this.#ttlMs);
    await p.exec();
  }

  /** A server left cleanly: forget its beat. */
  async forget(serverId: string): Promise<void> {
    await this.#redis.del(this.#keys.heartbeat(serverId));
  }

  /** Of `serverIds`, those whose heartbeat has expired (dead), in input order. */
  async expired(serverIds: readonly string[]): Promise<string[]> {
    const dead: string[] = [];
    for (let i = 0; i < serverIds.length; i += HEARTBEAT_CHECK_BATCH) {
      const batch = serverIds.slice(i, i + HEARTBEAT_CHECK_BATCH);
      const values = await this.#redis.mget(batch.map((id) => this.#keys.heartbeat(id)));
      values.forEach((v, j) => {
        if (v === null) dead.push(batch[j]!);
      });
    }
    return dead;
  }

  /** The hub each server last beat through (null when expired). */
  async hubsOf(serverIds: readonly string[]): Promise<(string | null)[]> {
    if (serverIds.length === 0) return [];
    return this.#redis.mget(serverIds.map((id) => this.#keys.heartbeat(id)));
  }
}
