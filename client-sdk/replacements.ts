// Replaces lost uploads: asks the hub for entry servers until two uploads are placed again, backing off after a refusal,
// at most MAX_REPLACEMENTS times a publish. Which uploads an answer starts is replacement-plan.ts's.
import type { PublishReply } from '../signaling/protocol/messages.js';
import { backoffMs, delay } from '../common/retry.js';
import type { PublishAck } from './hub-replies.js';
import { MAX_REPLACEMENTS, REPLACE_RETRY_BASE_MS, type FailoverInfo } from './publisher-types.js';
import { stripOk } from './publish-request.js';
import { replacementPlan } from './replacement-plan.js';
import type { ResendBuffer } from './resend-buffer.js';
import type { UploadSet } from './upload.js';

/** Replacement requests back off from REPLACE_RETRY_BASE_MS, doubling, at most 16× that. */
const REPLACE_BACKOFF = { baseMs: REPLACE_RETRY_BASE_MS, maxMs: REPLACE_RETRY_BASE_MS * 16 } as const;

/** What the replacements read of their Publisher and tell it. */
export interface ReplacementHost {
  readonly uploads: UploadSet;
  readonly buffer: ResendBuffer;
  /** close() ran. */
  readonly closed: boolean;
  /** end() was called. */
  readonly ending: boolean;
  /** Asks the hub once for entry servers, passing over the servers in `exclude`. */
  ask(exclude: readonly string[]): Promise<PublishAck>;
  /** Gives a hub session back. */
  leave(sessionId: string): void;
  /** The hub's answer to a replacement request (the `assigned` event). */
  assigned(reply: PublishReply): void;
  /** An upload replaces a lost one (the `failover` event). */
  failover(f: FailoverInfo): void;
  /** Starts an upload to `choice`. */
  connect(choice: PublishReply['primary'], role: 'primary' | 'backup'): void;
  warn(code: string, message: string): void;
  fatal(code: string, message: string): void;
  /** A round of requests ended: the end may be due now. */
  settled(): void;
}

export class Replacements {
  readonly #host: ReplacementHost;
  /** Every failover so far, oldest first (the publish's result lists them). */
  readonly failovers: FailoverInfo[] = [];
  #running = false;
  /** The running round asks again after a refusal (an upload was lost), or stops at the first. */
  #persist = true;
  /** Requests made so far. */
  #asked = 0;

  constructor(host: ReplacementHost) {
    this.#host = host;
  }

  /** A round of requests is running. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Fewer than two uploads are alive: ask the hub for replacements (excluding every server that failed). `persist`
   * false (a second copy wanted, no upload lost): a refusal ends the round, unless an upload fails meanwhile.
   */
  async run(persist = true): Promise<void> {
    const h = this.#host;
    if (this.#running) this.#persist ||= persist;
    if (this.#running || h.closed) return;
    this.#running = true;
    this.#persist = persist;
    try {
      // Counted against the uploads the hub still places: one whose server it dropped gets its replacement at once.
      while (!h.closed && h.uploads.placed().length < 2 && this.#asked < MAX_REPLACEMENTS) {
        // After end() a new copy can be made only while the stream can be sent whole (held, or read again from a file):
        // then a copy lost at the end (or after it, a server that never confirmed it) is made again on another server.
        if (h.ending && h.uploads.alive().length > 0 && h.buffer.resendFrom > 0) break;
        this.#asked++;
        // Servers that failed the stream, and those that stored it already (the hub may not know it yet).
        const r = await h.ask([...new Set([...h.uploads.dead(), ...h.uploads.stored()])]);
        if (h.closed) {
          // Closed (or ended) while asking: give back what the hub opened meanwhile.
          if (r.ok) for (const c of [r.primary, r.backup]) if (c) h.leave(c.sessionId);
          return;
        }
        if (!r.ok) {
          h.warn(r.code, r.message);
          if (h.uploads.alive().length === 0 && (r.code === 'no-ingest' || this.#asked >= MAX_REPLACEMENTS)) {
            return h.fatal(r.code, `every entry server failed and no replacement is available: ${r.message}`);
          }
          // The stream is over and stored: only an answer that never came is worth asking again (the hub connection
          // was moving); a refusal (no other server, the id) stands, and the end is not held up for it.
          if ((h.ending && h.uploads.stored().length > 0 && r.code !== 'timeout') || !this.#persist) break;
          await delay(backoffMs(this.#asked - 1, REPLACE_BACKOFF));
          continue;
        }
        h.assigned(stripOk(r));
        const need = 2 - h.uploads.placed().length;
        const plan = replacementPlan(r, h.uploads, h.uploads.dead(), this.failovers, need);
        // A hub that no longer knows our sessions (another hub of the cluster, or after the end) may name two servers,
        // or one that already has our copy: only what is missing is started, the other sessions are given back.
        for (const c of [r.primary, r.backup])
          if (c && !h.uploads.has(c.sessionId) && !plan.some((p) => p.choice === c)) h.leave(c.sessionId);
        for (const { choice, role, failover } of plan) {
          this.failovers.push(failover);
          h.failover(failover);
          h.connect(choice, role);
        }
        if (plan.length === 0 && !this.#persist) break;
        if (plan.length === 0) await delay(backoffMs(this.#asked - 1, REPLACE_BACKOFF));
      }
      if (h.uploads.alive().length === 0) h.fatal('no-ingest', 'every entry server failed');
    } finally {
      this.#running = false;
      h.settled();
    }
  }
}
