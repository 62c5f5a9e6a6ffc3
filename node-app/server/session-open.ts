// A hub's `session-open` as a media server reads and answers it: parsed by its schema (or refused), then
// opened as a broadcast or a watch, the watch's offer answered in the ack when the answer comes in time.
import {
  ErrorCode,
  ackError,
  sessionOpenSchema,
  type Ack,
  type AckError,
  type SessionOpen,
  type SessionOpenAccepted,
} from '../../signaling/protocol/index.js';
import type { IngestManager } from '../ingest/ingest-manager.js';
import type { IceFilter } from '../webrtc/ice-filter.js';
import type { ViewerSessions } from './viewer-sessions.js';

/**
 * The hub validates, but a server trusts no input: a malformed open must not
 * throw. An asset id that could name a path is refused exactly like an id this
 * server does not store (`unknown-asset`); anything else malformed is a
 * `bad-request`.
 */
export function readSessionOpen(raw: unknown): { ok: true; msg: SessionOpen } | { ok: false; refusal: AckError } {
  const p = sessionOpenSchema.safeParse(raw);
  if (p.success) return { ok: true, msg: p.data };
  const assetId = raw !== null && typeof raw === 'object' ? (raw as { assetId?: unknown }).assetId : undefined;
  if (typeof assetId === 'string' && p.error.issues.every((i) => i.path[0] === 'assetId')) {
    const id = assetId.slice(0, 64);
    return { ok: false, refusal: ackError(ErrorCode.unknownAsset, `asset ${JSON.stringify(id)} is not stored here`) };
  }
  return { ok: false, refusal: ackError(ErrorCode.badRequest, `malformed session-open: ${p.error.issues[0]?.message ?? 'invalid'}`) };
}

/**
 * The longest a session-open's ack waits for the answer to the viewer's offer (made in a few ms): past it the
 * ack goes without, and the answer follows through the relay. Well inside the hub's SESSION_OPEN_TIMEOUT_MS.
 */
export const ANSWER_IN_ACK_WAIT_MS = 250;

export interface SessionOpenParts {
  /** The server is shutting down: nothing new is opened. */
  closed: boolean;
  ingest: Pick<IngestManager, 'open'>;
  viewers: Pick<ViewerSessions, 'open' | 'get'>;
  iceFilter: Pick<IceFilter, 'filterSignal'>;
}

/** Answers a hub's `session-open`: a broadcast goes to ingest, a watch to the viewer sessions. */
export function openSession(raw: unknown, ack: (r: Ack<SessionOpenAccepted>) => void, parts: SessionOpenParts): void {
  if (typeof ack !== 'function') return;
  if (parts.closed) return ack(ackError(ErrorCode.noCapacity, 'server is shutting down'));
  const p = readSessionOpen(raw);
  if (!p.ok) return ack(p.refusal);
  const msg = p.msg;
  if (msg.kind === 'publish') return ack(parts.ingest.open(msg));
  if (msg.kind !== 'watch') return ack(ackError(ErrorCode.badRequest, `session kind ${msg.kind} is not served here yet`));
  const opened = parts.viewers.open(msg);
  // The viewer's offer came with the session: answer it in the ack (the hub puts it in the watch reply). Only an offer
  // (rebuilt as `{type, sdp}`): a candidate or anything else in its place is dropped.
  const signal = opened.ok && msg.offer ? parts.iceFilter.filterSignal(msg.offer) : null;
  const offer = signal?.type === 'offer' ? signal : null;
  const session = offer ? parts.viewers.get(msg.sessionId) : undefined;
  if (!session) return ack(opened);
  void session.answer(offer, ANSWER_IN_ACK_WAIT_MS).then((answer) => ack(answer ? { ok: true, answer } : { ok: true }));
}
