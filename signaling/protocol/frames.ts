// The delivery data channel's framing: JSON control messages as text, media chunks as binary.
import { z } from 'zod';
import { ASSET_ID_PATTERN, FINGERPRINT_PATTERN } from './ids.js';
import { checkBounds, type Bounds } from './bounds.js';
import { MAX_LINK_LIMIT_BPS, MIN_LINK_LIMIT_BPS } from './link-limit.js';

/** Largest message either side puts on the data channel (browsers close channels past 256 KiB). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Media frame header: one kind byte, then the byte offset as a big-endian uint64. */
export const MEDIA_HEADER_BYTES = 9;
/** Largest media payload in one frame. */
export const MAX_MEDIA_PAYLOAD_BYTES = MAX_FRAME_BYTES - MEDIA_HEADER_BYTES;
/** Control frames are small; anything longer is refused before JSON.parse. */
export const MAX_CONTROL_FRAME_CHARS = 4 * 1024;

/** First byte of a binary frame. Only media exists today; new kinds get new bytes. */
export const FrameKind = { media: 0x01 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Error codes carried by `{ t: 'error' }` frames and reported by decoders. */
export const FrameErrorCode = {
  badFrame: 'bad-frame',
  badRequest: 'bad-request',
  unknownAsset: 'unknown-asset',
  readFailed: 'read-failed',
  timeout: 'timeout',
  /**
   * The stored file under the asset's id changed on this server: the session ends rather than mix two files; the viewer
   * resumes on another holder whose copy has the fingerprint it started on (never on this server again), or stops.
   */
  assetChanged: 'asset-changed',
  /**
   * The stored file under the asset's id was rewritten in place on this server (the same inode and size: caught by a
   * storage rescan, not by the reads before it), so bytes already sent may be the new file's: the viewer stops.
   */
  assetRewritten: 'asset-rewritten',
  /**
   * The stored file under the asset's id left this server (deleted, its storage gone): the viewer resumes on another
   * holder at the same byte, as when a server dies (and only on a copy with the fingerprint it started on).
   */
  assetGone: 'asset-gone',
  /**
   * The session was idle too long (paused, at the end of a stored asset, or at the edge of a live stream that does not
   * grow) and the server closed it to free its slot: no failure. The viewer holds no session until it needs bytes
   * again (a resume, a seek), then asks for a new one from where it is.
   */
  idle: 'idle',
} as const;
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const count = z.number().finite().min(0);

// ---- client → server ------------------------------------------------------

export { MAX_LINK_LIMIT_BPS, MIN_LINK_LIMIT_BPS };
/** A viewer's delivery limit, bits per second (the `limit` frame, a `watch`'s `limitBps`). */
export const linkLimitBps = z.number().int().min(MIN_LINK_LIMIT_BPS).max(MAX_LINK_LIMIT_BPS);

export const clientControlSchema = z.discriminatedUnion('t', [
  /**
   * Send from `offset`: starts, resumes, or seeks. Without `offset`, from where the session was
   * opened (the watch request's offset). With `timeMs` (ms of media time; wins over `offset`), from
   * the keyframe Cluster at or before that time of a stored asset. `fast` asks for no pacing
   * (downloads, benchmarks); backpressure still applies.
   */
  z.strictObject({ t: z.literal('play'), offset: offset.optional(), timeMs: offset.optional(), fast: z.boolean().optional() }),
  z.strictObject({ t: z.literal('pause') }),
  z.strictObject({ t: z.literal('resume') }),
  /** The viewer is done; the server ends the session. */
  z.strictObject({ t: z.literal('stop') }),
  /** Ask for a `stats` frame. */
  z.strictObject({ t: z.literal('stats') }),
  /**
   * Send this session no faster than `bps` on average (null: no limit): a viewer on a metered or slow
   * link (and the adaptive-bitrate test, which plays a throttled link) slows its own delivery down.
   */
  z.strictObject({ t: z.literal('limit'), bps: linkLimitBps.nullable() }),
]);
export type ClientControl = z.infer<typeof clientControlSchema>;

// ---- server → client ------------------------------------------------------

export const metaSchema = z.strictObject({
  t: z.literal('meta'),
  assetId: z.string().regex(ASSET_ID_PATTERN),
  /** MSE type string. */
  mime: z.string().min(1).max(200),
  /** Bytes available now (grows while `live`). */
  bytes: offset,
  live: z.boolean(),
  bitrateBps: count.optional(),
  /** Where the media frames that follow this meta start. */
  offset,
  /** Answering a `play` by time: the `timeMs` asked for, and the media time the frames start at. */
  seekMs: offset.optional(),
  timeMs: offset.optional(),
  /** Media duration when known (stored assets). */
  durationMs: count.optional(),
  /** Length of the init segment (EBML header, Info, Tracks) when known: a player starting mid-asset needs these bytes first. */
  initBytes: offset.optional(),
  /** A stored asset: which copy this server sends (`AssetInfo.fingerprint`); a resume elsewhere must find the same one. */
  fingerprint: z.string().regex(FINGERPRINT_PATTERN).optional(),
  /**
   * A live late joiner: its session bytes past the init segment are file bytes
   * from `joinedAt` on (file offset = session offset + `skipBytes`). A viewer
   * resuming elsewhere asks for file offsets.
   */
  joinedAt: offset.optional(),
  skipBytes: offset.optional(),
  /**
   * A live stream: when its media time 0 was (ms since the epoch, the server's clock), estimated from
   * its Clusters' arrivals (LiveWriter.mediaZeroAtMs). A player's latency is its wall clock minus
   * (startedAtMs + media time).
   */
  startedAtMs: offset.optional(),
});
export type MetaFrame = z.infer<typeof metaSchema>;

export const endSchema = z.strictObject({ t: z.literal('end'), bytes: offset });
export type EndFrame = z.infer<typeof endSchema>;

export const errorFrameSchema = z.strictObject({
  t: z.literal('error'),
  code: z.string().min(1).max(64),
  message: z.string().max(500),
});
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

export const serverStatsSchema = z.strictObject({
  t: z.literal('stats'),
  bytesSent: offset,
  /** Egress over the last few seconds, bits per second. */
  egressBps: count,
  /** Bytes handed to the channel and not yet on the wire. */
  queuedBytes: count,
  /** Next byte the server will send. */
  offset,
  /** Current pacing target, bits per second; absent when unpaced. */
  paceBps: count.optional(),
});
export type ServerStatsFrame = z.infer<typeof serverStatsSchema>;

export const serverControlSchema = z.discriminatedUnion('t', [metaSchema, endSchema, errorFrameSchema, serverStatsSchema]);
export type ServerControl = z.infer<typeof serverControlSchema>;

// ---- frames ---------------------------------------------------------------

export interface MediaFrame {
  kind: 'media';
  offset: number;
  /** A view into the received message (not a copy). */
  payload: Uint8Array;
}

export type ClientFrame = { kind: 'control'; msg: ClientControl };
export type ServerFrame = { kind: 'control'; msg: ServerControl } | MediaFrame;

export type Decoded<F> = { ok: true; frame: F } | { ok: false; code: FrameErrorCode; message: string };

/** Encode a control message as a text frame. */
export function encodeControl(msg: ClientControl | ServerControl): string {
  return JSON.stringify(msg);
}

/** Encode a media chunk: payload must be 1..MAX_MEDIA_PAYLOAD_BYTES bytes. */
export function encodeMedia(at: number, payload: Uint8Array): Uint8Array {
  const { frame, payload: slot } = allocMediaFrame(at, payload.byteLength);
  slot.set(payload);
  return frame;
}

/**
 * A media frame with its header written and the payload left for the caller to fill
 * (saves a copy when the payload is gathered from several buffers).
 */
export function allocMediaFrame(at: number, payloadBytes: number): { frame: Uint8Array; payload: Uint8Array } {
  if (!Number.isSafeInteger(at) || at < 0) throw new RangeError(`media offset must be a safe non-negative integer, got ${at}`);
  if (!Number.isInteger(payloadBytes) || payloadBytes < 1 || payloadBytes > MAX_MEDIA_PAYLOAD_BYTES) {
    throw new RangeError(`media payload must be 1..${MAX_MEDIA_PAYLOAD_BYTES} bytes, got ${payloadBytes}`);
  }
  const frame = new Uint8Array(MEDIA_HEADER_BYTES + payloadBytes);
  const view = new DataView(frame.buffer);
  view.setUint8(0, FrameKind.media);
  view.setBigUint64(1, BigInt(at), false);
  return { frame, payload: frame.subarray(MEDIA_HEADER_BYTES) };
}

/** Decode what the server receives. Never throws. */
export function decodeClientFrame(data: unknown): Decoded<ClientFrame> {
  if (typeof data !== 'string') {
    if (asBytes(data)) return fail('bad-frame', 'clients send text control frames only');
    return fail('bad-frame', `unsupported frame type ${describe(data)}`);
  }
  const json = parseJson(data);
  if (!json.ok) return json;
  const r = clientControlSchema.safeParse(json.value);
  if (!r.success) return fail('bad-request', zodMessage(r.error));
  return { ok: true, frame: { kind: 'control', msg: r.data } };
}

/** Decode what the viewer receives. Never throws. */
export function decodeServerFrame(data: unknown): Decoded<ServerFrame> {
  if (typeof data === 'string') {
    const json = parseJson(data);
    if (!json.ok) return json;
    const r = serverControlSchema.safeParse(json.value);
    if (!r.success) return fail('bad-frame', zodMessage(r.error));
    return { ok: true, frame: { kind: 'control', msg: r.data } };
  }
  const bytes = asBytes(data);
  if (!bytes) return fail('bad-frame', `unsupported frame type ${describe(data)}`);
  return decodeMedia(bytes);
}

function decodeMedia(bytes: Uint8Array): Decoded<MediaFrame> {
  if (bytes.byteLength > MAX_FRAME_BYTES) return fail('bad-frame', `binary frame of ${bytes.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  if (bytes.byteLength <= MEDIA_HEADER_BYTES) return fail('bad-frame', `binary frame of ${bytes.byteLength} bytes has no payload`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  if (kind !== FrameKind.media) return fail('bad-frame', `unknown binary frame kind 0x${kind.toString(16).padStart(2, '0')}`);
  const big = view.getBigUint64(1, false);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return fail('bad-frame', 'media offset beyond 2^53');
  return { ok: true, frame: { kind: 'media', offset: Number(big), payload: bytes.subarray(MEDIA_HEADER_BYTES) } };
}

/** Control frames are flat objects; a few levels leave room for growth, never for a deep walk. */
export const CONTROL_FRAME_BOUNDS: Bounds = Object.freeze({ maxDepth: 8, maxBytes: MAX_CONTROL_FRAME_CHARS, maxKeys: 256 });

/**
 * A text control frame's JSON, refused when too long, malformed, or nested deeper than
 * CONTROL_FRAME_BOUNDS (checked before zod walks it). Shared with ingest-frames.
 */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; code: 'bad-frame'; message: string } {
  if (text.length > MAX_CONTROL_FRAME_CHARS)
    return { ok: false, code: 'bad-frame', message: `control frame longer than ${MAX_CONTROL_FRAME_CHARS} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad-frame', message: 'control frame is not valid JSON' };
  }
  const b = checkBounds(value, CONTROL_FRAME_BOUNDS);
  return b.ok ? { ok: true, value } : { ok: false, code: 'bad-frame', message: `control frame ${b.message}` };
}

/** Uint8Array (Buffer included), ArrayBuffer, or another typed-array view; otherwise undefined. */
export function asBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

function describe(data: unknown): string {
  if (data === null) return 'null';
  if (typeof data === 'object') return (data as object).constructor?.name ?? 'object';
  return typeof data;
}

/** The first schema issue as one short line, for an error frame. */
export function zodMessage(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue?.message ?? 'invalid frame'}`.slice(0, 300);
}

function fail(code: FrameErrorCode, message: string): { ok: false; code: FrameErrorCode; message: string } {
  return { ok: false, code, message };
}
