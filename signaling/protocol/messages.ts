// The wire contract: schemas for every inbound message, and the shapes of requests and replies.
// A title's and description's schemas are asset-text.ts; the director's answers and the decision log, decisions.ts.
import { z } from 'zod';
import { ASSET_ID_PATTERN, FINGERPRINT_PATTERN, SERVER_ID_PATTERN, SESSION_ID_PATTERN } from './ids.js';
import { checkBounds, MESSAGE_BOUNDS, type Bounds } from './bounds.js';
import { linkLimitBps } from './frames.js';
import { MAX_CATALOG_QUERY_CHARS } from '../../common/catalog-search.js';
import { descriptionSchema, titleSchema } from './asset-text.js';
import type { IngestChoice } from './decisions.js';
import type { AssetInfo, LiveInfo, RenditionInfo, Place, SelectReason, ServerLoad, OwnDelta, ServerDescriptor } from './types.js';

export { MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, descriptionSchema, titleSchema } from './asset-text.js';
export type { DecisionEvent, IngestCandidates, IngestChoice, IngestDecision, SelectDecision } from './decisions.js';

/** socket.io drops any single message larger than this (bytes). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** A signal payload (SDP or ICE candidate) larger than this is refused. */
export const MAX_SIGNAL_BYTES = 16 * 1024;
/** The most assets one catalog or delta may carry. */
export const MAX_ASSETS_PER_MESSAGE = 100_000;
/** The most live streams one registration may list (also the most one server's row in the table holds). */
export const MAX_LIVE_PER_MESSAGE = 10_000;
/**
 * Largest director epoch anyone may send (2^48): far above any real count of rotations,
 * far enough below 2^53 that `epoch + 1` is always an exact integer.
 */
export const MAX_EPOCH = 2 ** 48;
/** Largest asset or stream size in bytes any message may state (1 PiB). */
export const MAX_ASSET_BYTES = 2 ** 50;
/** Timestamps (ms since 1970) stay below this (year ≈ 2255). */
export const MAX_TIME_MS = 9e12;

export const assetId = z.string().regex(ASSET_ID_PATTERN, 'asset id must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}');
export const serverId = z.string().regex(SERVER_ID_PATTERN, 'server id must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}');
export const sessionId = z.string().regex(SESSION_ID_PATTERN, 'bad session id');
const finite = z.number().finite();
const nonNeg = finite.min(0);
const lat = finite.min(-90).max(90);
const lon = finite.min(-180).max(180);
const shortText = z.string().max(200);

/** The tallest picture an asset may report (8K is 4320). */
export const MAX_PICTURE_HEIGHT_PX = 8_192;
/** The most assets one server's load report counts viewers for (its most-watched). */
export const MAX_VIEWED_ASSETS_PER_LOAD = 32;
/** The most assets one `viewers` request may ask about. */
export const MAX_VIEWERS_QUERY = 100;

/** A poster's version token (see AssetInfo.poster). */
const posterToken = z.string().regex(/^[a-z0-9]{1,16}$/, 'a poster token is 1 to 16 characters [a-z0-9]');

export const serverLoadSchema = z.strictObject({
  sessions: z.number().int().min(0).max(1_000_000),
  ingestSessions: z.number().int().min(0).max(1_000_000).optional(),
  storageWritable: z.literal(false).optional(),
  egressMbps: nonNeg.max(1_000_000),
  cpu: nonNeg.max(64),
  storageReadBytes: nonNeg.max(Number.MAX_SAFE_INTEGER).optional(),
  viewers: z
    .array(z.strictObject({ id: assetId, n: z.number().int().min(1).max(1_000_000) }))
    .max(MAX_VIEWED_ASSETS_PER_LOAD)
    .optional(),
  renditions: z
    .strictObject({ id: assetId, progress: z.number().min(0).max(1), queued: z.number().int().min(0).max(1_000_000) })
    .optional(),
}) satisfies z.ZodType<ServerLoad>;

