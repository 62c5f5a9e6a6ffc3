// With several hubs, a WHIP/WHEP resource lives on the hub that took its POST, but a load balancer without sticky
// sessions sends its DELETE to any hub: the resource id names its hub, and another hub relays the request there.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { fail } from './sdp-http.js';

/** What a request relayed to another hub may take beyond the request itself there (the hops through Redis), ms. */
export const FORWARD_MARGIN_MS = 5_000;

/** What a relayed request's body may hold, bytes (a WHIP offer is at most MAX_WHIP_SDP_BYTES, 32 KiB). */
export const MAX_FORWARDED_BODY_BYTES = 64 * 1024;

/**
 * What of a resource request (DELETE, OPTIONS, … on `/whip|whep/<id>/<resource>`) travels to the hub that holds it;
 * a WHIP resume (POST on `/whip/<id>?location=…`) also takes its body, content type and the client's address.
 */
export interface ResourceRequest {
  method: string;
  /** With the query. */
  path: string;
  authorization?: string;
  contentType?: string;
  body?: string;
  /** The client's address as the hub it reached saw it (behind its trusted proxies). */
  ip?: string;
}

/** What that hub answered. */
export interface ForwardedAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** `<hubId>.<random>` when the hub is one of several (the random part, base64url, has no dot), else `<random>`. */
export function mintResourceId(hubId: string | undefined): string {
  const id = randomBytes(12).toString('base64url');
  return hubId ? `${hubId}.${id}` : id;
}

/** The hub a resource id was minted by, when it names one. */
export function resourceHubOf(resourceId: string): string | undefined {
  const dot = resourceId.lastIndexOf('.');
  return dot > 0 ? resourceId.slice(0, dot) : undefined;
}

export function resourceRequestOf(req: IncomingMessage, path: string): ResourceRequest {
  const authorization = req.headers.authorization;
  return { method: req.method ?? 'GET', path, ...(authorization ? { authorization } : {}) };
}

/** Whether a value read from another hub is a ResourceRequest (Redis is trusted, its shape is still checked). */
export function isResourceRequest(v: unknown): v is ResourceRequest {
  const r = v as Partial<ResourceRequest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.method === 'string' &&
    r.method.length <= 16 &&
    typeof r.path === 'string' &&
    r.path.length <= 2048 &&
    (r.authorization === undefined || (typeof r.authorization === 'string' && r.authorization.length <= 1024)) &&
    (r.contentType === undefined || (typeof r.contentType === 'string' && r.contentType.length <= 256)) &&
    (r.body === undefined || (typeof r.body === 'string' && r.body.length <= MAX_FORWARDED_BODY_BYTES)) &&
    (r.ip === undefined || (typeof r.ip === 'string' && r.ip.length <= 64))
  );
}

export function isForwardedAnswer(v: unknown): v is ForwardedAnswer {
  const a = v as Partial<ForwardedAnswer> | null;
  return typeof a === 'object' && a !== null && Number.isInteger(a.status) && typeof a.headers === 'object' && typeof a.body === 'string';
}

/** The response a relayed request is answered on: records the answer, and emits 'finish' as a real one does. */
class AnswerRecorder extends EventEmitter {
  readonly #answer: ForwardedAnswer;
  readonly #done: (a: ForwardedAnswer) => void;
  #sent = false;

  constructor(answer: ForwardedAnswer, done: (a: ForwardedAnswer) => void) {
    super();
    this.#answer = answer;
    this.#done = done;
  }

  get headersSent(): boolean {
    return this.#sent;
  }

  get statusCode(): number {
    return this.#answer.status;
  }

  setHeader(name: string, value: string | string[]): this {
    this.#answer.headers[name.toLowerCase()] = value;
    return this;
  }

  writeHead(status: number, headers: Record<string, string | string[]> = {}): this {
    this.#answer.status = status;
    for (const [k, v] of Object.entries(headers)) this.#answer.headers[k.toLowerCase()] = v;
    this.#sent = true;
    return this;
  }

