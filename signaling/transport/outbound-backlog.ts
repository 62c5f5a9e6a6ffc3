// What the hub holds for one socket.io connection that its client has not taken yet, and the guards that drop a client
// holding too much: replies (a catalog page is up to ≈ 0.5 MB) otherwise pile up in memory for a client that sends
// requests and never reads, a few MB a second per connection; pushes (a dashboard's deltas) for one that never reads.
import type { Socket } from 'socket.io';

/** A client whose unread replies exceed this is disconnected at its next request (bytes). */
export const MAX_CLIENT_BACKLOG_BYTES = 2 * 1024 * 1024;

type Packet = { data?: unknown };
type Conn = { writeBuffer?: Packet[]; transport?: { socket?: { bufferedAmount?: number } } };

/** Bytes queued for `socket`'s connection: engine.io's write buffer, and what its WebSocket has not flushed to the kernel. */
export function outboundBacklog(socket: Pick<Socket, 'conn'>): number {
  const conn = socket.conn as unknown as Conn;
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const p of conn.writeBuffer ?? []) {
    const d = p.data;
    bytes += typeof d === 'string' ? d.length : d instanceof Uint8Array ? d.byteLength : 0;
  }
  return bytes;
}

/**
 * socket.io middleware: a request from a client holding more than `maxBytes` of unread replies disconnects it
 * (`onSlow` first) instead of queueing another reply.
 */
export function dropSlowReaders(socket: Socket, maxBytes: number, onSlow: (backlog: number) => void) {
  return (_packet: unknown[], next: (err?: Error) => void): void => {
    const backlog = outboundBacklog(socket);
    if (backlog <= maxBytes) return next();
    onSlow(backlog);
    socket.disconnect(true);
  };
}

/**
 * Bytes of pushed messages (deltas, decisions) a dashboard may leave unread past what it was sent on joining (its
 * snapshot: ≈ 4.5 MB for 1,000 servers and 10,000 assets, which a slow link may still be reading).
 */
export const MAX_DASHBOARD_BACKLOG_BYTES = 32 * 1024 * 1024;

/**
 * Disconnects each of `sockets` holding more unread bytes than its allowance (`socket.data.backlogAllowance`, else
 * `maxBytes`), `onSlow` first. For messages the hub pushes without being asked: no request comes to check them at, and
 * engine.io's heartbeat does not bound them, since a client may answer pings it never read (blind pongs).
 */
export function dropSlowListeners(sockets: Iterable<Socket>, maxBytes: number, onSlow: (backlog: number) => void): void {
  for (const socket of sockets) {
    const allowance = (socket.data as { backlogAllowance?: number } | undefined)?.backlogAllowance ?? maxBytes;
    const backlog = outboundBacklog(socket);
    if (backlog <= allowance) continue;
    onSlow(backlog);
    socket.disconnect(true);
  }
}
