// The WHEP messages between the hub and the media server the director chose (the hub relays the player's HTTP offer).
import { z } from 'zod';
import { assetId } from './messages.js';
import { MAX_WHIP_SDP_BYTES } from './whip-sdp.js';
import { whipResourceId } from './whip.js';
import type { Ack } from './types.js';

/** Hub → server: answer this player's offer with tracks played from `assetId`. */
export const whepOfferSchema = z.strictObject({
  resourceId: whipResourceId,
  assetId,
  sdp: z.string().min(1).max(MAX_WHIP_SDP_BYTES),
});
export type WhepOffer = z.infer<typeof whepOfferSchema>;

/** Hub → server: the player sent DELETE. Server → hub (`whep-closed`): the session ended by itself. */
export const whepEndSchema = z.strictObject({ resourceId: whipResourceId, reason: z.string().max(64).optional() });
export type WhepEnd = z.infer<typeof whepEndSchema>;

export interface WhepHubToServerEvents {
  'whep-offer': (msg: WhepOffer, ack: (r: Ack<{ sdp: string }>) => void) => void;
  'whep-end': (msg: WhepEnd, ack: (r: Ack) => void) => void;
}
export interface WhepServerToHubEvents {
  'whep-closed': (msg: unknown) => void;
}
