// The WHIP messages between the hub and the primary entry server (the hub relays the publisher's HTTP offer).
import { z } from 'zod';
import { assetId, serverId, sessionId, signalSchema } from './messages.js';
import { MAX_WHIP_SDP_BYTES } from './whip-sdp.js';
import type { Ack } from './types.js';
import { publishReplyBodySchema } from './replies.js';
import type { PublishReply } from './messages.js';

export { MAX_WHIP_SDP_BYTES };

/** No RTP for this long (the publisher vanished without DELETE) and the primary ends the broadcast, finalized, ms. */
export const WHIP_IDLE_TIMEOUT_MS = 10_000;

/**
 * A WHIP (or WHEP) resource id: what follows the stream id in the `Location` URL. With several hubs it is
 * `<hub id>.<random>` (a hub id is at most 64 of [A-Za-z0-9_.-]), so any hub can relay a request to its own.
 */
export const WHIP_RESOURCE_ID_PATTERN = /^[A-Za-z0-9_.-]{8,96}$/;
export const whipResourceId = z.string().regex(WHIP_RESOURCE_ID_PATTERN, 'bad WHIP resource id');
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'bad sha256');

/** Hub → primary: answer this offer and relay the stream to the assignment's entry servers (itself included). */
export const whipOfferSchema = z.strictObject({
  resourceId: whipResourceId,
  streamId: assetId,
  sdp: z.string().min(1).max(MAX_WHIP_SDP_BYTES),
  /** The hub's `publish` answer for this broadcast (the sessions the primary's relay uploads to). */
  assignment: publishReplyBodySchema,
  /** A re-POST after the primary died: continue the unfinished copy the primary (this server) holds. */
  resume: z.boolean().optional(),
  /**
   * The digest of the stream key that POSTed it (`keyDigest`, hex): a hub that restarted meanwhile (it lost the
   * resource) may ask who relays the resource with a DELETE's key (`whip-adopt`).
   */
  keyDigest: sha256Hex.optional(),
});
export type WhipOffer = z.infer<typeof whipOfferSchema>;

/** Hub → primary: the publisher sent DELETE; finalize and acknowledge. */
export const whipEndSchema = z.strictObject({ resourceId: whipResourceId });

/**
 * Hub → a server with a live copy of the stream: a DELETE came for a resource this hub does not know (it restarted
 * since the POST). The server relaying `resourceId` for a POST of that key's digest says which stream it is and the
 * stream's secret, and the hub takes the resource back.
 */
export const whipAdoptSchema = z.strictObject({ resourceId: whipResourceId, keyDigest: sha256Hex });
export interface WhipAdoptReply {
  streamId: string;
  streamSecret: string;
}

/** Signals between the primary's relay and an entry server's ingest session, both ways through the hub. */
export const whipSignalSchema = signalSchema.extend({ resourceId: whipResourceId });
export const whipLeaveSchema = z.strictObject({ resourceId: whipResourceId, sessionId, reason: z.string().max(64).optional() });
/**
 * Primary → hub: an upload of the broadcast failed (its server died): place a replacement entry server, as for a
 * browser publisher's replacement `publish`, passing over `exclude` (the servers that failed the stream or stored it).
 */
export const whipReplaceSchema = z.strictObject({ resourceId: whipResourceId, exclude: z.array(serverId).max(16) });
export type WhipReplace = z.infer<typeof whipReplaceSchema>;
export type WhipSignal = z.infer<typeof whipSignalSchema>;
export type WhipLeave = z.infer<typeof whipLeaveSchema>;

export interface WhipEndReply {
  bytes: number;
  sha256?: string;
  /** Servers that finalized byte-identical copies. */
  stored: string[];
}

/** The WHIP additions to the hub ↔ server event maps. */
export interface WhipServerToHubEvents {
  'whip-signal': (msg: unknown) => void;
  'whip-leave': (msg: unknown) => void;
  /** Answered with the hub's `publish` answer for the replacement (`WhipReplace`). */
  'whip-replace': (msg: unknown, ack: (r: Ack<PublishReply>) => void) => void;
}
export interface WhipHubToServerEvents {
  'whip-offer': (msg: WhipOffer, ack: (r: Ack<{ sdp: string }>) => void) => void;
  'whip-end': (msg: { resourceId: string }, ack: (r: Ack<WhipEndReply>) => void) => void;
  'whip-adopt': (msg: { resourceId: string; keyDigest: string }, ack: (r: Ack<WhipAdoptReply>) => void) => void;
  'whip-signal': (msg: WhipSignal) => void;
  'whip-session-close': (msg: WhipLeave) => void;
}
