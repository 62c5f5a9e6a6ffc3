// The hub's HTTP side: JSON API, health, readiness, Prometheus metrics and the built web client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import sirv from 'sirv';
import type { Hub } from './hub.js';

export function createHttpHandler(hub: Hub, staticDir: string | undefined) {
  const assets = staticDir && existsSync(staticDir) ? sirv(staticDir, { single: true, dev: false, etag: true }) : undefined;
  return (req: IncomingMessage, res: ServerResponse): void => {
    // socket.io answers its own path on the same server.
    if (req.url?.startsWith('/socket.io/')) return;
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/whip/')) return hub.whip.handle(req, res, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
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
      case '/api/catalog':
        return send(res, 200, { assets: hub.catalog() });
      case '/api/config':
        return send(res, 200, { iceServers: hub.iceServers });
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
    if (path.startsWith('/api/')) return send(res, 404, { error: `no such endpoint: ${path}` });
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
