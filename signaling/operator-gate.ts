// Who may see operator views (decisions, full state with server URLs, metrics, the dashboard):
// anyone on a loopback-only hub with no token set; otherwise only a holder of the operator token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Whether a bind address accepts only this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export type OperatorVerdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

export class OperatorGate {
  readonly #digest: Buffer | null;
  readonly #open: boolean;

  /**
   * `token` is required whenever it is set. Without one, operator views are open on a loopback
   * hub (`npm start`, development) and closed on any other bind address.
   */
  constructor(token: string | undefined, host: string) {
    this.#digest = token ? digest(token) : null;
    this.#open = !token && isLoopbackHost(host);
  }

  /** True when a token must be presented (and exists). */
  get tokenRequired(): boolean {
    return this.#digest !== null;
  }

  check(presented: string | undefined): OperatorVerdict {
    if (this.#open) return { ok: true };
    if (!this.#digest)
      return { ok: false, status: 403, message: 'operator views are closed: this hub is not on loopback and has no --operator-token' };
    // Digests have equal length, so the comparison takes the same time whatever was presented.
    if (presented && timingSafeEqual(digest(presented), this.#digest)) return { ok: true };
    return { ok: false, status: 401, message: 'operator token required (Authorization: Bearer <token>, or ?token=)' };
  }
}

/** The token an HTTP request presents: `Authorization: Bearer T`, else `?token=T`. */
export function requestToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const q = (req.url ?? '').indexOf('?');
  if (q < 0) return undefined;
  return new URLSearchParams((req.url ?? '').slice(q + 1)).get('token') ?? undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
