// Schemas of what the hub sends replicas about the state table — a snapshot, a batch of versioned deltas, the
// answer to `resync` — and the decisions a dashboard shows. Media servers and dashboards parse them where they come
// off the socket, once (common/replica-follower.ts); the hub builds them from rows its own schemas already passed.
import { z } from 'zod';
import type { Bounds } from './bounds.js';
import {
  assetId,
  assetInfoSchema,
  liveInfoSchema,
  MAX_ASSETS_PER_MESSAGE,
  MAX_EPOCH,
  MAX_TIME_MS,
  placeSchema,
  serverDescriptorSchema,
  serverId,
  serverLoadSchema,
  type DecisionEvent,
} from './messages.js';
import { ackSchema, ingestDecisionSchema, selectDecisionSchema } from './replies.js';
import type { Delta, DirectorInfo, ServerEntry, TableSnapshot, VersionedDelta } from './types.js';

/** The most servers a snapshot may list (as many as a message may list assets). */
export const MAX_TABLE_SERVERS = 100_000;
/**
 * The most deltas one batch may carry: a batch is one event-loop turn's changes, and after a Redis outage the
 * outbox of up to 50,000 (signaling/core/delta-feed.ts) goes out at once.
 */
export const MAX_DELTAS_PER_BATCH = 100_000;
/**
 * What a snapshot or a batch may take, checked before zod walks it: far above a real table (1,000 servers holding
 * 10,000 assets is ≈ 4 MB), it bounds the walk, not the cluster. The depth is what a table needs (a load's viewers
 * are six levels down), so a hostile nesting is refused before any recursion.
 */
export const TABLE_BOUNDS: Bounds = Object.freeze({ maxDepth: 8, maxBytes: 256 * 1024 * 1024, maxKeys: 20_000_000 });

const epoch = z.number().int().min(0).max(MAX_EPOCH);
const timeMs = z.number().finite().min(0).max(MAX_TIME_MS);
const assets = z.array(assetId).min(1).max(MAX_ASSETS_PER_MESSAGE);

export const directorInfoSchema = z.strictObject({ id: serverId, epoch, sinceMs: timeMs }) satisfies z.ZodType<DirectorInfo>;

export const serverEntrySchema = serverDescriptorSchema.extend({ joinedAtMs: timeMs }) satisfies z.ZodType<ServerEntry>;

export const deltaSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('server-joined'), server: serverEntrySchema }),
  z.strictObject({ type: z.literal('server-left'), id: serverId, reason: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal('load'), id: serverId, load: serverLoadSchema }),
  z.strictObject({ type: z.literal('cache-add'), id: serverId, assets }),
  z.strictObject({ type: z.literal('cache-remove'), id: serverId, assets }),
  z.strictObject({ type: z.literal('storage-add'), id: serverId, assets: z.array(assetInfoSchema).min(1).max(MAX_ASSETS_PER_MESSAGE) }),
  z.strictObject({ type: z.literal('storage-remove'), id: serverId, assets }),
  z.strictObject({ type: z.literal('live'), id: serverId, stream: liveInfoSchema }),
  z.strictObject({ type: z.literal('live-remove'), id: serverId, assetId }),
  z.strictObject({ type: z.literal('director'), director: directorInfoSchema.nullable() }),
]) satisfies z.ZodType<Delta>;

const version = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const versionedDeltaSchema = z.strictObject({ v: version, d: deltaSchema }) satisfies z.ZodType<VersionedDelta>;

/** Hub → server and dashboard `deltas`. */
export const deltaBatchSchema = z.array(versionedDeltaSchema).max(MAX_DELTAS_PER_BATCH);

/** The whole table: a dashboard's `snapshot`, a registration's ack, a resync's answer. */
export const tableSnapshotSchema = z.strictObject({
  version,
  director: directorInfoSchema.nullable(),
  servers: z.array(serverEntrySchema).max(MAX_TABLE_SERVERS),
}) satisfies z.ZodType<TableSnapshot>;

/**
 * The hub's answer to `resync` and `register`: the ack around a snapshot. The snapshot is left unread here: the
 * replica that loads it parses it (`tableSnapshotSchema`), so a large table is walked once.
 */
export const snapshotReplySchema = ackSchema({ snapshot: z.unknown() });

/** Hub → dashboard `decision`: a watch placed, a publish assigned, the director changed. */
export const decisionEventSchema = z.discriminatedUnion('kind', [
  selectDecisionSchema.extend({ kind: z.literal('watch'), atMs: timeMs, assetId }),
  ingestDecisionSchema.extend({
    kind: z.literal('publish'),
    atMs: timeMs,
    streamId: assetId,
    typed: placeSchema,
    ip: placeSchema.nullable(),
  }),
  z.object({ kind: z.literal('director'), atMs: timeMs, director: directorInfoSchema.nullable(), reason: z.string().min(1).max(64) }),
]) satisfies z.ZodType<DecisionEvent>;
