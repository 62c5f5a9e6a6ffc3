// Schemas of what the hub sends a client (acks and events), so the SDK parses them at the boundary
// instead of trusting casts. A publish reply's body is the protocol's (signaling/protocol/replies.ts).
// Not here: the `watch` reply, checked by hand in watch-request.ts, because a watch page's first
// module asks it before zod loads (web-client/main.ts).
import { z } from 'zod';
import { type AckedSocket, emitAcked } from './acked-emit.js';
import type { Bounds } from '../signaling/protocol/bounds.js';
import {
  assetId,
  assetInfoSchema,
  type CatalogEntry,
  MAX_CATALOG_PAGE,
  MAX_PICTURE_HEIGHT_PX,
  MAX_VIEWERS_QUERY,
  parse,
  placeSchema,
  serverId,
  signalSchema,
} from '../signaling/protocol/messages.js';
import { publishReplyBodySchema, sessionCloseSchema } from '../signaling/protocol/replies.js';

const code = z.string().min(1).max(64);
const text = z.string().max(2_000);

/** `{ ok: false, code, message }`: any refusal (the code stays a string: newer hubs may add codes). */
export const ackErrorSchema = z.object({ ok: z.literal(false), code, message: text });

/** A successful ack carrying `body`, or a refusal. */
export function ackSchema<T extends z.ZodRawShape>(body: T) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), ...body }), ackErrorSchema]);
}

export const publishReplySchema = ackSchema(publishReplyBodySchema.shape);
export type PublishAck = z.infer<typeof publishReplySchema>;

export const placesReplySchema = ackSchema({ places: z.array(placeSchema).max(20) });

/** An entry of the catalog: an asset's facts (its poster token made a URL), the servers holding it, its audience. */
export const catalogEntrySchema = assetInfoSchema.omit({ poster: true }).extend({
  live: z.boolean(),
  holders: z.array(serverId).max(100_000),
  posterUrl: z.string().max(2_000).optional(),
  viewers: z.number().int().min(0).optional(),
  renditions: z
    .array(
      z.strictObject({
        id: assetId,
        heightPx: z.number().int().min(1).max(MAX_PICTURE_HEIGHT_PX),
        bitrateBps: z.number().finite().min(0).optional(),
      }),
    )
    .max(64)
    .optional(),
}) satisfies z.ZodType<CatalogEntry>;

/** `catalog` and `catalog-query`: a page of entries (one, for `{ id }`), the next page's cursor, how many match. */
export const catalogPageReplySchema = ackSchema({
  assets: z.array(catalogEntrySchema).max(MAX_CATALOG_PAGE),
  next: assetId.nullable(),
  total: z.number().int().min(0),
});

/**
 * What a catalog page may take, checked before the schema walks it: far above a real page (1,000 entries held by
 * three servers each are ≈ 0.7 MB), it bounds the walk, not the catalog (the default bounds, 256 KiB, would refuse one).
 */
export const CATALOG_REPLY_BOUNDS: Bounds = Object.freeze({ maxDepth: 8, maxBytes: 32 * 1024 * 1024, maxKeys: 2_000_000 });

/** `viewers`: how many watch each asset asked about, in the order asked. */
export const viewersReplySchema = ackSchema({ counts: z.array(z.number().int().min(0)).max(MAX_VIEWERS_QUERY) });

/** Hub → client `signal` (the same bounded shape the hub accepts from clients) and `session-close`: the protocol's. */
export { sessionCloseSchema, signalSchema };

/** `GET /api/config`: what a page needs from the hub before it connects. */
export const clientConfigSchema = z.object({
  iceServers: z
    .array(
      z.object({
        urls: z.union([z.string().max(300), z.array(z.string().max(300)).max(10)]),
        username: z.string().max(200).optional(),
        credential: z.string().max(200).optional(),
      }),
    )
    .max(10)
    .optional(),
  /** The cluster's hubs (several on Redis), this one first: where the page reconnects when its hub disappears. */
  hubs: z.array(z.string().url().max(300)).max(16).optional(),
});

/**
 * Parse a hub ack; a malformed one becomes an `internal` refusal carrying what was wrong,
 * so a caller has one failure path for refusals and garbage alike.
 */
export function parseAck<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  what: string,
  bounds?: Bounds,
): T | { ok: false; code: string; message: string } {
  const p = parse(schema, raw, bounds);
  return p.ok ? p.value : { ok: false, code: 'internal', message: `malformed ${what} reply: ${p.message}` };
}

/** The part of a socket an `ask` needs (socket.io's, or a test double). */
export type AckEmitter = AckedSocket;

/**
 * Emit `event` with `req` and resolve with the parsed ack: a refusal on a malformed ack (`internal`), on no answer
 * within `timeoutMs` or the connection dropping first (`timeout`, acked-emit.ts), or when emit throws (`internal`).
 * Never rejects: callers have one failure path.
 */
export async function ask<T>(
  socket: AckEmitter,
  event: string,
  req: unknown,
  schema: z.ZodType<T>,
  timeoutMs: number,
): Promise<T | { ok: false; code: string; message: string }> {
  const r = await emitAcked(socket, event, req, timeoutMs);
  if ('lost' in r) return { ok: false, code: r.lost === 'threw' ? 'internal' : 'timeout', message: r.message };
  return parseAck(schema, r.ack, event);
}

/** `GET /api/hubs` (operator): the hubs of the cluster as each last reported itself. */
export const hubListSchema = z.object({
  hubs: z
    .array(
      z.object({
        id: z.string().max(64),
        url: z.string().max(300),
        clients: z.number().int().nonnegative(),
        servers: z.number().int().nonnegative(),
        /** Servers registered elsewhere that keep a connection to this hub (absent from hubs of an older Baton). */
        attached: z.number().int().nonnegative().default(0),
        leaseHolder: z.boolean(),
        lastSeenMs: z.number(),
      }),
    )
    .max(64),
});
export type HubListEntry = z.infer<typeof hubListSchema>['hubs'][number];
