// A hub's right to its place on one Redis: its --hub-id is its own, and its cluster secret is the cluster's.
import { randomBytes, scryptSync } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CodedError } from '../../common/coded-error.js';
import type { ClusterKeys } from './keys.js';

/**
 * KEYS: this id's claim, the cluster's secret check. ARGV: this hub's instance, its secret check, expiry (ms).
 * Both keys are renewed together by every hub on each tick, so they expire a liveness timeout after the last hub
 * that holds them stops (a cluster restarted with a new secret waits that long, not for ever).
 */
const CLAIM_LUA = `
local s = redis.call('GET', KEYS[2])
if s and s ~= ARGV[2] then return 'secret' end
local h = redis.call('GET', KEYS[1])
if h and h ~= ARGV[1] then return 'id' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 'ok'`;

/** Drop only our own claim (a clean stop: the same id restarted need not wait). KEYS: claim. ARGV: instance. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export type ClaimResult = 'ok' | 'id' | 'secret';

export const HubClaimCode = { IdInUse: 'hub-id-in-use', SecretDiffers: 'cluster-secret-differs' } as const;

/**
 * What every hub of one cluster stores about the secret: a slow hash of it (scrypt, salted with the key prefix),
 * never the secret, so equal secrets compare equal and Redis's contents do not give it away cheaply.
 */
export function secretCheck(secret: string, prefix: string): string {
  return scryptSync(secret, `baton cluster secret check ${prefix}`, 16).toString('hex');
}

export class HubClaim {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #hubId: string;
  readonly #check: string;
  readonly #ttlMs: number;
  /** Tells this process from an earlier one of the same hub (SIGKILLed, restarted with the same id). */
  readonly #instance = randomBytes(8).toString('hex');

  constructor(redis: Redis, keys: ClusterKeys, hubId: string, check: string, ttlMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#hubId = hubId;
    this.#check = check;
    this.#ttlMs = ttlMs;
  }

  /** Take or renew the claim; 'id' / 'secret': another live hub holds this id, or runs with another secret. */
  async renew(): Promise<ClaimResult> {
    const k = this.#keys;
    return (await this.#redis.eval(
      CLAIM_LUA,
      2,
      k.hubClaim(this.#hubId),
      k.secretCheck,
      this.#instance,
      this.#check,
      String(this.#ttlMs),
    )) as ClaimResult;
  }

  /**
   * At start: take the claim, waiting out what an earlier process left (a hub SIGKILLed and started again within
   * the other's expiry); rejects with a `CodedError` saying what to change when a live hub keeps holding it.
   */
  async take(o: { sleep?: (ms: number) => Promise<void> } = {}): Promise<void> {
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let deadline: number | undefined;
    for (;;) {
      const r = await this.renew();
      if (r === 'ok') return;
      const key = r === 'id' ? this.#keys.hubClaim(this.#hubId) : this.#keys.secretCheck;
      // A live holder renews every heartbeat: once what it held when we first looked has expired, it is alive.
      deadline ??= Date.now() + Math.max(0, await this.#redis.pttl(key)) + 500;
      if (Date.now() > deadline) throw await this.#refusal(r);
      await sleep(250);
    }
  }

  async release(): Promise<void> {
    await this.#redis.eval(RELEASE_LUA, 1, this.#keys.hubClaim(this.#hubId), this.#instance);
  }

  async #refusal(r: Exclude<ClaimResult, 'ok'>): Promise<CodedError> {
    const prefix = this.#keys.prefix;
    if (r === 'secret')
      return new CodedError(
        HubClaimCode.SecretDiffers,
        `another hub on this Redis (key prefix "${prefix}") runs with a different cluster secret: give every hub and server of ` +
          'one cluster the same --cluster-secret-file, or give a separate cluster its own --redis-prefix',
      );
    const status = await this.#redis.get(this.#keys.hubStatus(this.#hubId)).catch(() => null);
    let url: string | undefined;
    try {
      url = status ? (JSON.parse(status) as { url?: string }).url : undefined;
    } catch {}
    return new CodedError(
      HubClaimCode.IdInUse,
      `hub id "${this.#hubId}" is in use by another live hub on this Redis (key prefix "${prefix}"${url ? `, at ${url}` : ''}): ` +
        'give every hub its own --hub-id (or leave it out for a random one)',
    );
  }
}
