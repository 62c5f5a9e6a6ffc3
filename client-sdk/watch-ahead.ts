// A watch asked before its Viewer exists: a page's first module asks it with its peer's offer while the player's code
// still loads, and finishes the peer's signaling itself (the answer and the hub's candidates in, the peer's out), so the
// peer connects without waiting for that code; the Viewer that takes the watch over takes the peer with it.
import type { WatchRequest } from '../signaling/protocol/messages.js';
import type { AheadPeer, ViewerSocket, WatchAheadHandle } from './viewer-types.js';
import { askWatch, OFFER_WAIT_MS, type WatchAnswer } from './watch-request.js';

/** Hub messages held until the reply names the session, and session closes until a Viewer takes over (a handful). */
export const MAX_HELD_HUB_MESSAGES = 64;
/** The peer's signals (its offer and candidates) held until the reply names the session; later ones are dropped. */
export const MAX_HELD_PEER_SIGNALS = 64;

type HeldHubMessage = ReturnType<WatchAheadHandle['take']>[number];

/**
 * Watch `assetId` from its start on `socket` as soon as the socket is connected and `peer` made its offer, or
 * `OFFER_WAIT_MS` after the connect without it; retried as a Viewer's watch is. Once the reply names the session, the
 * reply's answer and the hub's signals for it go to `peer`, and the peer's signals to the session (its offer too when
 * it did not go with the watch). Until a Viewer takes the watch (`ViewerOptions.ahead`) the hub's `session-close` is
 * held for it; from then on the Viewer applies what the hub sends, while the peer's own signals still go from here.
 */
export function askWatchAhead(socket: ViewerSocket, assetId: string, peer: AheadPeer, limitBps?: number): WatchAheadHandle {
  let held: HeldHubMessage[] | null = [];
  let dropped = false;
  /** The session once the reply named it and the peer is signalled for it; null before and after a refusal. */
  let session: string | null = null;
  /** The peer's signals before the session is known; null once they went (or will not go). */
  let unsent: unknown[] | null = [];
  // Checked by hand, not by schema: this module is in the page's first chunk, which carries no zod
  // (test/integration/web-entry-chunk.test.ts). The Viewer that takes over parses what was held and all that follows.
  const onSignal = (msg: unknown): void => {
    const m = msg as { sessionId?: unknown; data?: unknown } | null;
    if (session !== null && m?.sessionId === session) giveToPeer(m.data);
    else if (session === null && held && held.length < MAX_HELD_HUB_MESSAGES) held.push({ event: 'signal', msg });
  };
  const onClose = (msg: unknown): void => {
    if (held && held.length < MAX_HELD_HUB_MESSAGES) held.push({ event: 'session-close', msg });
  };
  socket.on('signal', onSignal);
  socket.on('session-close', onClose);
  const stopHolding = (): HeldHubMessage[] => {
    const out = held ?? [];
    held = null;
    socket.off('signal', onSignal);
    socket.off('session-close', onClose);
    return out;
  };
  const giveToPeer = (data: unknown): void => {
    if (typeof data !== 'object' || data === null) return;
    try {
      peer.signal(data);
    } catch {
      // A signal the peer refuses (it closed, or a bad one) ends it: the Viewer sees it close and fails over.
      peer.destroy();
    }
  };
  peer.on('signal', (data: unknown) => {
    if (dropped) return;
    if (unsent) {
      if (unsent.length < MAX_HELD_PEER_SIGNALS) unsent.push(data);
    } else if (session !== null) socket.emit('signal', { sessionId: session, data });
  });

  const connected = new Promise<void>((resolve) => {
    if (socket.connected !== false) return resolve();
    const on = (): void => {
      socket.off('connect', on);
      resolve();
    };
    socket.on('connect', on);
  });
  const request: Promise<WatchRequest | null> = connected
    .then(() => offerBy(peer.offered(), OFFER_WAIT_MS))
    .then((o) => (dropped ? null : { assetId, offset: 0, ...(o ? { offer: o } : {}), ...(limitBps !== undefined ? { limitBps } : {}) }));
  const bind = (req: WatchRequest, r: WatchAnswer | null): WatchAnswer | null => {
    const signals = unsent ?? [];
    unsent = null;
    if (dropped || !r?.ok) return r;
    const { answer, ...rest } = r;
    session = r.sessionId;
    // The offer that went with the watch is not sent again; one that did not goes now, with the candidates.
    for (const data of signals) if (!(req.offer && isOffer(data))) socket.emit('signal', { sessionId: session, data });
    if (answer) giveToPeer(answer);
    // Signals that came before the reply named the session, in order; the session closes stay held for the Viewer.
    const before = held ?? [];
    held = before.filter((h) => h.event === 'session-close');
    for (const h of before) if (h.event === 'signal') onSignal(h.msg);
    return rest;
  };
  const reply: Promise<WatchAnswer | null> = request.then(async (req) =>
    req ? bind(req, await askWatch(socket, req, () => dropped)) : null,
  );
  return {
    assetId,
    ...(limitBps !== undefined ? { limitBps } : {}),
    peer,
    request,
    reply,
    take: stopHolding,
    drop: () => {
      if (dropped) return;
      dropped = true;
      stopHolding();
      peer.destroy();
      void reply.then((r) => {
        if (r?.ok) socket.emit('leave', { sessionId: r.sessionId });
      });
    },
  };
}

function isOffer(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'offer';
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
