// One socket per namespace per connection: socket.io lets a client join a namespace again and again on one WebSocket.
import type { Namespace, Socket } from 'socket.io';

/** What a connection keeps across its sockets of a namespace (a rate bucket, say), keyed by the connection. */
export type PerConnection<T> = (socket: Socket) => T;

/**
 * Refuses a second join of `ns` on a connection whose earlier socket there is live or pending. socket.io records a
 * join only after an asynchronous step, so N join packets in one TCP write made N sockets, each with its listeners and
 * its own rate bucket, of which the client can address only the last (50,000 on one connection: +168 MB). Installed
 * after the namespace's other middlewares, so that a join they refuse never counts. A leave frees the slot.
 */
export function onePerConnection(ns: Namespace, onRefused: () => void): void {
  const joined = new WeakSet<object>();
  ns.use((socket, next) => {
    const conn = socket.conn;
    if (joined.has(conn)) {
      onRefused();
      return next(new Error(`bad-request: this connection has joined ${ns.name} already`));
    }
    joined.add(conn);
    socket.on('disconnect', () => joined.delete(conn));
    next();
  });
}

/**
 * State that outlives a socket on its connection: a client that leaves and joins the namespace again on one
 * WebSocket gets the same (its rate bucket is not refilled by rejoining).
 */
export function perConnection<T>(make: () => T): PerConnection<T> {
  const states = new WeakMap<object, T>();
  return (socket) => {
    let s = states.get(socket.conn);
    if (s === undefined) states.set(socket.conn, (s = make()));
    return s;
  };
}
