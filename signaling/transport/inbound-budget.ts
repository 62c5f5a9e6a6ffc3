// Bytes the hub takes from one client address over socket.io before it closes the connection that goes past them.
// Every message is parsed (JSON up to 256 KiB) whatever its namespace or event, before any per-event limit sees it:
// one WebSocket sending junk at line rate kept the hub's event loop busy and other clients waited (catalog p50
// 2 ms → 163 ms with one such connection, 421 ms with four, found by outsider34).
import type { IncomingMessage } from 'node:http';
import type { Server as IoServer } from 'socket.io';
import { KeyedRateLimiter } from '../../common/token-bucket.js';

/** Inbound socket.io bytes a second per client address (all its connections together), and the burst. */
export const INBOUND_BYTES_PER_S = 1024 * 1024;
export const INBOUND_BURST_BYTES = 4 * 1024 * 1024;
/** What each message costs at least, so a flood of tiny ones is bounded too (4,096 a second at the rate above). */
export const INBOUND_MIN_MESSAGE_BYTES = 256;

/** Connections that authenticated as a media server: a large library's registration is megabytes, at once. */
const exempt = new WeakSet<object>();

/** What the hub tells the budget: the client address key of a handshake (null: not counted, a cluster member). */
export interface InboundBudgetDeps {
  now: () => number;
  keyOf: (req: IncomingMessage) => string | null;
  /** A connection was closed for going past its address's budget. */
  onOver: (key: string) => void;
}

/**
 * Charges each inbound engine.io packet's bytes to its client address; the connection that goes past the budget is
 * closed at once, its TCP connection destroyed (the packet that went past is still handled; none after it). Media servers are exempted once they
 * authenticate (`exemptFromInboundBudget`).
 */
export function budgetInbound(io: IoServer, deps: InboundBudgetDeps, ratePerS = INBOUND_BYTES_PER_S, burst = INBOUND_BURST_BYTES): void {
  const limiter = new KeyedRateLimiter(ratePerS, burst);
  io.engine.on('connection', (conn: EngineConnection) => {
    const key = deps.keyOf(conn.request);
    if (key === null) return;
    const charge = (packet: { data?: unknown }): void => {
      if (exempt.has(conn)) {
        conn.off('packet', charge);
        return;
      }
      if (limiter.take(key, deps.now(), Math.max(INBOUND_MIN_MESSAGE_BYTES, sizeOf(packet.data)))) return;
      conn.off('packet', charge);
      deps.onOver(key);
      conn.close();
      // Not a graceful close: the WebSocket would go on reading (and unmasking) what the sender keeps writing until
      // the close handshake ends, which a flooder never answers.
      conn.request.socket.destroy();
    };
    conn.on('packet', charge);
  });
}

/** Lifts the budget from a connection that authenticated as a media server (`socket.conn`). */
export function exemptFromInboundBudget(conn: object): void {
  exempt.add(conn);
}

interface EngineConnection {
  readonly request: IncomingMessage;
  on(event: 'packet', listener: (packet: { data?: unknown }) => void): unknown;
  off(event: 'packet', listener: (packet: { data?: unknown }) => void): unknown;
  close(): void;
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
