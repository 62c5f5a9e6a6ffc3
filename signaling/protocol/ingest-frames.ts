// The ingest data channel's framing: broadcaster → server chunks (binary, with a sequence number) and JSON control.
import { z } from 'zod';
import { ASSET_ID_PATTERN } from './ids.js';
import { MAX_FRAME_BYTES, asBytes, parseJson, zodMessage } from './frames.js';

/**
 * Chunk frame header: one kind byte, the sequence number as a big-endian uint32, then
 * the chunk's byte offset in the stream as a big-endian uint64. The offset is
 * redundant with the sequence number, and lets the server catch a resend that
 * does not line up (a publisher bug) before it corrupts a file.
 */
export const CHUNK_HEADER_BYTES = 13;
/** Largest chunk payload in one frame: the whole frame stays within MAX_FRAME_BYTES (64 KiB). */
export const MAX_CHUNK_PAYLOAD_BYTES = MAX_FRAME_BYTES - CHUNK_HEADER_BYTES;
/** Sequence numbers are uint32: 2^32 chunks of 64 KiB are far more than any stream's size quota. */
export const MAX_SEQ = 0xffff_ffff;

/** First byte of an ingest binary frame; 0x01 is the delivery channel's media frame. */
export const IngestFrameKind = { chunk: 0x02 } as const;

/** Codes carried by ingest `error` frames. */
export const IngestErrorCode = {
  badFrame: 'bad-frame',
  badRequest: 'bad-request',
  /** A chunk that is not the next sequence number (after a gap): see `nack`. */
  outOfOrder: 'out-of-order',
  /** The stream's byte quota, or an oversized frame. */
  tooLarge: 'too-large',
  /** Faster than the stream's bitrate quota. */
  rateLimited: 'rate-limited',
  /** The server's disk is full; the partial copy is removed. */
  diskFull: 'disk-full',
  writeFailed: 'write-failed',
  /** The stream id is taken (finalized already, or another broadcaster holds it). */
  conflict: 'conflict',
  /** `end` disagrees with what was stored (byte count or sha256): nothing is finalized. */
  mismatch: 'mismatch',
  /** The server cannot resume from where the publisher can resend. */
  cannotResume: 'cannot-resume',
  timeout: 'timeout',
  shuttingDown: 'shutting-down',
  /** The bytes are not a WebM stream with accepted codecs (VP8/VP9/AV1 video, Opus/Vorbis audio). */
  unsupportedMedia: 'unsupported-media',
  /** Chunks arrive too many and too small (a flood): the session is closed. */
  tooManyChunks: 'too-many-chunks',
  /** The stream id is being written by another publisher (no matching stream secret). */
  notOwner: 'not-owner',
} as const;
export type IngestErrorCode = (typeof IngestErrorCode)[keyof typeof IngestErrorCode];

const seq = z.number().int().min(0).max(MAX_SEQ);
const bytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits');

// ---- publisher → server ------------------------------------------------------

export const ingestClientControlSchema = z.discriminatedUnion('t', [
  /** First message on the channel. The server answers `ready` with where to continue. */
  z.strictObject({
    t: z.literal('hello'),
    streamId: z.string().regex(ASSET_ID_PATTERN),
    /** MSE type string of the stream, e.g. `video/webm; codecs="vp8, opus"`. */
    mime: z.string().min(1).max(200),
    /** The oldest sequence number the publisher can still send (its resend buffer's start). */
    resumeFrom: seq.optional(),
  }),
  /** Every chunk was sent: finalize once `bytes` (and the sha256, when given) match. */
  z.strictObject({ t: z.literal('end'), bytes, sha256: sha256.optional() }),
]);
export type IngestClientControl = z.infer<typeof ingestClientControlSchema>;

// ---- server → publisher ------------------------------------------------------

export const ingestLimitsSchema = z.strictObject({
  /** The stream's average-bitrate quota, bits per second. */
  maxBitrateBps: z.number().finite().positive(),
  /** Bytes the publisher may send ahead of the average bitrate. */
  burstBytes: bytes,
  /** The stream's size quota. */
  maxBytes: bytes,
  /**
   * Each Cluster counts this many bytes against the bitrate quota (on top of its own), not the size quota: indexing
   * costs a server per Cluster, so tiny Clusters must not come as fast as bytes may. A publisher pacing itself to the
   * quota counts it too.
   */
  clusterBytes: bytes.optional(),
});
export type IngestLimits = z.infer<typeof ingestLimitsSchema>;

