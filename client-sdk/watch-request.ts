// One `watch` asked of the hub: the ack with a timeout, a hand check of its shape, and retries on transient refusals.
import { retry } from '../common/retry.js';
import type { WatchReply, WatchRequest } from '../signaling/protocol/messages.js';
import type { Ack } from '../signaling/protocol/types.js';
import type { ViewerSocket } from './viewer-types.js';

/** No answer to `watch` within this long counts as a `timeout` (retried). */
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

/** Hub answers worth asking again for (the cluster is changing, not the request wrong). */
const RETRYABLE = new Set(['no-capacity', 'no-director', 'timeout', 'stale-epoch', 'internal', 'rate-limited']);

export type WatchAnswer = Ack<WatchReply>;

/**
 * Asks the hub for a server up to `MAX_WATCH_ATTEMPTS` times, `WATCH_RETRY_BASE_MS` doubling between
 * tries, while the answer is a transient refusal (`RETRYABLE`). Never rejects: a timeout, a throwing
 * socket or a malformed ack is a refusal. Once `stopped()` (the viewer closed) it asks no more and
 * resolves with the last answer; the caller leaves a session it no longer wants.
 */
export function askWatch(socket: ViewerSocket, req: WatchRequest, stopped: () => boolean): Promise<WatchAnswer> {
  return retry(() => watchOnce(socket, req), {
    attempts: MAX_WATCH_ATTEMPTS,
    baseMs: WATCH_RETRY_BASE_MS,
    retryIf: (r) => r.ok && !r.value.ok && RETRYABLE.has(r.value.code),
    stopped,
  });
}

function watchOnce(socket: ViewerSocket, req: WatchRequest): Promise<WatchAnswer> {
  return new Promise<WatchAnswer>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, code: 'timeout', message: 'the hub did not answer watch' }), WATCH_ACK_TIMEOUT_MS);
    try {
      socket.emit('watch', req, (r: WatchAnswer) => {
        clearTimeout(timer);
        resolve(isWatchAnswer(r) ? r : { ok: false, code: 'internal', message: 'malformed watch reply' });
      });
    } catch (err) {
      clearTimeout(timer);
      resolve({ ok: false, code: 'internal', message: (err as Error).message });
    }
  });
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
