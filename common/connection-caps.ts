// Caps on the TCP connections a server holds open, per remote address and in all, counted when the connection is
// accepted: every other limit (requests, sessions, messages) is per connection or per request, so without these one
// anonymous address could hold the file descriptors and socket state every other client needs, a few bytes at a time.
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { addressKey } from './address-key.js';
import { decrementCount } from './counts.js';

/**
 * How long a client may take to send one whole request, headers and body, ms. Node's defaults (60 s for the
 * headers, 300 s for the request) let a slow-loris client hold each connection, and on the hub a WHIP/WHEP body
 * of up to 32 KiB, for five minutes with a byte every few seconds; a real offer arrives in well under a second.
 * Past it Node answers 408 and closes the connection. Only receiving the request is bounded: a long answer (a
 * media download, a WHIP DELETE waiting for its copies) is not.
 */
export const REQUEST_RECEIVE_TIMEOUT_MS = 10_000;

/** `http.createServer` options that put REQUEST_RECEIVE_TIMEOUT_MS (or `timeoutMs`) on headers and body alike. */
export function boundedRequestOptions(timeoutMs = REQUEST_RECEIVE_TIMEOUT_MS): ServerOptions {
  return {
    requestTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    // Node looks at the deadlines this often (default 30 s, which would have made 10 s up to 40).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(timeoutMs / 4))),
  };
}

/** What of a request body nobody read is still taken after the answer (so the client sees it, not a reset): bytes, ms. */
const LINGER_BYTES = 1024 * 1024;
const LINGER_MS = 2_000;
const LINGER_CHECK_MS = 20;

/**
 * Closes a connection whose request was answered before its body was read (a 401, 404, 405, 413 … to a POST, or
 * a GET sent with a body). Left to Node, the rest of the body is read and discarded for as long as the client
 * sends it: an endless chunked body went on at line rate (1.5 GB in 10 s over loopback) until the request timeout,
 * 300 s before it was bounded. As nginx's lingering close: the answer is followed by a FIN, at most LINGER_BYTES
 * more are read (then none), and the connection is closed after LINGER_MS (or once the body ended).
 */
export function lingerUnreadBodies(server: Server): void {
  // First of the 'request' listeners: a handler given to createServer may answer before a later one runs.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    // The answer says `Connection: close` when the body is still unread as it goes out: without it a keep-alive client
    // (undici, a browser) may send its next request on this connection before the FIN below reaches it, and that request
    // dies with "other side closed" (seen in CI under load: a WHIP 413, then the next request). Node closes the
    // connection itself after such an answer (`destroySoon`, a reset with the body unread): it only ends it here, and
    // the linger below closes it.
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      if (hasUnreadBody(req) && !res.headersSent) {
        res.setHeader('connection', 'close');
        const socket = req.socket as Socket & { destroySoon?: () => void };
        socket.destroySoon = () => socket.end();
      }
      return writeHead.apply(this, args);
    } as ServerResponse['writeHead'];
    res.once('finish', () => {
      if (req.complete) return;
      // The answer is out: FIN after it, so the client reads it before the close below (a reset would drop it from
      // the client's receive queue). Node discards the rest of the body itself (no 'data' events): count at the socket.
      const socket = req.socket;
      socket.end();
      req.resume();
      const from = socket.bytesRead;
      const started = Date.now();
      const check = setInterval(() => {
        if (Date.now() - started >= LINGER_MS) socket.destroy();
        // Past the bytes, nothing more is read; the client has until LINGER_MS to read the answer.
        else if (socket.bytesRead - from > LINGER_BYTES) socket.pause();
      }, LINGER_CHECK_MS);
      check.unref?.();
      socket.once('close', () => clearInterval(check));
      req.once('end', () => socket.destroy());
    });
  });
}

/** A request with a body (a length above 0, or chunked) not read to its end yet. */
function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

/** Connections one remote address may hold open at once (a browser tab uses one socket.io and ≤ 6 HTTP connections). */
export const MAX_CONNECTIONS_PER_IP = 64;
/** Connections one server holds open in all; the process's file descriptor limit must be above it. */
export const MAX_CONNECTIONS = 10_000;
/**
 * The part of the total only cluster members may take (`cluster`), a tenth: 1,000 of 10,000. Without it about 157
 * anonymous addresses at 64 connections each filled the total and media servers could no longer register.
 */
export const CLUSTER_RESERVED_DIVISOR = 10;

/** Connections kept for cluster members out of `total` (0 when the total is off). */
export function clusterReserve(total: number): number {
  return total > 0 ? Math.floor(total / CLUSTER_RESERVED_DIVISOR) : 0;
}

export interface ConnectionCapOptions {
  /** Per remote address; 0 turns the per-address cap off. */
  perIp: number;
  /** In all (`server.maxConnections`); 0 turns it off. */
  total: number;
  /**
   * Addresses not capped per address: loopback (every local viewer, test and benchmark shares it) and trusted
   * proxies, whose clients are many behind one address (limit them at the proxy). The total cap still counts them.
   */
  exempt: (address: string) => boolean;
  /**
   * Cluster members (media servers, named by the operator): they may take the whole total, every other address only
   * the total less `clusterReserve(total)`, so anonymous clients holding idle connections cannot lock servers out.
   * Absent: no reserve, everyone shares the total.
   */
  cluster?: (address: string) => boolean;
  /** A connection was refused: `per-ip` (destroyed at once) or `total` (Node's own `drop`, or past the others' share). */
  onRefused?: (why: 'per-ip' | 'total', address: string) => void;
}

/** What the caps hold now. */
export interface ConnectionCounts {
  /** Remote addresses with at least one counted connection (≤ the total cap). */
  addresses(): number;
  /** Counted connections of one address. */
  of(address: string): number;
}

/** Puts the caps on `server` (before it listens); an address's count falls as each of its sockets closes. */
export function capConnections(server: Server, o: ConnectionCapOptions): ConnectionCounts {
  const counts = new Map<string, number>();
  if (o.total > 0) server.maxConnections = o.total;
  // Node's maxConnections holds the whole total; the others' share is counted here.
  const othersMax = o.cluster ? o.total - clusterReserve(o.total) : 0;
  let others = 0;
  server.on('drop', (d?: { remoteAddress?: string }) => o.onRefused?.('total', d?.remoteAddress ?? 'unknown'));
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (othersMax > 0 && !(address && o.cluster!(address))) {
      if (others >= othersMax) {
        o.onRefused?.('total', address ?? 'unknown');
        socket.destroy();
        return;
      }
      others++;
      socket.once('close', () => others--);
    }
    if (o.perIp <= 0 || !address || o.exempt(address)) return;
    // Counted by addressKey: one key however the socket spells the address (IPv4-mapped IPv6 on a dual-stack
    // listener), and an IPv6 client's whole /64 is one address.
    const key = addressKey(address);
    const n = counts.get(key) ?? 0;
    if (n >= o.perIp) {
      o.onRefused?.('per-ip', address);
      socket.destroy();
      return;
    }
    counts.set(key, n + 1);
    socket.once('close', () => decrementCount(counts, key));
  });
  return { addresses: () => counts.size, of: (address) => counts.get(addressKey(address)) ?? 0 };
}
