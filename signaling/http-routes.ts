// The hub's HTTP side: JSON API, health, readiness, Prometheus metrics and the built web client.
// Every request spends a token of its client IP's bucket; operator views need the operator token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import sirv from 'sirv';
import { isAssetId, type DecisionEvent, type StateTable } from './protocol/index.js';
import { MAX_CATALOG_PAGE, type CatalogView } from './catalog-view.js';
import { requestToken, type OperatorGate } from './operator-gate.js';
import type { HubMetrics } from './hub-metrics.js';
import type { WhipRoutes } from './whip-routes.js';
import type { WhepRoutes } from './whep-routes.js';

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
  takeHttpToken(req: IncomingMessage): boolean;
  apiState(): unknown;
}

/** Paths only an operator may read (they name servers' addresses and broadcasters' places). */
const OPERATOR_PATHS = new Set(['/api/state', '/api/decisions', '/metrics']);

export function createHttpHandler(hub: HttpHost, staticDir: string | undefined) {
  const assets = staticDir && existsSync(staticDir) ? sirv(staticDir, { single: true, dev: false, etag: true }) : undefined;
  return (req: IncomingMessage, res: ServerResponse): void => {
    // socket.io answers its own path on the same server.
    if (req.url?.startsWith('/socket.io/')) return;
    if (!hub.takeHttpToken(req)) {
      res.setHeader('retry-after', '1');
      return send(res, 429, { error: 'too many requests; slow down' });
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    // Bodies are never read: nothing here takes one, so no upload can grow the hub's memory.
    if (path.startsWith('/whip/')) return hub.whip.handle(req, res, path);
    if (path.startsWith('/whep/')) return hub.whep.handle(req, res, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (OPERATOR_PATHS.has(path)) {
      const v = hub.operatorGate.check(requestToken(req));
      if (!v.ok) return send(res, v.status, { error: v.message });
    }
    switch (path) {
      case '/healthz':
        return send(res, 200, { ok: true });
      case '/readyz': {
        const ready = hub.table.size > 0 && hub.table.director !== null;
        return send(res, ready ? 200 : 503, {
          ok: ready,
          servers: hub.table.size,
          director: hub.table.director?.id ?? null,
          ...(ready ? {} : { reason: hub.table.size === 0 ? 'no media server registered' : 'no director designated' }),
        });
      }
      case '/api/state':
        return send(res, 200, hub.apiState());
      case '/api/catalog': {
        const limit = query.get('limit');
        const cursor = query.get('cursor') ?? undefined;
        const n = limit === null ? MAX_CATALOG_PAGE : Number(limit);
        if (!Number.isInteger(n) || n < 1 || n > MAX_CATALOG_PAGE) return send(res, 400, { error: `limit must be an integer in 1..${MAX_CATALOG_PAGE}` });
        if (cursor !== undefined && !isAssetId(cursor)) return send(res, 400, { error: 'cursor must be an asset id (the `next` of the previous page)' });
        return send(res, 200, hub.catalogView.page(n, cursor));
      }
      case '/api/config':
        return send(res, 200, { iceServers: hub.iceServers, operatorTokenRequired: hub.operatorGate.tokenRequired });
      case '/api/decisions':
        return send(res, 200, { decisions: hub.decisions });
      case '/metrics':
        hub.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': hub.metrics.registry.contentType });
            res.end(text);
          },
          () => send(res, 500, { error: 'metrics unavailable' }),
        );
        return;
    }
    if (path.startsWith('/api/')) return send(res, 404, { error: `no such endpoint: ${path.slice(0, 100)}` });
    if (assets) return assets(req, res, () => send(res, 404, { error: 'not found' }));
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Baton hub is running. The web client is not built: run `npm run build` (or `npm start`).\n');
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}
