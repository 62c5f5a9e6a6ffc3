// What must hold across hubs besides the table: stream-id ownership and accepted token nonces (rate counts: shared-rate.ts).
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

/**
 * Claim a stream id. KEYS: owner. ARGV: secret (minted by the caller), connection, proof, ttlMs.
 * Free → ours with ARGV secret ({1, secret}); held by this connection or proof matches → ours
 * again, connection updated ({0, secret}); else {-1, ''}. Atomic, so two hubs cannot both win.
 */
const CLAIM_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'secret', 'conn')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'conn', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, ARGV[1]}
end
if cur[2] == ARGV[2] or (ARGV[3] ~= '' and cur[1] == ARGV[3]) then
  redis.call('HSET', KEYS[1], 'conn', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {0, cur[1]}
end
return {-1, ''}
`;

/** Release a claim only if this connection holds it. KEYS: owner. ARGV: connection. */
const RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'conn') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type SharedClaim = { ok: true; secret: string; fresh: boolean } | { ok: false };

/** How long a claim lives without renewal (the publisher's hub renews it while the stream is live). */
export const STREAM_CLAIM_TTL_MS = 60_000;

export class SharedStreamOwners {
  constructor(
    readonly redis: Redis,
    readonly keys: ClusterKeys,
    readonly ttlMs = STREAM_CLAIM_TTL_MS,
  ) {}

  /** `connection` must be unique across hubs (e.g. `<hubId>/<socketId>`). */
  async claim(streamId: string, connection: string, newSecret: string, proof?: string): Promise<SharedClaim> {
    const [state, secret] = (await this.redis.eval(
      CLAIM_LUA,
      1,
      this.keys.streamOwner(streamId),
      newSecret,
      connection,
      proof ?? '',
      String(this.ttlMs),
    )) as [number, string];
    if (Number(state) < 0) return { ok: false };
    return { ok: true, secret, fresh: Number(state) === 1 };
  }

  async release(streamId: string, connection: string): Promise<boolean> {
    return Number(await this.redis.eval(RELEASE_LUA, 1, this.keys.streamOwner(streamId), connection)) === 1;
  }
}

/** Remembers accepted nonces until their token expires, across hubs: a token replayed on another hub is refused. */
export class SharedNonces {
  constructor(
    readonly redis: Redis,
    readonly keys: ClusterKeys,
  ) {}

  /** True the first time a nonce is seen (it is then remembered until `expiresAtMs`), false on a replay. */
  async accept(nonce: string, expiresAtMs: number, nowMs = Date.now()): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(expiresAtMs - nowMs));
    return (await this.redis.set(this.keys.nonce(nonce), '1', 'PX', ttl, 'NX')) === 'OK';
  }
}
