// Live copies that ended lately (their `live` entry left the table: finalized or given up), each stream's owner hashes
// and start kept a while: every hub reads every delta, so any hub can tell a stream's publisher, proving it with the
// stream's secret, from anyone else when it asks for one more copy of a stream that has just been stored.
import type { LiveInfo } from '../protocol/index.js';

/**
 * An ended copy's owner and start are kept this long: the publisher's end waits at most END_TIMEOUT_MS (60 s) for
 * its copies, so its request for a copy lost at the end comes well within it.
 */
export const ENDED_COPY_MS = 120_000;
/** Streams remembered at most (the oldest go first). */
export const MAX_ENDED_STREAMS = 10_000;
/** Owner hashes kept per stream (a stream has two entry servers and a few replacements). */
const MAX_OWNERS_PER_STREAM = 8;

export interface EndedStream {
  /** Owner hashes (sha256 hex of the stream secret) the ended copies carried. */
  owners: readonly string[];
  /** The earliest start they carried (ms since the epoch): the stream's start, for a new copy's quota. */
  startedAtMs: number;
}

export class EndedCopies {
  readonly #ended = new Map<string, { owners: string[]; startedAtMs: number; atMs: number }>();

  get size(): number {
    return this.#ended.size;
  }

  /** A copy's `live` entry left the table at `nowMs`. An entry without an owner proves nothing and is skipped. */
  note(info: LiveInfo, nowMs: number): void {
    if (!info.owner) return;
    const had = this.#ended.get(info.id);
    this.#ended.delete(info.id);
    const owners = had ? had.owners : [];
    if (!owners.includes(info.owner) && owners.length < MAX_OWNERS_PER_STREAM) owners.push(info.owner);
    const startedAtMs = had ? Math.min(had.startedAtMs, info.startedAtMs) : info.startedAtMs;
    this.#ended.set(info.id, { owners, startedAtMs, atMs: nowMs });
    for (const [id, e] of this.#ended) {
      if (this.#ended.size <= MAX_ENDED_STREAMS && nowMs - e.atMs <= ENDED_COPY_MS) break;
      this.#ended.delete(id);
    }
  }

  /** What ended of `streamId` within ENDED_COPY_MS, if anything. */
  get(streamId: string, nowMs: number): EndedStream | undefined {
    const e = this.#ended.get(streamId);
    if (!e) return undefined;
    if (nowMs - e.atMs > ENDED_COPY_MS) {
      this.#ended.delete(streamId);
      return undefined;
    }
    return { owners: [...e.owners], startedAtMs: e.startedAtMs };
  }
}
