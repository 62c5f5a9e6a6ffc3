// This hub's own inbox (`HubMesh`) read in order from start-up on, on a connection of its own that blocks, resumed after a Redis blip.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { connectBlockingRedis, whenRedisReady } from './connect.js';
import { readEntry } from './inbox-writer.js';
import type { Envelope } from './mesh-envelope.js';

const READ_BLOCK_MS = 1_000;
const READ_COUNT = 1_000;
const READ_RETRY_MS = 250;
/** The highest sequence number of a stream id (2^64 − 1): `<ms>-LAST_SEQ` is the last id of a millisecond. */
const LAST_SEQ = '18446744073709551615';

/** Hands each message of each entry to `deliver`; a message that throws is logged, the rest of its entry still goes. */
export class InboxReader {
  readonly #in: Redis;
  readonly #inbox: string;
  readonly #log: Logger;
  readonly #deliver: (e: Envelope) => void;
  #lastId = '0-0';
  #stopped = false;
  #reading: Promise<void> | undefined;

  constructor(url: string, inbox: string, log: Logger, deliver: (e: Envelope) => void) {
    this.#inbox = inbox;
    this.#log = log;
    this.#deliver = deliver;
    this.#in = connectBlockingRedis(url, READ_BLOCK_MS);
  }

  ready(): Promise<void> {
    return whenRedisReady(this.#in);
  }

  /** Starts reading; `clock` is a connection that does not block, whose Redis dates the start. */
  async start(clock: Redis): Promise<void> {
    // Read what arrives from now on (Redis's clock): an inbox left by an earlier run of this hub id is old news.
    // XREAD returns ids after this one, and a message written in this very millisecond is `<ms>-0`.
    const [s, us] = await clock.time();
    this.#lastId = `${Number(s) * 1000 + Math.floor(Number(us) / 1000) - 1}-${LAST_SEQ}`;
    this.#reading = this.#readLoop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#in.disconnect();
    await this.#reading?.catch(() => undefined);
  }

  /** One message of an entry: a failure is that message's alone, not the rest of its entry's. */
  #deliverOne(e: Envelope): void {
    try {
      this.#deliver(e);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cross-hub message not delivered');
    }
  }

  async #readLoop(): Promise<void> {
    while (!this.#stopped) {
      try {
        const r = (await this.#in.xread('COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.#inbox, this.#lastId)) as
          | [string, [string, string[]][]][]
          | null;
        for (const [id, fields] of r?.[0]?.[1] ?? []) {
          this.#lastId = id;
          try {
            for (const e of readEntry(fields)) this.#deliverOne(e);
          } catch (err) {
            this.#log.warn({ err: (err as Error).message }, 'cross-hub message not delivered');
          }
        }
      } catch {
        if (this.#stopped) return;
        await new Promise((res) => setTimeout(res, READ_RETRY_MS));
      }
    }
  }
}
