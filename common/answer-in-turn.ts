// One answer per connection at a time, on every route of an HTTP server: pipelined requests wait their turn instead
// of each being answered at once into a queue the client never reads.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Requests one connection may make (Node's `maxRequestsPerSocket`): the last answer says `Connection: close` and a
 * request past it gets 503; a browser or undici opens another connection. It bounds what one connection can make the
 * server hold while its answers wait: at most this many parsed requests.
 */
export const MAX_REQUESTS_PER_CONNECTION = 100;

/** Where a route's throw is told (a pino logger fits). */
export interface RouteErrorLog {
  error(fields: { err: unknown; path: string | undefined }, message: string): void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves `handler` on `server`'s 'request' event, one request per connection at a time: a request that arrives while
 * an earlier one on its connection is being answered is handed to `handler` once that answer has finished (gone to
 * the kernel) or closed. Node parses pipelined requests as they arrive and keeps each answer until the client reads
 * it; handled at once, 20,000 pipelined GET /poster on one unread connection held 200 MB (a whole poster each), and
 * 1,500 GET /media as many open files. HTTP/1.1 answers in order anyway, so only a pipelining client notices (its
 * answers are made one after another). Requests after MAX_REQUESTS_PER_CONNECTION (or `maxRequests`) are refused.
 *
 * A route that throws is answered 500 (or its connection closed, when its answer had begun) and the error logged to
 * `log` with its path: before, the throw left the 'request' event uncaught and ended the process, hub or media server, at one
 * request (found by review attack30: a dangling symlink in the hub's --static-dir).
 */
export function answerInTurn(server: Server, handler: Handler, maxRequests = MAX_REQUESTS_PER_CONNECTION, log?: RouteErrorLog): void {
  server.maxRequestsPerSocket = maxRequests;
  /** Per connection with an answer under way: the requests waiting behind it, in order. */
  const waiting = new WeakMap<Socket, Array<() => void>>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const run = (): void => {
      // The connection went while this request waited: nobody would read its answer, nor any later one's.
      if (socket.destroyed) return void waiting.delete(socket);
      let released = false;
      const next = (): void => {
        if (released) return;
        released = true;
        const after = waiting.get(socket)?.shift();
        if (after) after();
        else waiting.delete(socket);
      };
      res.once('finish', next);
      res.once('close', next);
      try {
        handler(req, res);
      } catch (err) {
        log?.error({ err, path: req.url?.slice(0, 200) }, 'HTTP route failed: answered 500');
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end('internal error\n');
      }
    };
    const queue = waiting.get(socket);
    if (queue) queue.push(run);
    else {
      waiting.set(socket, []);
      run();
    }
  });
}
