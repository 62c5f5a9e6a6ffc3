// The media server's own HTTP side: health, metrics, its replica and status, and
// plain HTTP delivery of stored assets and posters. Routed by find-my-way. Health, media and posters are
// public (browsers and load balancers reach them); metrics, the replica and the status are operator views,
// behind the hub's gate (OperatorGate): the operator token, or on a loopback bind without one, direct local requests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import FindMyWay from 'find-my-way';
import type { Registry } from 'prom-client';
import type { TableSnapshot } from '../../signaling/protocol/index.js';
import type { DiskStore } from '../storage/disk-store.js';
import { MediaDownloads, serveMedia } from './http-media.js';
import { servePoster } from './http-poster.js';
import {
  boundedRequestOptions,
  capConnections,
  lingerUnreadBodies,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
} from '../../common/connection-caps.js';
import { isLoopbackIp } from '../../common/loopback-ip.js';
import { answerInTurn } from '../../common/answer-in-turn.js';
import { addressKey } from '../../common/address-key.js';
import { KeyedRateLimiter } from '../../common/token-bucket.js';
import { OperatorGate } from '../../signaling/operator-gate.js';
import { logger } from '../../signaling/log.js';

const httpLog = logger('media-server', { part: 'http' });

/**
 * Requests per second one client address (an IPv6 /64 as one, loopback included) may make of a media server's HTTP
 * side, every path; bursts of twice as many. The hub has had its own (`--http-rate`); this side had none, and one
 * client's 16 keep-alive connections asking for a poster kept the server's event loop — which also paces viewers
 * and answers the director's `select` — 92 % busy (3,800 answers a second).
 */
export const MEDIA_HTTP_RATE_PER_S = 100;

export interface StatusHttpOptions {
  port?: number;
  host?: string;
  store: DiskStore;
  /** The poster version of a live stream ingested here (its file is not in the store's catalog yet). */
  livePoster?: (assetId: string) => string | undefined;
  registry: Registry;
  table: () => TableSnapshot;
  /** The body of /api/status. */
  status: () => unknown;
  /** Token for the operator views (/metrics, /api/table, /api/status); without one they answer direct local requests on a loopback bind only. */
  operatorToken?: string;
  /** Bytes `GET /media` sent (counted as the server's egress). */
  mediaSent?: (bytes: number) => void;
  /** `GET /media` answers under way, in all and per client address; default MAX_HTTP_MEDIA_DOWNLOADS(_PER_IP). */
  maxMediaDownloads?: number;
  maxMediaDownloadsPerIp?: number;
  /** Each `/media` download's pace after its burst (bytes); defaults HTTP_MEDIA_BYTES_PER_S, HTTP_MEDIA_BURST_BYTES. */
  mediaBytesPerS?: number;
  mediaBurstBytes?: number;
  /** Client addresses `/media` does not pace; default loopback (a proxy or a tool on this machine). */
  mediaUnpaced?: (address: string) => boolean;
  /** Requests per second per client address, bursts of twice as many; default MEDIA_HTTP_RATE_PER_S. */
  httpRatePerS?: number;
  /** Open connections per client address (loopback is not capped) and in all; defaults as the hub's. */
  connectionsPerIp?: number;
  maxConnections?: number;
}

export interface StatusHttp {
  /** e.g. `http://127.0.0.1:40123` (a wildcard bind is shown as loopback). */
  url: string;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. */
export async function startStatusHttp(o: StatusHttpOptions): Promise<StatusHttp> {
  const router = FindMyWay({
    defaultRoute: (_req, res) => json(res, 404, { error: 'not found' }),
  });
  const get = (
    path: string,
    handler: (req: IncomingMessage, res: ServerResponse, params: Record<string, string | undefined>) => void,
  ): void => {
    router.on(['GET', 'HEAD'], path, (req, res, params) => handler(req, res, params));
  };
  const host = o.host ?? '127.0.0.1';
  const gate = new OperatorGate(o.operatorToken, host, 'media server');
  /** The table names every server's address and load; the status, sessions and settings; metrics, all of it in numbers. */
  const operator: typeof get = (path, handler) =>
    get(path, (req, res, params) => {
      const v = gate.checkRequest(req);
      if (!v.ok) return json(res, v.status, { error: v.message });
      handler(req, res, params);
    });
  const downloads = new MediaDownloads({
    max: o.maxMediaDownloads,
    maxPerIp: o.maxMediaDownloadsPerIp,
    sent: o.mediaSent,
    bytesPerS: o.mediaBytesPerS,
    burstBytes: o.mediaBurstBytes,
    unpaced: o.mediaUnpaced,
  });
  get('/media/:file', (req, res, { file }) => serveMedia(o.store, file ?? '', req, res, downloads));
  get('/poster/:file', (req, res, { file }) => servePoster(o.store, file ?? '', req, res, o.livePoster));
  get('/healthz', (_req, res) => json(res, 200, { ok: true }));
  operator('/metrics', (_req, res) => {
    // A collector that throws is answered 500, as on the hub (an unhandled rejection would end the process).
    o.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': o.registry.contentType });
        res.end(text);
      },
      () => json(res, 500, { error: 'metrics unavailable' }),
    );
  });
  operator('/api/table', (_req, res) => json(res, 200, o.table()));
  operator('/api/status', (_req, res) => json(res, 200, o.status()));

  const http: Server = createServer(boundedRequestOptions());
  // Every route one answer per connection at a time: pipelined requests wait, rather than each holding its answer.
  const rate = o.httpRatePerS ?? MEDIA_HTTP_RATE_PER_S;
  const limiter = new KeyedRateLimiter(rate, 2 * rate);
  answerInTurn(
    http,
    (req, res) => {
      const from = (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/i, '');
      if (!limiter.take(addressKey(from), Date.now())) {
        // Closed after the answer: a client over its rate pays a new connection for its next request, rather than the
        // server parsing requests it refuses as fast as one keep-alive connection can send them.
        res.setHeader('retry-after', '1');
        res.setHeader('connection', 'close');
        return json(res, 429, { error: 'too many requests; slow down' });
      }
      router.lookup(req, res);
    },
    undefined,
    httpLog,
  );
  lingerUnreadBodies(http);
  capConnections(http, {
    perIp: o.connectionsPerIp ?? MAX_CONNECTIONS_PER_IP,
    total: o.maxConnections ?? MAX_CONNECTIONS,
    exempt: isLoopbackIp,
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, host, () => resolve());
  });
  const a = http.address() as AddressInfo;
  return {
    url: `http://${a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`,
    async close() {
      if (!http.listening) return;
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
