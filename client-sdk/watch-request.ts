// One `watch` asked of the hub: the ack with a timeout, a hand check of its shape, and retries when the hub was not heard.
import { retry } from '../common/retry.js';
import type { WatchReply, WatchRequest } from '../signaling/protocol/messages.js';
import type { Ack } from '../signaling/protocol/types.js';
import { type AckedSocket, emitAcked } from './acked-emit.js';
import type { ViewerSocket } from './viewer-types.js';

/** No answer to `watch` within this long counts as a `timeout` (retried; at once when the hub connection drops). */
export const WATCH_ACK_TIMEOUT_MS = 10_000;
/**
 * The longest a watch request waits for the new peer's offer to travel with it. A Viewer's waits no longer
 * than the socket takes to connect either; a page's watch asked ahead (watch-ahead.ts) waits this long after the
 * connect, as its offer waits only for /api/config. An offer made later follows the reply through the hub's relay.
 */
export const OFFER_WAIT_MS = 500;
/** Attempts at one `watch` when the hub answers with a transient error. */
export const MAX_WATCH_ATTEMPTS = 4;
/** First retry delay; doubles per attempt. */
export const WATCH_RETRY_BASE_MS = 250;

/**
 * Hub refusals asked again: those given before the hub asked any director for this watch — it refused before routing
 * (`rate-limited`) or had no director to ask (`no-director`, answered only before the request's first ask). Any other
 * refusal (`no-capacity`, `timeout`, `stale-epoch`, `internal`, …) came after the hub spent the request's budget of
 * director asks and failovers (signaling/core/routing-budget.ts): asking again would repeat that budget wholesale.
 */
const RETRYABLE = new Set(['no-director', 'rate-limited']);
/**
 * A viewer resuming after its server died also asks again after `timeout` and `stale-epoch`: the dead server was
 * often the director, and its successor is named within a rotation. Failing the resume there would stop a stream
 * that another server could carry on at the same byte; a first click's refusal stays final.
 */
const RETRYABLE_RESUMING = new Set([...RETRYABLE, 'timeout', 'stale-epoch']);

export type WatchAnswer = Ack<WatchReply>;

/**
 * Asks the hub for a server up to `MAX_WATCH_ATTEMPTS` times, `WATCH_RETRY_BASE_MS` doubling between tries, while
 * the hub was not heard (no answer within `WATCH_ACK_TIMEOUT_MS`, a throwing socket, a malformed ack) or refused
 * before asking a director (`RETRYABLE`). Never rejects: not hearing the hub is a refusal. Once `stopped()` (the viewer
 * closed) it asks no more and resolves with the last answer; the caller leaves a session it no longer wants.
 */
export async function askWatch(socket: ViewerSocket, req: WatchRequest, stopped: () => boolean, resuming = false): Promise<WatchAnswer> {
  const retryable = resuming ? RETRYABLE_RESUMING : RETRYABLE;
  const last = await retry(() => watchOnce(socket, req), {
    attempts: MAX_WATCH_ATTEMPTS,
    baseMs: WATCH_RETRY_BASE_MS,
    retryIf: (r) => r.ok && (!r.value.heard || (!r.value.answer.ok && retryable.has(r.value.answer.code))),
    stopped,
  });
  return last.answer;
}

/** One `watch`; `heard`: the answer is the hub's (not a timeout, a dropped connection, a throw or a malformed ack of this side). */
async function watchOnce(socket: ViewerSocket, req: WatchRequest): Promise<{ answer: WatchAnswer; heard: boolean }> {
  const r = await emitAcked(socket as AckedSocket, 'watch', req, WATCH_ACK_TIMEOUT_MS);
  if ('lost' in r) return { answer: { ok: false, code: r.lost === 'threw' ? 'internal' : 'timeout', message: r.message }, heard: false };
  if (isWatchAnswer(r.ack)) return { answer: r.ack, heard: true };
  return { answer: { ok: false, code: 'internal', message: 'malformed watch reply' }, heard: false };
}

/** The ack's shape, checked by hand (what the viewer reads of it). */
export function isWatchAnswer(r: unknown): r is WatchAnswer {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  if (o.ok === false) return typeof o.code === 'string';
  if (o.ok !== true || typeof o.sessionId !== 'string') return false;
  if (o.answer !== undefined && (typeof o.answer !== 'object' || o.answer === null)) return false;
  const server = o.server as Record<string, unknown> | undefined;
  return !!server && typeof server.id === 'string';
}
