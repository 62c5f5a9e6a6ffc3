// socket.io packet middleware that bounds every inbound event's arguments (depth, size, keys)
// before any handler, schema or relay walks them recursively.
import { checkBounds, type Bounds } from '../protocol/index.js';

/** /client: a signal (≤ 16 KiB SDP) is the largest thing a viewer or broadcaster sends. */
export const CLIENT_PACKET_BOUNDS: Bounds = Object.freeze({ maxDepth: 12, maxBytes: 32 * 1024, maxKeys: 1_024 });
/** /server: a registration or report may list many assets; the transport caps it at 256 KiB anyway. */
export const SERVER_PACKET_BOUNDS: Bounds = Object.freeze({ maxDepth: 12, maxBytes: 256 * 1024, maxKeys: 100_000 });
/** /dashboard: read-only; it sends only `resync` and `hubs`, with no arguments. */
export const DASHBOARD_PACKET_BOUNDS: Bounds = Object.freeze({ maxDepth: 4, maxBytes: 1_024, maxKeys: 16 });

/**
 * Returns a `socket.use` middleware: a packet whose arguments (the ack callback aside) cross
 * `bounds` never reaches a handler; `onBad` builds the refusal, which goes to the ack when the
 * sender asked for one (and `onBad` decides whether to emit an `error` event otherwise).
 */
export function boundPackets(bounds: Bounds, onBad: (message: string, acked: boolean) => unknown) {
  return (packet: unknown[], next: (err?: Error) => void): void => {
    const last = packet.at(-1);
    const ack = typeof last === 'function' ? (last as (r: unknown) => void) : undefined;
    const args = ack ? packet.slice(1, -1) : packet.slice(1);
    let used = 0;
    for (const arg of args) {
      const b = checkBounds(arg, { ...bounds, maxBytes: bounds.maxBytes - used });
      if (b.ok) {
        used += b.bytes;
        continue;
      }
      const event = typeof packet[0] === 'string' ? JSON.stringify(packet[0].slice(0, 64)) : 'event';
      const reply = onBad(`${event} refused: arguments ${b.message}`, ack !== undefined);
      ack?.(reply);
      return;
    }
    next();
  };
}
