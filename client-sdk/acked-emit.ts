// One request to the hub that waits for its ack: given up after a timeout, or at once when the connection it went out
// on drops. socket.io forgets a plain ack callback when its socket disconnects (it calls only the error-taking ones of
// `timeout()`), so without this a request in flight when its hub died waited its whole timeout (10 s for a `watch` or a
// `publish`) before it was asked again on the next hub. No zod, no DOM: the page's first module uses it.

/** A socket.io client socket as far as this needs it: `on`/`off` are optional (a scripted hub in a test has none). */
export interface AckedSocket {
  emit(event: string, req: unknown, ack: (r: unknown) => void): unknown;
  on?(event: 'connect' | 'disconnect', listener: () => void): unknown;
  off?(event: 'connect' | 'disconnect', listener: () => void): unknown;
  /** False while connecting: an emit then waits in socket.io's buffer and goes out, ack kept, on the next connect. */
  readonly connected?: boolean;
}

/** Why no ack came: none within the time, the connection the request went out on dropped, or `emit` threw. */
export type AckLost = { lost: 'timeout' | 'disconnected' | 'threw'; message: string };

/**
 * Emits `event` with `req`; resolves once with `{ ack }`, or with why it was lost. Never rejects. A request emitted while
 * the socket is connecting is buffered by socket.io and goes out at the next connect: from then on, that connection
 * dropping loses it.
 */
export function emitAcked(socket: AckedSocket, event: string, req: unknown, timeoutMs: number): Promise<{ ack: unknown } | AckLost> {
  return new Promise((resolve) => {
    let settled = false;
    // Only what was put on is taken off: a socket stand-in may know no other event (the WHIP relay's knows neither).
    let watching: 'connect' | 'disconnect' | null = null;
    const watch = (e: 'connect' | 'disconnect' | null) => {
      if (watching === 'connect') socket.off?.('connect', sent);
      else if (watching === 'disconnect') socket.off?.('disconnect', dropped);
      watching = e;
      if (e === 'connect') socket.on?.('connect', sent);
      else if (e === 'disconnect') socket.on?.('disconnect', dropped);
    };
    const settle = (r: { ack: unknown } | AckLost) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watch(null);
      resolve(r);
    };
    const dropped = () => settle({ lost: 'disconnected', message: `the hub connection dropped before it answered ${event}` });
    // Buffered: socket.io sends it (before 'connect' is emitted) on the connection that comes next.
    const sent = () => watch('disconnect');
    const timer = setTimeout(() => settle({ lost: 'timeout', message: `the hub did not answer ${event}` }), timeoutMs);
    watch(socket.connected === false ? 'connect' : 'disconnect');
    try {
      socket.emit(event, req, (ack: unknown) => settle({ ack }));
    } catch (err) {
      settle({ lost: 'threw', message: (err as Error).message });
    }
  });
}
