// Schemas for what servers answer the hub (director decisions, session acks) and for the hub's session messages.
import { z } from 'zod';
import { ErrorCode, SelectReason, type Ack } from './types.js';
import {
  assetId,
  MAX_ASSET_BYTES,
  MAX_EPOCH,
  MAX_TIME_MS,
  placeSchema,
  serverId,
  sessionId,
  streamSecretSchema,
  titleSchema,
  descriptionSchema,
  signalData,
  type IngestDecision,
  type PublishReply,
  type SelectDecision,
  type SessionOpen,
  type SessionOpenAccepted,
} from './messages.js';
import { linkLimitBps } from './frames.js';

const finite = z.number().finite();
const epoch = z.number().int().min(0).max(MAX_EPOCH);

/** `{ ok: false, code, message }` with a code of the shared vocabulary. */
export const ackErrorSchema = z.object({
  ok: z.literal(false),
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string().max(2_000),
});

/** An ack: `{ ok: true, …value }` or an error. Unknown keys of the value are dropped. */
export function ackSchema<T extends z.ZodRawShape>(value: T) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), ...value }), ackErrorSchema]);
}

/** A `select` decision: the director's answer, and the body of a watch `decision` the dashboard gets. */
export const selectDecisionSchema = z.object({
  serverId,
  reason: z.enum(Object.values(SelectReason) as [SelectReason, ...SelectReason[]]),
  loadFactor: finite,
  epoch,
}) satisfies z.ZodType<SelectDecision>;

/** The director's answer to `select`. */
export const selectAnswerSchema = ackSchema(selectDecisionSchema.shape) satisfies z.ZodType<Ack<SelectDecision>>;

const ingestChoice = z.object({
  serverId,
  region: z.string().min(1).max(64),
  rttMs: finite.min(0),
  from: placeSchema,
  loadFactor: finite,
});

/** A `select-ingest` decision: the director's answer, and the body of a publish `decision` the dashboard gets. */
export const ingestDecisionSchema = z.object({
  primary: ingestChoice,
  backup: ingestChoice.nullable(),
  ipUnknown: z.boolean(),
  candidates: z
    .object({
      rule: z.enum(['nearest', 'all']),
      nearestPerPlace: z.number().int().min(0).max(1_000),
      nearest: z.array(serverId).max(1_000),
      pool: z.array(serverId).max(100_000),
    })
    .optional(),
  epoch,
}) satisfies z.ZodType<IngestDecision>;

/** The director's answer to `select-ingest`. */
export const selectIngestAnswerSchema = ackSchema(ingestDecisionSchema.shape) satisfies z.ZodType<Ack<IngestDecision>>;

const uploadChoice = ingestChoice.extend({ sessionId });

/**
 * The hub's answer to `publish` (without the ack's `ok`): the stream, its secret and the sessions to upload to.
 * The client SDK parses the ack with it, and the primary of a WHIP broadcast the copy the hub sends with the offer.
 */
export const publishReplyBodySchema = z.object({
  streamId: assetId,
  streamSecret: streamSecretSchema,
  primary: uploadChoice,
  backup: uploadChoice.nullable(),
  ipUnknown: z.boolean(),
  epoch,
}) satisfies z.ZodType<PublishReply>;

/** A server's answer to `session-open`: accepted, or why not. */
export const sessionOpenAnswerSchema = ackSchema({ answer: signalData.optional() }) satisfies z.ZodType<Ack<SessionOpenAccepted>>;

/** Hub → server: a client session routed to this server. */
export const sessionOpenSchema = z.strictObject({
  sessionId,
  kind: z.enum(['watch', 'publish']),
  assetId,
  offset: z.number().int().min(0).max(MAX_ASSET_BYTES),
  role: z.enum(['primary', 'backup']).optional(),
  peer: serverId.optional(),
  streamSecret: streamSecretSchema.optional(),
  startedAtMs: z.number().int().min(0).max(MAX_TIME_MS).optional(),
  title: titleSchema.optional(),
  description: descriptionSchema.optional(),
  offer: signalData.optional(),
  limitBps: linkLimitBps.optional(),
}) satisfies z.ZodType<SessionOpen>;

/** Hub → server, hub → client: the hub ended a session, and why. */
export const sessionCloseSchema = z.strictObject({ sessionId, reason: z.string().min(1).max(64) });
export type SessionClose = z.infer<typeof sessionCloseSchema>;
