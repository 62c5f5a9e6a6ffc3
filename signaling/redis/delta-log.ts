// The shared state table's one ordered log: versioned deltas in a Redis Stream, versions from one INCR.
import type { Redis } from 'ioredis';
import type { Delta, TableSnapshot, VersionedDelta } from '../protocol/types.js';
import type { ClusterKeys } from './keys.js';
import { CodedError } from '../../common/coded-error.js';

/** Deltas kept in the stream (approximate trim); a hub further behind takes the snapshot. */
export const DEFAULT_LOG_MAX_LEN = 100_000;
/** Deltas read per XREAD/XRANGE call. */
export const LOG_READ_COUNT = 1_000;

/**
 * Appends deltas atomically: each gets the next global version (INCR) and is added to the stream
 * with entry id `<version>-1`, so stream order is version order and a reader resumes from the id.
 * With a fence (ARGV[2] = holder) the append happens only while that holder has the rotation lease:
 * a hub that lost the lease while paused cannot write director changes afterwards.
 * KEYS: version, log, lease. ARGV: maxLen, fenceHolder ('' = none), delta JSON...
 */
const APPEND_LUA = `
if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[2] then
  return redis.error_reply('FENCED rotation lease not held by ' .. ARGV[2])
end
local out = {}
for i = 3, #ARGV do
  local v = redis.call('INCR', KEYS[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], v .. '-1', 'd', ARGV[i])
  out[#out + 1] = v
end
return out
`;

/** Keeps the newer of two snapshots. KEYS: snapshot. ARGV: version, JSON. */
const SAVE_SNAPSHOT_LUA = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2])
  return 1
end
return 0
`;

/**
 * Redis lost the log (restarted without persistence, flushed): its version counter is behind a
 * hub's table. The hub raises it to its own version and saves its table as the snapshot, so
 * appends go on from there and every hub keeps one version sequence. The highest hub wins.
 * KEYS: version, snapshot. ARGV: version, JSON.
 */
const RESEED_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'v', ARGV[1], 's', ARGV[2])
return 1
`;

export class FencedError extends CodedError<'fenced'> {
  override readonly name = 'FencedError';
  constructor(message: string) {
    super('fenced', message);
  }
}

/** What a read found after `afterVersion`: the next deltas in order, or a gap (trimmed away: take the snapshot). */
export type LogRead = { kind: 'deltas'; deltas: VersionedDelta[] } | { kind: 'gap'; firstVersion: number };

type StreamEntries = [id: string, fields: string[]][];

function toVersioned(entries: StreamEntries): VersionedDelta[] {
  return entries.map(([id, fields]) => {
    const i = fields.indexOf('d');
    return { v: Number(id.slice(0, id.indexOf('-'))), d: JSON.parse(fields[i + 1]!) as Delta };
  });
}

/** The deltas after `afterVersion` if they follow it without a hole, else a gap. */
function checkContiguous(afterVersion: number, deltas: VersionedDelta[]): LogRead {
  if (deltas.length > 0 && deltas[0]!.v !== afterVersion + 1) return { kind: 'gap', firstVersion: deltas[0]!.v };
  return { kind: 'deltas', deltas };
}

export class RedisDeltaLog {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #maxLen: number;

  constructor(redis: Redis, keys: ClusterKeys, maxLen = DEFAULT_LOG_MAX_LEN) {
    this.#redis = redis;
    this.#keys = keys;
    this.#maxLen = maxLen;
  }

  /** Appends in order and returns the versions given. Rejects while Redis is unreachable (nothing appended). */
  async append(deltas: readonly Delta[], fenceHolder?: string): Promise<number[]> {
    if (deltas.length === 0) return [];
    const k = this.#keys;
    try {
      const versions = (await this.#redis.eval(
        APPEND_LUA,
        3,
        k.tableVersion,
        k.tableLog,
        k.rotationLease,
        String(this.#maxLen),
        fenceHolder ?? '',
        ...deltas.map((d) => JSON.stringify(d)),
      )) as number[];
      return versions.map(Number);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('FENCED')) throw new FencedError(err.message.slice(7));
      throw err;
    }
  }

  /** The last version handed out (0 for a new cluster). */
  async version(): Promise<number> {
    return Number((await this.#redis.get(this.#keys.tableVersion)) ?? 0);
  }

  /**
   * Deltas after `afterVersion`, waiting up to `blockMs` for one when there is none yet (0 = do
   * not wait). Use a client from `connectBlockingRedis` when blocking.
   */
  async readAfter(afterVersion: number, blockMs = 0, redis: Redis = this.#redis): Promise<LogRead> {
    const id = `${afterVersion}-1`;
    const reply = (
      blockMs > 0
        ? await redis.xread('COUNT', LOG_READ_COUNT, 'BLOCK', blockMs, 'STREAMS', this.#keys.tableLog, id)
        : await redis.xread('COUNT', LOG_READ_COUNT, 'STREAMS', this.#keys.tableLog, id)
    ) as [string, StreamEntries][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    return checkContiguous(afterVersion, toVersioned(entries));
  }

  /** After Redis lost its data: raise the version counter to `s.version` and save `s`, unless Redis is already there. True when it did. */
  async reseed(s: TableSnapshot): Promise<boolean> {
    const k = this.#keys;
    return Number(await this.#redis.eval(RESEED_LUA, 2, k.tableVersion, k.tableSnapshot, String(s.version), JSON.stringify(s))) === 1;
  }

  /** Saves a snapshot unless a newer one is there. */
  async saveSnapshot(s: TableSnapshot): Promise<boolean> {
    const r = await this.#redis.eval(SAVE_SNAPSHOT_LUA, 1, this.#keys.tableSnapshot, String(s.version), JSON.stringify(s));
    return Number(r) === 1;
  }

  async loadSnapshot(): Promise<TableSnapshot | null> {
    const s = await this.#redis.hget(this.#keys.tableSnapshot, 's');
    return s === null ? null : (JSON.parse(s) as TableSnapshot);
  }

  /**
   * Where a hub that starts or fell behind picks up: the newest snapshot (or an empty table) and
   * the deltas after it. A gap here means the snapshot is older than the log's tail; the hub that
   * holds the rotation lease saves one every `maxLen / 4` versions, so a retry finds a newer one.
   */
  async catchUp(): Promise<{ snapshot: TableSnapshot | null; read: LogRead }> {
    const snapshot = await this.loadSnapshot();
    const from = snapshot?.version ?? 0;
    return { snapshot, read: await this.readAfter(from) };
  }

  /** How often (in versions) the lease holder should save a snapshot so catch-up never meets a gap. */
  get snapshotEvery(): number {
    return Math.max(1, Math.floor(this.#maxLen / 4));
  }
}
