// The hub's HTTP side: JSON API, health, readiness, Prometheus metrics, WHIP and the built web client.
// Routed by find-my-way (Fastify's router). Every request spends a token of its client IP's bucket;
// operator views need the operator token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { rebuildableStatic } from './static-files.js';
import { isAssetId, type DecisionEvent, type StateTable } from './protocol/index.js';
import { MAX_CATALOG_QUERY_CHARS } from '../common/catalog-search.js';
import { MAX_CATALOG_PAGE, SearchBusyError, type CatalogView } from './catalog-view.js';
import type { OperatorGate } from './operator-gate.js';
import type { HubMetrics } from './hub-metrics.js';
import type { WhipRoutes } from './whip-routes.js';
import type { WhepRoutes } from './whep-routes.js';
import type { Logger } from './log.js';

/** What the HTTP side reads of the hub (the `Hub` passes itself; the interface keeps this file from importing it). */
export interface HttpHost {
  readonly table: StateTable;
  readonly catalogView: CatalogView;
  readonly operatorGate: OperatorGate;
  readonly metrics: HubMetrics;
  readonly whip: WhipRoutes;
  readonly whep: WhepRoutes;
  readonly iceServers: RTCIceServer[];
  readonly decisions: readonly DecisionEvent[];
  readonly url: string;
  /** Where browsers and media servers reach this hub (`--public-url`, else `url`). */
  readonly publicUrl: string;
  /** Several hubs on Redis: whether Redis is reachable now. */
  readonly shared?: { readonly ready: boolean };
  takeHttpToken(req: IncomingMessage): boolean;
  apiState(): unknown;
  /** `shared`: a read of the hub list up to a second old, shared by the requests meanwhile (anonymous ones). */
  hubUrls(o?: { shared?: boolean }): Promise<string[]>;
  hubList(): Promise<unknown[]>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, query: Record<string, string | string[] | undefined>) => void;
const READ: FindMyWay.HTTPMethod[] = ['GET', 'HEAD'];

export function createHttpHandler(hub: HttpHost, staticDir: string | undefined, log?: Logger) {
  let lastScanError = '';
  // Told once per distinct error: a scan is retried every second while the directory cannot be walked.
  const scanFailed = (err: Error): void => {
    if (err.message === lastScanError) return;
    lastScanError = err.message;
    log?.warn({ dir: staticDir, err: err.message }, 'the web client directory cannot be read: not served until it can');
  };
  const assets = staticDir ? rebuildableStatic(staticDir, Date.now, scanFailed) : undefined;
  /** Anything no route takes: 405 for writes, 404 under /api/, else the web client. */
  const fallback = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path.startsWith('/api/')) return send(res, 404, { error: `no such endpoint: ${path.slice(0, 100)}` });
    const unbuilt = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Baton hub is running. The web client is not built: run `npm run build` (or `npm start`).\n');
    };
    if (!assets) return unbuilt();
    assets(req, res, () => send(res, 404, { error: 'not found' }), unbuilt);
  };
  const router = FindMyWay({
    defaultRoute: (req, res) => fallback(req, res, pathOf(req.url)),
    onBadUrl: (path, req, res) => fallback(req, res, path),
  });
  const open = (path: string, handler: Handler) => router.on(READ, path, (req, res, _params, _store, query) => handler(req, res, query));
  /** Operator views name servers' addresses and broadcasters' places. */
  const operator = (path: string, handler: Handler) =>
    open(path, (req, res, query) => {
      const v = hub.operatorGate.checkRequest(req);
      if (!v.ok) return send(res, v.status, { error: v.message });
      handler(req, res, query);
    });

  // Alive even while Redis is away: the hub then serves from its last table copy (degraded, not dead).
  open('/healthz', (_req, res) => send(res, 200, { ok: true, ...(hub.shared ? { redis: hub.shared.ready ? 'ok' : 'degraded' } : {}) }));
  open('/readyz', (_req, res) => {
    const ready = hub.table.size > 0 && hub.table.director !== null;
    send(res, ready ? 200 : 503, {
      ok: ready,
      servers: hub.table.size,
      director: hub.table.director?.id ?? null,
      ...(ready ? {} : { reason: hub.table.size === 0 ? 'no media server registered' : 'no director designated' }),
    });
  });
  open('/api/catalog', (_req, res, query) => {
    const repeated = ['limit', 'cursor', 'id', 'q'].find((k) => Array.isArray(query[k]));
    if (repeated) return send(res, 400, { error: `${repeated} is given more than once` });
    const limit = first(query.limit);
    const cursor = first(query.cursor);
    const id = first(query.id);
    const q = first(query.q);
    // Decimal digits only: Number() would also take `1e3`, `0x10` or ` 5`.
    const n = limit === undefined ? MAX_CATALOG_PAGE : /^[0-9]{1,4}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_CATALOG_PAGE)
      return send(res, 400, { error: `limit must be an integer in 1..${MAX_CATALOG_PAGE}` });
    if (cursor !== undefined && !isAssetId(cursor))
      return send(res, 400, { error: 'cursor must be an asset id (the `next` of the previous page)' });
    if (id !== undefined && !isAssetId(id)) return send(res, 400, { error: 'id must be an asset id' });
    if (q !== undefined && q.length > MAX_CATALOG_QUERY_CHARS)
      return send(res, 400, { error: `q (the search) is at most ${MAX_CATALOG_QUERY_CHARS} characters` });
    try {
      send(res, 200, hub.catalogView.query({ limit: n, cursor, id, q }));
    } catch (err) {
      if (!(err instanceof SearchBusyError)) throw err;
      res.setHeader('retry-after', '1');
      send(res, 429, { error: err.message });
    }
  });
  open('/api/config', (_req, res) => {
    hub.hubUrls({ shared: true }).then(
      (hubs) => send(res, 200, { iceServers: hub.iceServers, operatorTokenRequired: hub.operatorGate.tokenRequired, hubs }),
      () => send(res, 200, { iceServers: hub.iceServers, operatorTokenRequired: hub.operatorGate.tokenRequired, hubs: [hub.publicUrl] }),
    );
  });
  // The hubs of the cluster: one entry alone; with several, each as it last reported itself to Redis.
  operator('/api/hubs', (_req, res) => {
    hub.hubList().then(
      (hubs) => send(res, 200, { hubs }),
      () => send(res, 503, { error: 'the hub list is in Redis, which is unreachable now' }),
    );
  });
  operator('/api/state', (_req, res) => send(res, 200, hub.apiState()));
  operator('/api/decisions', (_req, res) => send(res, 200, { decisions: hub.decisions }));
  operator('/metrics', (_req, res) => {
    hub.metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': hub.metrics.registry.contentType });
        res.end(text);
      },
      () => send(res, 500, { error: 'metrics unavailable' }),
    );
  });
  // WHIP takes every method on its own paths (POST an offer, DELETE a resource, OPTIONS) and answers 405 itself.
  router.all('/whip/*', (req, res) => hub.whip.handle(req, res, pathOf(req.url)));
  router.all('/whep/*', (req, res) => hub.whep.handle(req, res, pathOf(req.url)));

  return (req: IncomingMessage, res: ServerResponse): void => {
    // socket.io answers its own path on the same server.
    if (req.url?.startsWith('/socket.io/')) return;
    if (!hub.takeHttpToken(req)) {
      res.setHeader('retry-after', '1');
      return send(res, 429, { error: 'too many requests; slow down' });
    }
    // Bodies are never read here (WHIP reads its own, bounded): no upload can grow the hub's memory.
    router.lookup(req, res);
  };
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}