export const assetInfoSchema = z.strictObject({
  id: assetId,
  bytes: z.number().int().min(0).max(MAX_ASSET_BYTES),
  mime: z.string().min(1).max(200),
  durationMs: nonNeg.max(MAX_TIME_MS).optional(),
  bitrateBps: nonNeg.max(1e12).optional(),
  title: titleSchema.optional(),
  description: descriptionSchema.optional(),
  poster: posterToken.optional(),
  heightPx: z.number().int().min(1).max(MAX_PICTURE_HEIGHT_PX).optional(),
  fingerprint: z.string().regex(FINGERPRINT_PATTERN).optional(),
}) satisfies z.ZodType<AssetInfo>;

export const liveInfoSchema = z.strictObject({
  id: assetId,
  bytes: z.number().int().min(0).max(MAX_ASSET_BYTES),
  live: z.boolean(),
  mime: z.string().min(1).max(200),
  peer: serverId.optional(),
  startedAtMs: nonNeg.max(MAX_TIME_MS),
  owner: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  title: titleSchema.optional(),
  description: descriptionSchema.optional(),
  poster: posterToken.optional(),
}) satisfies z.ZodType<LiveInfo>;

/** A stream's ownership secret, minted by the hub at its first assignment (32 random bytes, base64url). */
export const streamSecretSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a stream secret is 43 base64url characters');

export const roleSchema = z.enum(['edge', 'ingest']);

/** A media server process (random per process): tells a restarted server from the one before it. */
const instanceSchema = z.string().regex(/^[A-Za-z0-9_-]{8,32}$/, 'an instance is 8-32 base64url characters');

/** The shortest and longest heartbeat period of a server (`--heartbeat-ms` of hub and server), ms. */
export const MIN_HEARTBEAT_MS = 50;
export const MAX_HEARTBEAT_MS = 60_000;
/** A heartbeat period, ms (a registration's `heartbeatMs`, the hub's and the server's `--heartbeat-ms`). */
export const heartbeatMsSchema = z.number().int().min(MIN_HEARTBEAT_MS).max(MAX_HEARTBEAT_MS);

export const serverDescriptorSchema = z.strictObject({
  id: serverId,
  region: z.string().min(1).max(64),
  lat,
  lon,
  roles: z.array(roleSchema).min(1).max(2),
  maxSessions: z.number().int().min(1).max(1_000_000),
  maxIngestSessions: z.number().int().min(0).max(1_000_000).optional(),
  uplinkMbps: finite.gt(0).max(1_000_000),
  load: serverLoadSchema,
  cache: z.array(assetId).max(MAX_ASSETS_PER_MESSAGE),
  storage: z.array(assetInfoSchema).max(MAX_ASSETS_PER_MESSAGE),
  live: z.array(liveInfoSchema).max(MAX_LIVE_PER_MESSAGE),
  httpUrl: z.string().url().max(300).optional(),
  lastEpoch: z.number().int().min(0).max(MAX_EPOCH).optional(),
  instance: instanceSchema.optional(),
  heartbeatMs: heartbeatMsSchema.optional(),
}) satisfies z.ZodType<ServerDescriptor>;

export const ownDeltaSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('load'), load: serverLoadSchema }),
  z.strictObject({ type: z.literal('cache-add'), assets: z.array(assetId).min(1).max(MAX_ASSETS_PER_MESSAGE) }),
  z.strictObject({ type: z.literal('cache-remove'), assets: z.array(assetId).min(1).max(MAX_ASSETS_PER_MESSAGE) }),
  z.strictObject({ type: z.literal('storage-add'), assets: z.array(assetInfoSchema).min(1).max(MAX_ASSETS_PER_MESSAGE) }),
  z.strictObject({ type: z.literal('storage-remove'), assets: z.array(assetId).min(1).max(MAX_ASSETS_PER_MESSAGE) }),
  z.strictObject({ type: z.literal('live'), stream: liveInfoSchema }),
  z.strictObject({ type: z.literal('live-remove'), assetId }),
]) satisfies z.ZodType<OwnDelta>;

export const reportSchema = z.array(ownDeltaSchema).min(1).max(1000);

export const heartbeatSchema = z.strictObject({ load: serverLoadSchema.optional() });

/**
 * Several hubs: a server registered on one hub also attaches to each other hub it was given, so those hubs ask it
 * and open its sessions directly instead of through its hub's inbox (`instance` as in its registration).
 */
