// Cluster authentication: a media server proves it holds its own server key — HMAC(cluster secret, its id) — with an
// HMAC-signed, expiring, single-use token; no key travels. A server given only its key (`baton server-key`) can sign
// for its own id and no other, so one compromised server cannot pose as another or as a hub.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SERVER_ID_PATTERN } from './protocol/ids.js';
import { CodedError } from '../common/coded-error.js';

/** How long a freshly minted token is valid. */
export const TOKEN_TTL_MS = 30_000;
/** Tokens claiming an expiry further out than this are refused (clock abuse). */
export const TOKEN_MAX_TTL_MS = 5 * 60_000;
/** Shortest cluster secret (and operator token) the CLI accepts, bytes: 128 bits of guessing. */
export const MIN_SECRET_BYTES = 16;

export class AuthError extends CodedError<'unauthorized'> {
  override readonly name = 'AuthError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('unauthorized', message, options);
  }
}

/**
 * A media server's own key: what its tokens are signed with, made from the cluster secret and its id (43 base64url
 * characters). Hubs make it again from the id a token names; a server needs only its own.
 */
export function serverKeyFor(clusterSecret: string, serverId: string): string {
  return createHmac('sha256', clusterSecret).update(`baton-server-key.${serverId}`).digest('base64url');
}

/** What a media server signs its tokens with: the cluster secret (its key is made from it), or only its key. */
export type ServerCredential = { clusterSecret: string } | { serverKey: string };

/** A token for `serverId` minted from the cluster secret (servers, tests and tools that hold it). */
export function mintServerToken(clusterSecret: string, serverId: string, nowMs: number, ttlMs = TOKEN_TTL_MS): string {
  return mintWithServerKey(serverKeyFor(clusterSecret, serverId), serverId, nowMs, ttlMs);
}

/** `baton2.<serverId>.<expiresAtMs>.<nonce>.<hmac-sha256 hex with the server's key>` */
export function mintWithServerKey(serverKey: string, serverId: string, nowMs: number, ttlMs = TOKEN_TTL_MS): string {
  const body = `baton2.${serverId}.${nowMs + ttlMs}.${randomBytes(12).toString('base64url')}`;
  return `${body}.${sign(serverKey, body)}`;
}

/** The one credential of `o`; throws when it has neither or both. */
export function serverCredential(o: { clusterSecret?: string; serverKey?: string }): ServerCredential {
  if (o.clusterSecret && o.serverKey) throw new AuthError('give a media server the cluster secret or its server key, not both');
  if (o.serverKey) return { serverKey: o.serverKey };
  if (o.clusterSecret) return { clusterSecret: o.clusterSecret };
  throw new AuthError('a media server needs the cluster secret or its server key');
}

/** Mints a fresh token for `serverId` at each call, from whichever credential the server was given. */
export function serverTokenMinter(credential: ServerCredential, serverId: string): () => string {
  const key = 'serverKey' in credential ? credential.serverKey : serverKeyFor(credential.clusterSecret, serverId);
  return () => mintWithServerKey(key, serverId, Date.now());
}

/**
 * Verifies tokens and remembers the nonces it has accepted until they expire,
 * so a captured token cannot be replayed.
 */
export class TokenVerifier {
  readonly #secret: string;
  readonly #seen = new Map<string, number>();

  constructor(secret: string) {
    if (!secret) throw new AuthError('a cluster secret is required');
    this.#secret = secret;
  }

  /** Returns the server id the token was minted for, or throws AuthError with a reason. */
  verify(token: unknown, nowMs: number): string {
    return this.accept(token, nowMs).serverId;
  }

  /** As `verify`, with the nonce and expiry (several hubs also remember the nonce in Redis). */
  accept(token: unknown, nowMs: number): { serverId: string; nonce: string; expiresAtMs: number } {
    if (typeof token !== 'string' || token.length > 512) throw new AuthError('missing cluster token');
    const parts = token.split('.');
    // baton1: signed with the cluster secret itself, by servers of earlier versions (a rolling upgrade).
    if (parts.length !== 5 || (parts[0] !== 'baton2' && parts[0] !== 'baton1')) throw new AuthError('malformed cluster token');
    const [version, serverId, expiresRaw, nonce, mac] = parts as [string, string, string, string, string];
    if (!SERVER_ID_PATTERN.test(serverId)) throw new AuthError('token names an invalid server id');
    const key = version === 'baton2' ? serverKeyFor(this.#secret, serverId) : this.#secret;
    const expected = sign(key, parts.slice(0, 4).join('.'));
    const a = Buffer.from(mac, 'utf8');
    const b = Buffer.from(expected, 'utf8');
    if (a.length !== b.length || !timingSafeEqual(a, b))
      throw new AuthError(`bad cluster secret or server key for ${serverId} (token signature mismatch)`);
    const expiresAtMs = Number(expiresRaw);
    if (!Number.isSafeInteger(expiresAtMs)) throw new AuthError('malformed cluster token');
    if (expiresAtMs <= nowMs) throw new AuthError(`cluster token expired${clockHint(expiresAtMs - TOKEN_TTL_MS - nowMs)}`);
    if (expiresAtMs - nowMs > TOKEN_MAX_TTL_MS)
      throw new AuthError(`cluster token expiry too far in the future${clockHint(expiresAtMs - TOKEN_TTL_MS - nowMs)}`);
    this.#prune(nowMs);
    if (this.#seen.has(nonce)) throw new AuthError('cluster token replayed');
    this.#seen.set(nonce, expiresAtMs);
    return { serverId, nonce, expiresAtMs };
  }

  #prune(nowMs: number): void {
    for (const [nonce, exp] of this.#seen) if (exp <= nowMs) this.#seen.delete(nonce);
  }
}

/**
 * A server mints its token `TOKEN_TTL_MS` before the expiry it writes, by its own clock: how far that is from the
 * hub's now is how far the two clocks differ (or, behind, how long the token took to arrive). Said in the refusal,
 * which the server prints as it exits: "cluster token expired" alone sent operators to the secret, not the clock.
 */
function clockHint(mintedVsNowMs: number): string {
  const s = Math.round(Math.abs(mintedVsNowMs) / 1000);
  const side = mintedVsNowMs < 0 ? 'behind' : 'ahead of';
  return (
    ` (minted ${s} s ${mintedVsNowMs < 0 ? 'before' : 'after'} this hub's now: the media server's clock is about ${s} s ${side} the hub's` +
    `${mintedVsNowMs < 0 ? ', or its connection took that long' : ''}; keep both in sync with NTP, e.g. chrony or systemd-timesyncd)`
  );
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