export const ingestServerControlSchema = z.discriminatedUnion('t', [
  /** Answer to hello: send from `nextSeq` (0 for a new copy), which starts at byte `bytes`. */
  z.strictObject({ t: z.literal('ready'), nextSeq: seq, bytes, limits: ingestLimitsSchema }),
  /** Every chunk up to and including `seq` is durably stored (fsynced); they total `bytes`. */
  z.strictObject({ t: z.literal('ack'), seq, bytes }),
  /** A chunk arrived after a gap: resend from `expected`. */
  z.strictObject({ t: z.literal('nack'), expected: seq }),
  /** The stream is finalized into the catalog. */
  z.strictObject({ t: z.literal('done'), bytes, sha256 }),
  z.strictObject({ t: z.literal('error'), code: z.string().min(1).max(64), message: z.string().max(500), fatal: z.boolean() }),
]);
export type IngestServerControl = z.infer<typeof ingestServerControlSchema>;

// ---- frames -----------------------------------------------------------------------

export interface ChunkFrame {
  kind: 'chunk';
  seq: number;
  offset: number;
  /** A view into the received message (not a copy). */
  payload: Uint8Array;
}

export type IngestClientFrame = { kind: 'control'; msg: IngestClientControl } | ChunkFrame;
export type IngestServerFrame = { kind: 'control'; msg: IngestServerControl };

export type IngestDecoded<F> = { ok: true; frame: F } | { ok: false; code: IngestErrorCode; message: string };

export function encodeIngestControl(msg: IngestClientControl | IngestServerControl): string {
  return JSON.stringify(msg);
}

/** Encode one chunk: payload must be 1..MAX_CHUNK_PAYLOAD_BYTES bytes. */
export function encodeChunk(seqNo: number, offset: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(seqNo) || seqNo < 0 || seqNo > MAX_SEQ)
    throw new RangeError(`seq must be an integer in 0..${MAX_SEQ}, got ${seqNo}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`chunk offset must be a safe non-negative integer, got ${offset}`);
  if (payload.byteLength === 0 || payload.byteLength > MAX_CHUNK_PAYLOAD_BYTES) {
    throw new RangeError(`chunk payload must be 1..${MAX_CHUNK_PAYLOAD_BYTES} bytes, got ${payload.byteLength}`);
  }
  const out = new Uint8Array(CHUNK_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, IngestFrameKind.chunk);
  view.setUint32(1, seqNo, false);
  view.setBigUint64(5, BigInt(offset), false);
  out.set(payload, CHUNK_HEADER_BYTES);
  return out;
}

/** Decode what an ingest server receives. Never throws. */
export function decodeIngestClientFrame(data: unknown): IngestDecoded<IngestClientFrame> {
  if (typeof data === 'string') {
    const json = parseJson(data);
    if (!json.ok) return json;
    const r = ingestClientControlSchema.safeParse(json.value);
    if (!r.success) return fail('bad-request', zodMessage(r.error));
    return { ok: true, frame: { kind: 'control', msg: r.data } };
  }
  const b = asBytes(data);
  if (!b) return fail('bad-frame', 'unsupported frame type');
  if (b.byteLength > MAX_FRAME_BYTES) return fail('too-large', `binary frame of ${b.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  if (b.byteLength <= CHUNK_HEADER_BYTES) return fail('bad-frame', `binary frame of ${b.byteLength} bytes has no payload`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const kind = view.getUint8(0);
  if (kind !== IngestFrameKind.chunk) return fail('bad-frame', `unknown binary frame kind 0x${kind.toString(16).padStart(2, '0')}`);
  const offset = view.getBigUint64(5, false);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return fail('bad-frame', 'chunk offset beyond 2^53');
  return {
    ok: true,
    frame: { kind: 'chunk', seq: view.getUint32(1, false), offset: Number(offset), payload: b.subarray(CHUNK_HEADER_BYTES) },
  };
}

/** Decode what a publisher receives. Never throws. */
export function decodeIngestServerFrame(data: unknown): IngestDecoded<IngestServerFrame> {
  if (typeof data !== 'string') {
    // simple-peer in object mode hands text over as a string; anything else is not ours.
    return fail('bad-frame', 'servers send text control frames only');
  }
  const json = parseJson(data);
  if (!json.ok) return json;
  const r = ingestServerControlSchema.safeParse(json.value);
  if (!r.success) return fail('bad-frame', zodMessage(r.error));
  return { ok: true, frame: { kind: 'control', msg: r.data } };
}

function fail(code: IngestErrorCode, message: string): { ok: false; code: IngestErrorCode; message: string } {
  return { ok: false, code, message };
}