  end(body?: string): this {
    this.#sent = true;
    this.#answer.body = body ?? '';
    this.#done(this.#answer);
    this.emit('finish');
    return this;
  }
}

/**
 * Runs `handle` (a route's own request handler) for a request another hub relayed, and resolves with what it
 * answered: the same code path, checks and all, as a request that came here.
 */
export function answerHere(handle: (req: IncomingMessage, res: ServerResponse) => void, r: ResourceRequest): Promise<ForwardedAnswer> {
  return new Promise((resolve) => {
    const answer: ForwardedAnswer = { status: 200, headers: {}, body: '' };
    const res = new AnswerRecorder(answer, resolve);
    const headers = {
      ...(r.authorization ? { authorization: r.authorization } : {}),
      ...(r.contentType ? { 'content-type': r.contentType } : {}),
    };
    // A stream, so that a route reads the body as it reads one that came here; the address is the one the first hub saw.
    const req = Object.assign(Readable.from(r.body ? [Buffer.from(r.body)] : []), {
      method: r.method,
      url: r.path,
      headers,
      socket: { remoteAddress: r.ip },
    });
    handle(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
}

/** Writes another hub's answer as this hub's. */
export function sendAnswer(res: ServerResponse, a: ForwardedAnswer): void {
  if (res.headersSent) return void res.end();
  res.writeHead(a.status, a.headers);
  res.end(a.body);
}

/** Forwards a resource request to the hub `owner` over the hub mesh; answers what it answered, or 502. */
export type ResourceForward = (owner: string, route: 'whip' | 'whep', r: ResourceRequest, timeoutMs: number) => Promise<ForwardedAnswer>;

/**
 * When `resourceId` is not held here but names another hub (several hubs), relays the request to that hub, writes
 * its answer (or 502; `headers` go with a failure: the route's CORS) and returns true. `timeoutMs`: what the
 * request may take there.
 */
export function relayedElsewhere(
  host: { hubId?: string; forward?: ResourceForward },
  route: 'whip' | 'whep',
  resourceId: string,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): boolean {
  const owner = resourceHubOf(resourceId);
  if (!owner || owner === host.hubId || !host.forward) return false;
  relayTo(host.forward, owner, route, resourceRequestOf(req, path), timeoutMs, res, `this ${route.toUpperCase()} resource`, headers);
  return true;
}

/**
 * Relays `r` to the hub `owner` and writes its answer as this hub's, or 502 when it did not answer (`what`: what that
 * hub holds, for the message; `headers` go with the 502). `timeoutMs`: what the request may take there.
 */
export function relayTo(
  forward: ResourceForward,
  owner: string,
  route: 'whip' | 'whep',
  r: ResourceRequest,
  timeoutMs: number,
  res: ServerResponse,
  what: string,
  headers: Record<string, string> = {},
): void {
  forward(owner, route, r, timeoutMs + FORWARD_MARGIN_MS).then(
    (a) => sendAnswer(res, a),
    (err: Error) => fail(res, 502, `hub ${owner}, which holds ${what}, did not answer: ${err.message}`, headers),
  );
}

/**
 * A WHIP/WHEP resource request for a resource hub `owner` minted, relayed to it over `mesh`; 404 at once when the hub
 * list (`known`, undefined when it cannot be read) no longer has that hub.
 */
export async function forwardToOwner(
  known: readonly { id: string }[] | undefined,
  mesh:
    | { forwardResource(owner: string, route: 'whip' | 'whep', req: ResourceRequest, timeoutMs: number): Promise<ForwardedAnswer> }
    | undefined,
  owner: string,
  route: 'whip' | 'whep',
  req: ResourceRequest,
  timeoutMs: number,
): Promise<ForwardedAnswer> {
  if (known && !known.some((h) => h.id === owner))
    return {
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'access-control-allow-origin': '*' },
      body: `no such ${route.toUpperCase()} resource: hub ${owner}, which held it, is gone\n`,
    };
  if (!mesh) throw new Error('Redis is not connected');
  return mesh.forwardResource(owner, route, req, timeoutMs);
}
