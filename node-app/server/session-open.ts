// A hub's `session-open` as a media server reads it: parsed by its schema, or the refusal to answer with.
import { ErrorCode, ackError, sessionOpenSchema, type AckError, type SessionOpen } from '../../signaling/protocol/index.js';

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
