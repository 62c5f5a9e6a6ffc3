// What must hold across hubs besides the table: stream-id ownership and accepted token nonces (rate counts: shared-rate.ts).
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

/**
 * Claim a stream id. KEYS: owner[, the key's slots]. ARGV: secret (minted by the caller), connection, proof, ttlMs,
 * nowMs, max, stream id. Free → ours with ARGV secret ({1, secret}); held by this connection or proof matches → ours
 * again, connection updated ({0, secret}); else {-1, ''}. With the key's slots (a sorted set: stream id → expiry
 * ms): a free id is refused ({-2, ''}) when the key already holds `max` other ids; an id it holds (a resume) is
 * renewed, not counted again. The owner remembers which key's slots hold the id (`slots`): a resume with another key
 * (through another hub, which does not know the first) moves the id there, so it never counts against both keys
 * (before, the first key's entry lingered until it expired, up to STREAM_CLAIM_TTL_MS; found by review). Atomic, so
 * two hubs cannot both win an id, nor both take a key's last slot. (The first key's slots are named by the owner, not
 * in KEYS: one Redis, not Redis Cluster, as everywhere in signaling/redis.)
 */
const CLAIM_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'secret', 'conn', 'slots')
local state = -1
if not cur[1] then
  state = 1
elseif cur[2] == ARGV[2] or (ARGV[3] ~= '' and cur[1] == ARGV[3]) then
  state = 0
else
  return {-1, ''}
end
if #KEYS == 2 then
  local now = tonumber(ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if state == 1 and not redis.call('ZSCORE', KEYS[2], ARGV[7]) and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then
    return {-2, ''}
  end
  if cur[3] and cur[3] ~= KEYS[2] then redis.call('ZREM', cur[3], ARGV[7]) end
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('HSET', KEYS[1], 'slots', KEYS[2])
end
if state == 1 then
  redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'conn', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, ARGV[1]}
end
redis.call('HSET', KEYS[1], 'conn', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {0, cur[1]}
`;

/**
 * Release a claim only if this connection holds it. KEYS: owner[, the key's slots]. ARGV: connection, stream id.
 * The key's slot goes too, unless another connection holds the id now (its publisher moved to another hub).
 */
const RELEASE_LUA = `
local conn = redis.call('HGET', KEYS[1], 'conn')
if conn and conn ~= ARGV[1] then return 0 end
if #KEYS == 2 then redis.call('ZREM', KEYS[2], ARGV[2]) end
if conn then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Renew the claims this hub holds. KEYS: the owner of each id (ARGV[3] of them), then the slots of the keys the keyed
 * ones count against. ARGV: ttlMs, nowMs, the number of owners, then for each slot key the stream id and its owner's
 * index in KEYS. A slot is renewed only while the owner names it (or names none): an id whose publisher resumed with
 * another key on another hub is not put back in the first key's slots by the hub it left.
 */
const RENEW_LUA = `
local n = tonumber(ARGV[3])
for i = 1, n do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
for i = n + 1, #KEYS do
  local j = 2 * (i - n) + 2
  local slots = redis.call('HGET', KEYS[tonumber(ARGV[j + 1])], 'slots')
  if not slots or slots == KEYS[i] then
    redis.call('ZADD', KEYS[i], tonumber(ARGV[2]) + tonumber(ARGV[1]), ARGV[j])
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return #KEYS
`;

export type SharedClaim = { ok: true; secret: string; fresh: boolean } | { ok: false; reason: 'owned' | 'key-full' };

/** How long a claim lives without renewal (the hub holding it renews it, and its key's slot, every third of this). */
export const STREAM_CLAIM_TTL_MS = 60_000;

/** The stream key a claim counts against: its id (`keyIdOf`), how many ids it may hold, and the claiming hub's clock. */
export interface SlotClaim {
  keyId: string;
  max: number;
  nowMs: number;
}

export class SharedStreamOwners {
  constructor(
    readonly redis: Redis,
    readonly keys: ClusterKeys,
    readonly ttlMs = STREAM_CLAIM_TTL_MS,
  ) {}

  /** `connection` must be unique across hubs (e.g. `<hubId>/<socketId>`). */
  async claim(streamId: string, connection: string, newSecret: string, proof?: string, slot?: SlotClaim): Promise<SharedClaim> {
    const keys = [this.keys.streamOwner(streamId), ...(slot ? [this.keys.keySlots(slot.keyId)] : [])];
    const [state, secret] = (await this.redis.eval(
      CLAIM_LUA,
      keys.length,
      ...keys,
      newSecret,
      connection,
      proof ?? '',
      String(this.ttlMs),
      String(slot?.nowMs ?? 0),
      String(slot?.max ?? 0),
      streamId,
    )) as [number, string];
    if (Number(state) === -2) return { ok: false, reason: 'key-full' };
    if (Number(state) < 0) return { ok: false, reason: 'owned' };
    return { ok: true, secret, fresh: Number(state) === 1 };
  }

  /** Ends `connection`'s claim, and the id's slot of `keyId` with it. */
  async release(streamId: string, connection: string, keyId?: string): Promise<boolean> {
    const keys = [this.keys.streamOwner(streamId), ...(keyId !== undefined ? [this.keys.keySlots(keyId)] : [])];
    return Number(await this.redis.eval(RELEASE_LUA, keys.length, ...keys, connection, streamId)) === 1;
  }

  /**
   * Renews the claims of ids this hub holds, and the slots of the keys they count against: each expires `ttlMs` after
   * its last renewal, so a dead hub's go, and a live broadcast's id is never free for another publisher.
   */
  async renew(held: ReadonlyArray<{ streamId: string; keyId?: string }>, nowMs: number): Promise<void> {
    if (held.length === 0) return;
    const keyed = held.flatMap((h, i) => (h.keyId === undefined ? [] : [{ streamId: h.streamId, keyId: h.keyId, owner: i + 1 }]));
    await this.redis.eval(
      RENEW_LUA,
      held.length + keyed.length,
      ...held.map((h) => this.keys.streamOwner(h.streamId)),
      ...keyed.map((h) => this.keys.keySlots(h.keyId)),
      String(this.ttlMs),
      String(nowMs),
      String(held.length),
      ...keyed.flatMap((h) => [h.streamId, String(h.owner)]),
    );
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
