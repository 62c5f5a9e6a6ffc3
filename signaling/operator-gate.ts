// Who may see operator views (the hub's decisions, full state with server URLs, metrics and dashboard; a media
// server's table replica, status and metrics): on a process bound to loopback with no token set, this machine's own
// direct requests; otherwise only a holder of the operator token. The hub and `baton server` both use it.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isLoopbackIp } from '../common/loopback-ip.js';
import { isKeyOf, keyDigest } from './stream-owners.js';

/** Headers a reverse proxy adds to what it forwards (nginx, HAProxy, Caddy, Traefik, cloud load balancers). */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto'] as const;

/**
 * Whether a request is this machine's own: from a loopback address, naming a loopback host, and not forwarded by
 * a proxy. A hub bound to loopback behind nginx on the same host sees every client of the Internet arrive from
 * 127.0.0.1; only the proxy's headers (and the public name in Host) tell them apart.
 */
export function isDirectLocal(remoteAddress: string | undefined, headers: IncomingHttpHeaders): boolean {
  if (!remoteAddress || !isLoopbackIp(remoteAddress.replace(/^::ffff:/i, ''))) return false;
  // A page on another site whose name was rebound to 127.0.0.1 (DNS rebinding) reads the hub as same-origin: its
  // requests carry that site's name. This machine's own tools and pages name loopback.
  if (headers.host !== undefined && !isLoopbackHost(hostOf(headers.host))) return false;
  // A page of any other site may open a WebSocket to 127.0.0.1 without rebinding anything (CORS does not cover
  // WebSockets) and read the dashboard: its browser names that site in Origin. This machine's own pages name
  // loopback; tools (curl, Prometheus) send no Origin.
  if (headers.origin !== undefined && !isLoopbackOrigin(headers.origin)) return false;
  return forwardingHeader(headers) === undefined;
}

/** The first header a reverse proxy adds that a request carries (`x-forwarded-for`, `forwarded`, …), if any. */
export function forwardingHeader(headers: IncomingHttpHeaders): string | undefined {
  return FORWARDING_HEADERS.find((h) => headers[h] !== undefined);
}

/** Whether an Origin header names a page served from loopback (`null`, a sandboxed or file page, does not). */
function isLoopbackOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  return isLoopbackHost(new URL(origin).hostname);
}

/** The name in a Host header, without its port (`[::1]:8080` → `::1`). */
function hostOf(host: string): string {
  const v6 = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (v6) return v6[1]!;
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

/** Whether a bind address accepts only this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export type OperatorVerdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

export class OperatorGate {
  readonly #digest: Buffer | null;
  readonly #open: boolean;
  readonly #what: string;

  /**
   * `token` is required whenever it is set. Without one, operator views are open on a loopback
   * bind (`npm start`, development) to requests that are this machine's own (`isDirectLocal`), and
   * closed on any other bind address. `what` names the process in refusals (`hub`, `media server`).
   */
  constructor(token: string | undefined, host: string, what = 'hub') {
    this.#digest = token ? keyDigest(token) : null;
    this.#open = !token && isLoopbackHost(host);
    this.#what = what;
  }

  /** True when a token must be presented (and exists). */
  get tokenRequired(): boolean {
    return this.#digest !== null;
  }

  /** `local`: the request is this machine's own, not forwarded by a proxy (`isDirectLocal`). */
  check(presented: string | undefined, local: boolean): OperatorVerdict {
    if (this.#open && local) return { ok: true };
    if (this.#open)
      return {
        ok: false,
        status: 403,
        message: `operator views are closed to requests a proxy forwarded (X-Forwarded-For and the like), that name a host other than loopback or that come from a page of another site (Origin): this ${this.#what} has no --operator-token, so only direct requests from this machine see them`,
      };
    if (!this.#digest)
      return {
        ok: false,
        status: 403,
        message: `operator views are closed: this ${this.#what} is not on loopback and has no --operator-token`,
      };
    // Compared as digests (equal length), so the comparison takes the same time whatever was presented.
    if (presented && isKeyOf(this.#digest, presented)) return { ok: true };
    return { ok: false, status: 401, message: 'operator token required (Authorization: Bearer <token>, or ?token=)' };
  }

  /** `check` for an HTTP request: the token it presents (`requestToken`), and whether it is this machine's own. */
  checkRequest(req: IncomingMessage): OperatorVerdict {
    return this.check(requestToken(req), isDirectLocal(req.socket.remoteAddress, req.headers));
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
