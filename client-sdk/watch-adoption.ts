// A Viewer's selection gets its reply: the watch asked ahead, adopted when it fits, or a watch asked now with the peer's offer.
import type { WatchRequest } from '../signaling/protocol/messages.js';
import type { PeerLink } from './viewer-peer-link.js';
import type { ViewerSocket, WatchAheadHandle } from './viewer-types.js';
import { askWatch, type WatchAnswer } from './watch-request.js';

type HeldHubMessage = ReturnType<WatchAheadHandle['take']>[number];

/** The watch asked ahead serves only the first selection, and only when it asked what this one would (its delivery limit too). */
export function aheadFits(ahead: WatchAheadHandle, from: string | null, req: WatchRequest): boolean {
  return from === null && ahead.assetId === req.assetId && req.offset === 0 && !req.exclude && ahead.limitBps === req.limitBps;
}

/**
 * The hub's reply to `req` (null once `closed`), and what the hub sent for it before the Viewer listened, in order.
 * `req.offer` is set to the offer that went with it: the one asked ahead sent, or else `link`'s first signal.
 */
export async function replyFor(
  req: WatchRequest,
  ahead: WatchAheadHandle | null,
  link: PeerLink,
  socket: ViewerSocket,
  closed: () => boolean,
  resuming = false,
): Promise<{ reply: WatchAnswer | null; held: HeldHubMessage[] }> {
  const sent = ahead ? await ahead.request : null;
  if (ahead && sent) {
    if (sent.offer) req.offer = sent.offer;
    const reply = await ahead.reply;
    return { reply, held: ahead.take() };
  }
  const offer = await link.firstSignal();
  if (isOffer(offer) && !closed()) req.offer = offer;
  return { reply: closed() ? null : await askWatch(socket, req, closed, resuming), held: [] };
}

function isOffer(x: unknown): x is Record<string, unknown> & { type: 'offer' } {
  return typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'offer';
}