export const serverAttachSchema = z.strictObject({
  id: serverId,
  instance: instanceSchema.optional(),
});

/** Bounds of a simple-peer signal payload: an SDP or an ICE candidate is a few levels deep. */
export const SIGNAL_BOUNDS: Bounds = Object.freeze({ maxDepth: 8, maxBytes: MAX_SIGNAL_BYTES, maxKeys: 256 });

/**
 * A signal payload (an SDP or an ICE candidate): opaque, size-bounded. The size is checked
 * by an iterative walk that stops at the bound (never `JSON.stringify`, which recurses).
 */
export const signalData = z.record(z.string(), z.unknown()).superRefine((d, ctx) => {
  const b = checkBounds(d, SIGNAL_BOUNDS);
  if (!b.ok) ctx.addIssue({ code: 'custom', message: `signal payload ${b.message}` });
});

export const signalSchema = z.strictObject({ sessionId, data: signalData });

export const watchSchema = z.strictObject({
  assetId,
  /** Byte offset to resume from (failover). */
  offset: z.number().int().min(0).max(MAX_ASSET_BYTES).optional(),
  /** Servers the client will not accept (e.g. the one that just died). */
  exclude: z.array(serverId).max(16).optional(),
  /**
   * The client's first signal (its WebRTC offer), made while the director chooses: the hub hands it to
   * the chosen server with its session-open, and the server's answer comes back in the reply.
   */
  offer: signalData.optional(),
  /**
   * The viewer's delivery limit (bits per second), applied from the first byte: the server starts sending when the
   * channel opens, before a `limit` frame sent then could arrive (the fast-start burst went out unlimited).
   */
  limitBps: linkLimitBps.optional(),
});

export const locationSchema = z.union([z.string().trim().min(1).max(120), z.strictObject({ lat, lon, label: shortText.optional() })]);

export const publishSchema = z.strictObject({
  streamKey: z.string().min(1).max(512),
  location: locationSchema,
  /** Desired stream id; the hub derives one from the key when absent. */
  streamId: assetId.optional(),
  /** Servers the client will not accept (replacement of a failed backup). */
  exclude: z.array(serverId).max(16).optional(),
  /** Proof of ownership of `streamId` (from the first reply), needed to continue it from another connection. */
  streamSecret: streamSecretSchema.optional(),
  /** What viewers see instead of the stream id; stored with the recording. */
  title: titleSchema.optional(),
  description: descriptionSchema.optional(),
});

/** How many are watching these assets, cluster-wide (the player polls its asset's count). */
export const viewersQuerySchema = z.strictObject({
  assetIds: z.array(assetId).min(1).max(MAX_VIEWERS_QUERY),
});

/** The most entries one catalog page carries (`limit` is at most this). */
export const MAX_CATALOG_PAGE = 1_000;

/**
 * `catalog-query`: a page of the catalog after `cursor`, only the entries matching `q` (every word, in
 * the title, description or id), or one entry (`id`) with its whole description.
 */
export const catalogQuerySchema = z.strictObject({
  q: z.string().max(MAX_CATALOG_QUERY_CHARS).optional(),
  cursor: assetId.optional(),
  limit: z.number().int().min(1).max(MAX_CATALOG_PAGE).optional(),
  id: assetId.optional(),
});
export type CatalogQuery = z.infer<typeof catalogQuerySchema>;

export const placesSchema = z.strictObject({ q: z.string().trim().min(1).max(120), limit: z.number().int().min(1).max(20).optional() });

/** `--ice-servers` JSON: STUN/TURN servers for clients and media servers. */
export const iceServersSchema = z
  .array(
    z.strictObject({
      urls: z.union([
        z.string().regex(/^(stun|stuns|turn|turns):/, 'ICE urls start with stun:, stuns:, turn: or turns:'),
        z.array(z.string().regex(/^(stun|stuns|turn|turns):/)).min(1),
      ]),
      username: z.string().max(200).optional(),
      credential: z.string().max(200).optional(),
    }),
  )
  .max(10);

export const leaveSchema = z.strictObject({ sessionId });

