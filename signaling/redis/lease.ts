// The rotation lease: one hub at a time drives rotation and liveness; the lease expires if it dies, and each holder gets a fencing token.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

/** Default lease length; the holder renews at a third of it. */
export const DEFAULT_LEASE_MS = 3_000;

/**
 * Acquire or renew. KEYS: lease, epoch. ARGV: holder, ttlMs.
 * Returns the epoch while `holder` holds the lease (a new one on each acquisition), 0 otherwise.
 */
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('INCR', KEYS[2])
`;

/** Release only our own lease. KEYS: lease. ARGV: holder. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type LeaseState = { held: true; epoch: number } | { held: false; holder: string | null };

export class RotationLease {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #holder: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, keys: ClusterKeys, holder: string, ttlMs = DEFAULT_LEASE_MS) {
    this.#redis = redis;
    this.#keys = keys;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
  }

  get holder(): string {
    return this.#holder;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Take the lease if free, renew it if ours. Rejects while Redis is unreachable: the caller must then stop acting as holder once its last renewal has expired. */
  async tryAcquire(): Promise<LeaseState> {
    const k = this.#keys;
    const epoch = Number(await this.#redis.eval(ACQUIRE_LUA, 2, k.rotationLease, k.rotationEpoch, this.#holder, String(this.#ttlMs)));
    if (epoch > 0) return { held: true, epoch };
    return { held: false, holder: await this.#redis.get(k.rotationLease) };
  }

  async release(): Promise<void> {
    await this.#redis.eval(RELEASE_LUA, 1, this.#keys.rotationLease, this.#holder);
  }

  async currentHolder(): Promise<string | null> {
    return this.#redis.get(this.#keys.rotationLease);
  }
}

/**
 * Keeps a lease: renews it every third of its length and says whether this hub may act as holder
 * now. It may only while its last successful renewal is younger than the lease minus one renewal
 * period — so a hub cut off from Redis stops driving rotation before another hub can take over.
 */
export class LeaseKeeper {
  readonly #lease: RotationLease;
  readonly #now: () => number;
  #validUntilMs = 0;
  #epoch = 0;
  /** What onChange last said, so every change is reported once, whenever it is noticed. */
  #reported = 0;
  #timer: NodeJS.Timeout | undefined;
  #onChange: (held: boolean, epoch: number) => void;

  constructor(lease: RotationLease, onChange: (held: boolean, epoch: number) => void, now: () => number = Date.now) {
    this.#lease = lease;
    this.#onChange = onChange;
    this.#now = now;
  }

  /** Holder now, with its fencing token; 0 when not. */
  epoch(nowMs = this.#now()): number {
    return nowMs < this.#validUntilMs ? this.#epoch : 0;
  }

  /** One renewal attempt (the timer calls it; tests may call it directly). */
  async tick(): Promise<void> {
    const startedMs = this.#now();
    try {
      const s = await this.#lease.tryAcquire();
      if (s.held) {
        this.#epoch = s.epoch;
        this.#validUntilMs = startedMs + this.#lease.ttlMs - this.#lease.ttlMs / 3;
      } else {
        this.#validUntilMs = 0;
      }
    } catch {
      // Redis unreachable: keep what we had until it runs out (checked by epoch()).
    }
    this.#report();
  }

  #report(): void {
    const now = this.epoch();
    if (now === this.#reported) return;
    this.#reported = now;
    this.#onChange(now > 0, now);
  }

  start(): void {
    if (this.#timer) return;
    const every = this.#lease.ttlMs / 3;
    void this.tick();
    this.#timer = setInterval(() => void this.tick(), every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const was = this.epoch() > 0;
    this.#validUntilMs = 0;
    this.#report();
    if (was) {
      await this.#lease.release().catch(() => undefined);
    }
  }
}
