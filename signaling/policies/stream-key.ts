// Broadcaster stream keys: configured ones, or keys signed with a secret that carry an expiry (and optionally a stream id).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Signed keys look like `bk1.<payload>.<signature>`, both base64url. */
export const SIGNED_KEY_PREFIX = 'bk1';

interface Payload {
  /** Expiry, ms since epoch. */
  exp: number;
  /** The only stream id this key may publish, when set. */
  sid?: string;
}

export type StreamKeyCheck = { ok: true; streamId?: string } | { ok: false; reason: 'unknown' | 'expired'; message: string };

/**
 * A key for `baton hub` with `BATON_STREAM_KEY_SECRET=secret`, valid until
 * `expiresAtMs`; with `streamId`, only for that stream.
 */
export function mintStreamKey(secret: string, opts: { expiresAtMs: number; streamId?: string }): string {
  const payload: Payload = { exp: Math.floor(opts.expiresAtMs) };
  if (opts.streamId) payload.sid = opts.streamId;
  const body = `${SIGNED_KEY_PREFIX}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${sign(secret, body)}`;
}

/**
 * A configured key (exact match), or a signed one with a valid signature (spelled exactly as minted) that
 * has not expired at `nowMs`. Never throws; the reason distinguishes expired keys
 * (worth telling the broadcaster) from everything else.
 */
export function verifyStreamKey(key: string, keys: ReadonlySet<string>, secret: string | undefined, nowMs: number): StreamKeyCheck {
  if (keys.has(key)) return { ok: true };
  const unknown: StreamKeyCheck = { ok: false, reason: 'unknown', message: 'unknown stream key' };
  if (!secret || !key.startsWith(`${SIGNED_KEY_PREFIX}.`)) return unknown;
  const cut = key.lastIndexOf('.');
  const body = key.slice(0, cut);
  // Compared as text, not as decoded bytes: Node's base64url decoding skips stray characters and padding, so
  // `<key>!` or `<key>=` would pass as the same key under another spelling, each counted as a key of its own
  // by the per-key broadcast cap.
  const given = Buffer.from(key.slice(cut + 1));
  const want = Buffer.from(sign(secret, body));
  if (given.length !== want.length || !timingSafeEqual(given, want)) return unknown;
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(body.slice(SIGNED_KEY_PREFIX.length + 1), 'base64url').toString('utf8')) as Payload;
  } catch {
    return unknown;
  }
  if (typeof payload?.exp !== 'number' || !Number.isFinite(payload.exp)) return unknown;
  if (payload.exp <= nowMs)
    return { ok: false, reason: 'expired', message: `stream key expired at ${new Date(payload.exp).toISOString()}` };
  return typeof payload.sid === 'string' ? { ok: true, streamId: payload.sid } : { ok: true };
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}
