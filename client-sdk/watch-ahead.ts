// A watch asked before its Viewer exists: a page's first module asks it, with the peer's offer, while the player's code
// still loads; the hub's signals for the session are held until the Viewer takes the watch over.
import type { WatchRequest } from '../signaling/protocol/messages.js';
import type { ViewerSocket, WatchAheadHandle } from './viewer-types.js';
import { askWatch, OFFER_WAIT_MS, type WatchAnswer } from './watch-request.js';

/** Hub messages held for a Viewer not there yet (an answer's candidates are a handful); later ones are dropped. */
export const MAX_HELD_HUB_MESSAGES = 64;

type HeldHubMessage = ReturnType<WatchAheadHandle['take']>[number];

/**
 * Watch `assetId` from its start on `socket` as soon as the socket is connected and `offer` (the first peer's) is
 * made, or `OFFER_WAIT_MS` after the connect without it; retried as a Viewer's watch is. The hub's `signal` and
 * `session-close` messages are held from now until a Viewer takes the watch (`ViewerOptions.ahead`) or it is dropped.
 */
export function askWatchAhead(socket: ViewerSocket, assetId: string, offer: Promise<WatchRequest['offer'] | null>): WatchAheadHandle {
  let held: HeldHubMessage[] | null = [];
  let dropped = false;
  const hold = (event: HeldHubMessage['event']) => (msg: unknown) => {
    if (held && held.length < MAX_HELD_HUB_MESSAGES) held.push({ event, msg });
  };
  const onSignal = hold('signal');
  const onClose = hold('session-close');
  socket.on('signal', onSignal);
  socket.on('session-close', onClose);
  const stopHolding = (): HeldHubMessage[] => {
    const out = held ?? [];
    held = null;
    socket.off('signal', onSignal);
    socket.off('session-close', onClose);
    return out;
  };
  const connected = new Promise<void>((resolve) => {
    if (socket.connected !== false) return resolve();
    const on = (): void => {
      socket.off('connect', on);
      resolve();
    };
    socket.on('connect', on);
  });
  const request: Promise<WatchRequest | null> = connected
    .then(() => offerBy(offer, OFFER_WAIT_MS))
    .then((o) => (dropped ? null : { assetId, offset: 0, ...(o ? { offer: o } : {}) }));
  const reply: Promise<WatchAnswer | null> = request.then((req) => (req ? askWatch(socket, req, () => dropped) : null));
  return {
    assetId,
    request,
    reply,
    take: stopHolding,
    drop: () => {
      if (dropped) return;
      dropped = true;
      stopHolding();
      void reply.then((r) => {
        if (r?.ok) socket.emit('leave', { sessionId: r.sessionId });
      });
    },
  };
}

/** `offer` if it comes within `ms` (and does not fail), else null. */
function offerBy(offer: Promise<WatchRequest['offer'] | null>, ms: number): Promise<WatchRequest['offer'] | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    offer.then(
      (o) => {
        clearTimeout(timer);
        resolve(o);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}
