// What one hub writes into other hubs' inboxes (`HubMesh`): a turn's messages for one hub as one stream entry, bounded while Redis is away.
import type { Redis } from 'ioredis';
import type { Envelope } from './mesh-envelope.js';

/** Messages written and not yet taken by Redis (it is away); past this a message is dropped and counted. */
export const MAX_UNSENT = 10_000;
/** Every write to an inbox sets its expiry to this: an inbox goes this long after its last message, its hub alive or dead. */
export const INBOX_TTL_MS = 60_000;
/** An inbox keeps about this many entries (XADD MAXLEN ~): ≈ 3 s at 2,000 joins/s aimed at one hub. */
export const INBOX_MAX_LEN = 20_000;
/**
 * Messages for one hub written in one event-loop turn go in one entry, up to this many: one XADD
 * and one stream entry for the lot, rather than one per message (under load a turn handles many).
 */
export const MAX_MESSAGES_PER_ENTRY = 16;
/**
 * A message nobody waits for (a session's close) waits up to this long for another message to the
 * same hub and goes in its entry, ahead of it: each entry costs both hubs a write and a read of Redis.
 */
export const LAZY_MS = 20;

/** One entry's messages, in order: a lone message is field `m`, several are `b` (a JSON array). */
/** XADD (approximately trimmed) and PEXPIRE of one inbox, atomically. */
const INBOX_ADD_LUA = `redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3])
return redis.call('PEXPIRE', KEYS[1], ARGV[4])`;

export function readEntry(fields: readonly string[]): Envelope[] {
  const raw = fields[1];
  if (raw === undefined) return [];
  const parsed = JSON.parse(raw) as Envelope | Envelope[];
  return fields[0] === 'b' && Array.isArray(parsed) ? parsed : [parsed as Envelope];
}

export class InboxWriter {
  readonly #redis: Redis;
  readonly #inbox: (hub: string) => string;
  readonly #maxUnsent: number;
  readonly #count: (what: 'sent' | 'dropped') => void;
  /** Messages posted and not yet taken by Redis. */
  #unsent = 0;
  /** Messages waiting, by destination hub, in the order posted. */
  readonly #outgoing = new Map<string, Envelope[]>();
  /** Hubs with a message that must go at the end of this turn (the rest wait for LAZY_MS). */
  readonly #urgent = new Set<string>();
  #flushScheduled = false;
  #lazyTimer: NodeJS.Timeout | undefined;

  /** `redis` must not auto-pipeline: that would hold each entry back one more turn. */
  constructor(redis: Redis, inbox: (hub: string) => string, maxUnsent: number, count: (what: 'sent' | 'dropped') => void) {
    this.#redis = redis;
    this.#inbox = inbox;
    this.#maxUnsent = maxUnsent;
    this.#count = count;
  }

  /**
   * Queues `e` for `hub`'s inbox, written at the end of this turn (`lazy`: with the next message to
   * that hub, at most LAZY_MS later), or drops it past the bound on unsent messages.
   */
  post(hub: string, e: Envelope, lazy = false): void {
    if (this.#unsent >= this.#maxUnsent) {
      this.#count('dropped');
      return;
    }
    this.#unsent++;
    this.#count('sent');
    const queued = this.#outgoing.get(hub);
    if (queued) queued.push(e);
    else this.#outgoing.set(hub, [e]);
    if ((queued?.length ?? 1) >= MAX_MESSAGES_PER_ENTRY) this.#write(hub);
    else if (lazy) {
      this.#lazyTimer ??= setTimeout(() => {
        this.#lazyTimer = undefined;
        this.flush();
      }, LAZY_MS);
    } else {
      this.#urgent.add(hub);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          for (const h of [...this.#urgent]) this.#write(h);
        });
      }
    }
  }

  /** Writes what waits now (the hub is stopping). */
  flush(): void {
    for (const hub of [...this.#outgoing.keys()]) this.#write(hub);
  }

  #write(hub: string): void {
    this.#urgent.delete(hub);
    const batch = this.#outgoing.get(hub);
    if (!batch) return;
    this.#outgoing.delete(hub);
    const [field, value] = batch.length === 1 ? ['m', JSON.stringify(batch[0])] : ['b', JSON.stringify(batch)];
    // One script: an entry never lands in a stream without an expiry (the hub it is for may be dead, or die now),
    // and one command with one reply costs both ends less than MULTI, XADD, PEXPIRE and EXEC with their four.
    this.#redis
      .eval(INBOX_ADD_LUA, 1, this.#inbox(hub), INBOX_MAX_LEN, field, value, INBOX_TTL_MS)
      .catch(() => {
        for (let i = 0; i < batch.length; i++) this.#count('dropped');
      })
      .finally(() => {
        this.#unsent -= batch.length;
      });
  }
}
