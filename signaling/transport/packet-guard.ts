// socket.io packet middleware: events nobody handles, or with the wrong arguments or ack, never reach a handler.
import type { ackError } from '../protocol/index.js';

/** Each inbound event: how many arguments it takes, and whether the sender must ask for an ack. */
export type EventShape = readonly [args: number, ack: boolean];

/** The socket's own events: listened to, but never to be fired by a peer's packet. */
const SOCKET_OWN_EVENTS = new Set(['error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/**
 * An event nobody handles, or one of `shapes` with the wrong arguments or ack, never
 * reaches a handler (which would stay silent); the sender gets an error ack when it
 * asked for one, and `onBad` hears of it either way. Handled events not in `shapes`
 * pass unchecked (their handler validates).
 */
export function guardPackets(
  shapes: Readonly<Record<string, EventShape>>,
  handled: (event: string) => boolean,
  onBad: (message: string, acked: boolean) => ReturnType<typeof ackError>,
) {
  return (packet: unknown[], next: (err?: Error) => void): void => {
    const [event, ...args] = packet;
    const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (r: unknown) => void) : undefined;
    const given = args.length - (ack ? 1 : 0);
    const shape = typeof event === 'string' && Object.hasOwn(shapes, event) ? shapes[event] : undefined;
    const custom = typeof event === 'string' && !SOCKET_OWN_EVENTS.has(event) && handled(event);
    if (shape ? given === shape[0] && (ack !== undefined) === shape[1] : custom) return next();
    const name = JSON.stringify(String(event).slice(0, 64));
    const message = !shape
      ? `unknown event ${name}`
      : given !== shape[0]
        ? `event ${name} takes ${shape[0]} argument(s), got ${given}`
        : `event ${name} ${shape[1] ? 'needs an' : 'takes no'} acknowledgement callback`;
    const reply = onBad(message, ack !== undefined);
    ack?.(reply);
  };
}