// Hub → director requests, validated by the server before it answers.
export const selectRequestSchema = z.strictObject({
  requestId: z.string().min(1).max(64),
  epoch: z.number().int().min(0).max(MAX_EPOCH),
  assetId,
  exclude: z.array(serverId).max(16).optional(),
});

export const placeSchema = z.strictObject({
  lat,
  lon,
  label: shortText,
  source: z.enum(['typed', 'coordinates', 'ip', 'device']),
}) satisfies z.ZodType<Place>;

export const selectIngestRequestSchema = z.strictObject({
  requestId: z.string().min(1).max(64),
  epoch: z.number().int().min(0).max(MAX_EPOCH),
  streamId: assetId,
  typed: placeSchema,
  ip: placeSchema.nullable(),
  exclude: z.array(serverId).max(16).optional(),
  /** The only servers that may be chosen: where a broadcast's copies are (a WHIP resume, a finished stream carried on). */
  only: z.array(serverId).min(1).max(2).optional(),
});

export type WatchRequest = z.infer<typeof watchSchema>;
export type PublishRequest = z.infer<typeof publishSchema>;
export type SelectRequest = z.infer<typeof selectRequestSchema>;
export type SelectIngestRequest = z.infer<typeof selectIngestRequestSchema>;
export type SignalMessage = z.infer<typeof signalSchema>;

/** Sent to a media server when a client session is routed to it. */
export interface SessionOpen {
  sessionId: string;
  kind: 'watch' | 'publish';
  assetId: string;
  offset: number;
  /** Publish only: whether this server is the primary or backup of the pair. */
  role?: 'primary' | 'backup';
  peer?: string;
  /** Publish only: the stream's ownership secret; a server writes one stream id for one secret only. */
  streamSecret?: string;
  /**
   * Publish only: when the hub first granted the stream id to its publisher (ms since the epoch). The server counts the
   * stream's bitrate quota from the earliest of this and the table's copies (the hub's word, never the publisher's).
   */
  startedAtMs?: number;
  /** Publish only: the broadcaster's title and description, stored with the recording. */
  title?: string;
  description?: string;
  /** Watch only: the viewer's WebRTC offer (from its `watch`); the server answers it in its ack. */
  offer?: Record<string, unknown>;
  /** Watch only: the viewer's delivery limit (from its `watch`), bits per second, from the first byte. */
  limitBps?: number;
}

/** A server's yes to `session-open`; with an offer, its answer when made in time (else it follows as a `signal`). */
export interface SessionOpenAccepted {
  answer?: Record<string, unknown>;
}

export interface WatchReply {
  sessionId: string;
  server: { id: string; region: string };
  reason: SelectReason;
  loadFactor: number;
  epoch: number;
  /** The server's WebRTC answer to the watch's offer, when it came with the server's yes. */
  answer?: Record<string, unknown>;
}

export interface PublishReply {
  streamId: string;
  /** Proof of ownership: send it with any later `publish` of this stream (replacements, after a reconnect). */
  streamSecret: string;
  primary: IngestChoice & { sessionId: string };
  backup: (IngestChoice & { sessionId: string }) | null;
  ipUnknown: boolean;
  epoch: number;
}

export interface CatalogEntry extends AssetInfo {
  live: boolean;
  holders: string[];
  /** Where a browser gets the poster (a holder's HTTP side, versioned: cache it for good); absent when none has one. */
  posterUrl?: string;
  /** Viewer sessions open for it across the cluster, from the servers' load reports. */
  viewers?: number;
  /** Smaller renditions of a stored asset, tallest first (absent when it has none). */
  renditions?: RenditionInfo[];
}

/**
 * Parse with a schema; return the value or a human-readable reason. Depth and size are
 * checked first (`bounds`), so zod never walks a value deeper or larger than that.
 */
export function parse<T>(
  schema: z.ZodType<T>,
  value: unknown,
  bounds: Bounds = MESSAGE_BOUNDS,
): { ok: true; value: T } | { ok: false; message: string } {
  const b = checkBounds(value, bounds);
  if (!b.ok) return { ok: false, message: `message ${b.message}` };
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return { ok: false, message: `${where}${issue?.message ?? 'invalid message'}` };
}
