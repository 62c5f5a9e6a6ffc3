// The hub's socket.io server: its transport, size and liveness settings, and with several hubs the Redis streams adapter.
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { Server as IoServer } from 'socket.io';
import { MAX_MESSAGE_BYTES } from '../protocol/index.js';

/**
 * `shared`: the adapter's own Redis client (its blocking reads must not share a fail-fast command connection) and its
 * stream. `admit`: whether a handshake may go on (a refused one gets engine.io's 403 and no session).
 */
export function createIoServer(
  http: HttpServer,
  shared: { redis: Redis; streamName: string } | undefined,
  admit: (req: IncomingMessage) => boolean = () => true,
): IoServer {
  return new IoServer(http, {
    allowRequest: (req, callback) =>
      admit(req) ? callback(null, true) : callback('too many connections from this address; slow down', false),
    // Every Baton client speaks WebSocket only. HTTP long-polling would let one TCP connection carry any number of
    // engine.io sessions, each with its own request budget, past the per-address connection cap.
    transports: ['websocket'],
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    pingInterval: 5_000,
    pingTimeout: 5_000,
    cors: { origin: true },
    // Browsers get the socket.io client inside the web bundle; the hub serves no copy of it (one route fewer, and the
    // bundled CLI has no socket.io-client files beside it to serve).
    serveClient: false,
    ...(shared ? { adapter: createAdapter(shared.redis, { streamName: shared.streamName, onlyPlaintext: true }) } : {}),
  });
}
