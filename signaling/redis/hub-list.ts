// The hubs of a cluster as they report themselves: one key per hub that expires with it, and an index pruned as it is written, so a hub that dies leaves nothing behind.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';
import type { DashboardHubEntry } from '../protocol/events.js';

/** `/api/hubs` and `/api/config` list at most this many hubs (the most recently seen): their cost does not grow with what Redis holds. */
export const MAX_LISTED_HUBS = 64;

/** One hub as the others see it (`/api/hubs`, the dashboard's `hubs`). */
export type HubInfo = DashboardHubEntry;

export type HubReport = Omit<HubInfo, 'id' | 'leaseHolder'>;

/**
 * KEYS: index, this hub's status key. ARGV: hub id, status JSON, expiry (ms).
 * Dated by Redis's clock, not the hub's, so that hubs whose clocks differ prune one another by one rule.
 */
const REPORT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return now`;

export class HubList {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;

  constructor(redis: Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** This hub is alive for `ttlMs` more; hubs silent for longer leave the index with this write. */
  async report(hubId: string, status: HubReport, ttlMs: number): Promise<void> {
    await this.#redis.eval(REPORT_LUA, 2, this.#keys.hubIndex, this.#keys.hubStatus(hubId), hubId, JSON.stringify(status), ttlMs);
  }

  /** This hub stops: the others stop listing it now rather than when its report expires. */
  async remove(hubId: string): Promise<void> {
    await this.#redis.multi().zrem(this.#keys.hubIndex, hubId).del(this.#keys.hubStatus(hubId)).exec();
  }

  /** The hubs alive now (their reports have not expired), the most recently seen MAX_LISTED_HUBS, by id. */
  async list(): Promise<HubInfo[]> {
    const [ids, holder] = await Promise.all([
      this.#redis.zrevrange(this.#keys.hubIndex, 0, MAX_LISTED_HUBS - 1),
      this.#redis.get(this.#keys.rotationLease),
    ]);
    if (ids.length === 0) return [];
    ids.sort();
    const reports = await this.#redis.mget(ids.map((id) => this.#keys.hubStatus(id)));
    const out: HubInfo[] = [];
    ids.forEach((id, i) => {
      const s = parseReport(reports[i]);
      if (s)
        out.push({
          id,
          url: s.url,
          clients: s.clients,
          servers: s.servers,
          // A hub of an older Baton reports none.
          attached: typeof s.attached === 'number' ? s.attached : 0,
          lastSeenMs: s.lastSeenMs,
          leaseHolder: holder === id,
        });
    });
    return out;
  }
}

/** A report, or undefined when it expired or is not one (another version of Baton wrote the key). */
function parseReport(raw: string | null | undefined): HubReport | undefined {
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as HubReport | null;
    return typeof s === 'object' && s !== null && typeof s.url === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}
