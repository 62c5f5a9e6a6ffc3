// Several hubs: which hub relays a stream id's WHIP broadcast (or holds its resume window), and what a resume needs, in Redis.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

/**
 * How long a record lives without renewal, ms. The hub relaying the broadcast renews it every third of this; once its
 * primary died, the record is kept for the resume window from then (WHIP_RESUME_WINDOW_MS) and no longer renewed. A
 * dead hub's records go at most this long after it died: until then a broadcast it took whose primary dies (often with
 * it: one host) may be resumed through another hub. A record never holds an id: it is only read while the id has an
 * unfinished copy, and only the stream key that started the broadcast may resume with it.
 */
export const WHIP_RECORD_TTL_MS = 120_000;

/** A stream id's WHIP broadcast as any hub may need it to place a resume. */
export interface WhipStreamRecord {
  /** The hub that relays it (or held it when its primary died). */
  hub: string;
  /** Its resource id: only the record of that resource is renewed, kept or removed by the hub. */
  resource: string;
  /** The server it was relayed through: a resume is only taken once that one is gone. */
  primary: string;
  /** sha256 hex of the stream key that started it: only that key may resume it. */
  tokenHash: string;
  /** The stream id's owner secret (the claim in Redis holds it too): a resume presents it. */
  secret: string;
  /**
   * Set once the broadcast ended by DELETE: the servers (comma-separated) storing its recording, which the same stream
   * key may carry on through any hub within the window (`finish`).
   */
  holders?: string;
}

const FIELDS = ['hub', 'resource', 'primary', 'tokenHash', 'secret'] as const;

/** KEYS: the records. ARGV: ttlMs, then each record's resource id. Renews (PEXPIRE) the records still naming that resource. */
const RENEW_LUA = `
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], 'resource') == ARGV[i + 1] then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return #KEYS
`;

/** KEYS: the record. ARGV: resource id. Removes it when it still names that resource (a resume on another hub replaced it). */
const RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'resource') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The records this hub's WHIP broadcasts own (at most the hub's MAX_WHIP_RESOURCES, one per resource). */
export class SharedWhipStreams {
  /** Stream id → resource id of the records this hub renews. */
  readonly #held = new Map<string, string>();

  constructor(
    readonly redis: Redis,
    readonly keys: ClusterKeys,
    readonly ttlMs = WHIP_RECORD_TTL_MS,
  ) {}

  /** A broadcast started (or resumed) here: its record replaces any other of the id; renewed until `stop` or `keep`. */
  async start(streamId: string, r: WhipStreamRecord): Promise<void> {
    this.#held.set(streamId, r.resource);
    const key = this.keys.whipStream(streamId);
    await this.redis.multi().del(key).hset(key, r).pexpire(key, this.ttlMs).exec();
  }

  /** Its primary died: the record is kept `windowMs` from now (a resume through any hub finds it), no longer renewed. */
  async keep(streamId: string, resource: string, windowMs: number): Promise<void> {
    this.#forget(streamId, resource);
    await this.redis.eval(RENEW_LUA, 1, this.keys.whipStream(streamId), String(windowMs), resource);
  }

  /**
   * The broadcast ended by DELETE, its recording stored on `holders`: the record names them and lives `windowMs` more
   * (not renewed), so the same stream key's POST through any hub carries the recording on.
   */
  async finish(streamId: string, r: WhipStreamRecord, holders: readonly string[], windowMs: number): Promise<void> {
    this.#forget(streamId, r.resource);
    const key = this.keys.whipStream(streamId);
    await this.redis
      .multi()
      .del(key)
      .hset(key, { ...r, holders: holders.join(',') })
      .pexpire(key, windowMs)
      .exec();
  }

  /** The broadcast ended for good (DELETE, a failed offer): its record goes, unless a resume elsewhere replaced it. */
  async stop(streamId: string, resource: string): Promise<void> {
    this.#forget(streamId, resource);
    await this.redis.eval(RELEASE_LUA, 1, this.keys.whipStream(streamId), resource);
  }

  async get(streamId: string): Promise<WhipStreamRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.whipStream(streamId));
    return FIELDS.every((f) => typeof h[f] === 'string' && h[f] !== '') ? (h as unknown as WhipStreamRecord) : undefined;
  }

  /** Every third of `ttlMs` (SharedCluster's timer): the records of the broadcasts relayed here live on. */
  async renew(): Promise<void> {
    const held = [...this.#held];
    if (held.length === 0) return;
    await this.redis.eval(
      RENEW_LUA,
      held.length,
      ...held.map(([streamId]) => this.keys.whipStream(streamId)),
      String(this.ttlMs),
      ...held.map(([, resource]) => resource),
    );
  }

  #forget(streamId: string, resource: string): void {
    if (this.#held.get(streamId) === resource) this.#held.delete(streamId);
  }
}
