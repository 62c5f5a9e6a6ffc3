// What a viewer's delivery session takes and reports: its options, the timeouts and bounds they default to, its
// events, states and stats. Apart from serve-session.ts so that file is the session's behaviour alone.
import type { ByteSource } from '../contracts.js';
import type { PeerSessionOptions } from '../webrtc/peer.js';
import type { SeekIndex } from '../storage/seek-index.js';
import { MAX_FRAME_BYTES, type ServerControl } from '../../signaling/protocol/frames.js';
import type { PacingConfig } from './pacer.js';
import { UNCONNECTED_SESSION_MS } from '../slot-defaults.js';
import type { AssetFacts } from './asset-facts.js';

/** A session whose channel is not open by then is closed, freeing its slot (see `UNCONNECTED_SESSION_MS`). */
export const CONNECT_TIMEOUT_MS = UNCONNECTED_SESSION_MS;
/** A write the channel has not accepted for this long means the viewer stopped reading. */
export const STALL_TIMEOUT_MS = 15_000;
/**
 * A viewer that keeps the sender waiting yet receives under SLOW_FRACTION of the media
 * bitrate for this long cannot play the stream; it is told and dropped (it may fail over).
 */
export const SLOW_VIEWER_MS = 20_000;
/**
 * Paused, or waiting on a live stream that does not grow (with nothing from the viewer either): closed after this long
 * (the viewer is told `idle` and asks for a new session when it wants bytes again). A paused or ended session's
 * `stats` and `limit` frames do not count as activity: a player paused for good sends `stats` every second, and held
 * its slot until it disconnected.
 */
export const IDLE_TIMEOUT_MS = 120_000;
/**
 * A stored asset sent to its end: closed after this long (or IDLE_TIMEOUT_MS when shorter). Long enough for a seek while
 * the player plays out what it has ahead (about 10 s) to reuse the session; after it, a seek back asks for a new one.
 */
export const ENDED_IDLE_TIMEOUT_MS = 10_000;
/** How often a caught-up live session looks for new bytes (ByteSource has no growth event). */
export const LIVE_POLL_MS = 100;
/** Timeouts and the egress figure are checked this often. */
export const WATCHDOG_INTERVAL_MS = 1_000;
/** Malformed control frames tolerated (each answered with an error frame) before closing. */
export const MAX_BAD_FRAMES = 16;
/**
 * simple-peer stops calling back writes once the channel's bufferedAmount passes 64 KiB,
 * and the session has one write outstanding at a time, so a viewer never has more than
 * this many bytes queued on the server (plus the SCTP stack's own fixed send buffer).
 */
export const MAX_QUEUED_BYTES = 64 * 1024 + MAX_FRAME_BYTES;
/** Control replies (stats, errors, meta) a viewer may leave unread past MAX_QUEUED_BYTES before it is dropped. */
export const MAX_CONTROL_BACKLOG_BYTES = 64 * 1024;

export type ServeState = 'connecting' | 'streaming' | 'paused' | 'ended' | 'closed';

export interface ServeSessionEvents {
  /** The data channel opened. */
  connected: [];
  /** Media bytes handed to the channel (payload only). */
  sent: [bytes: number];
  /** Every byte up to `bytes` was sent and the asset is not live. */
  end: [bytes: number];
  /** Once, whatever ended the session. */
  closed: [reason: string, error?: Error];
}

export interface ServeSessionOptions extends PeerSessionOptions {
  source: ByteSource;
  /** Byte offset to start at (the hub's `session-open` offset). */
  offset: number;
  /** The viewer's delivery limit from its watch (bits per second), from the first byte; a `limit` frame changes it. */
  limitBps?: number;
  /**
   * Catalog facts (pass the store's AssetInfo). Without a MIME type, MIME and bitrate are
   * probed from the asset's first block; without a bitrate the session is not paced.
   */
  asset?: Partial<AssetFacts>;
  /**
   * The asset's keyframe Clusters with their times, for a `play` by time (stored assets). Without
   * it, or for a live source, such a play is answered `not-seekable`.
   */
  seekIndex?: () => Promise<SeekIndex | undefined>;
  /** `false` never paces; an object overrides parts of the computed pacing. Default: paced. */
  pacing?: false | Partial<PacingConfig>;
  /**
   * Whether a viewer that asks for `fast` gets unpaced delivery: an operator's choice
   * (`baton server --allow-fast`, for benchmarks and trusted tools). Default false: every
   * viewer is paced, and may catch up only at the pacer's 1.5×.
   */
  allowFast?: boolean;
  /** Defaults: CONNECT_TIMEOUT_MS, STALL_TIMEOUT_MS, IDLE_TIMEOUT_MS, SLOW_VIEWER_MS. */
  timeouts?: { connectMs?: number; stallMs?: number; idleMs?: number; slowMs?: number };
}

export interface ServeStats {
  state: ServeState;
  bytesSent: number;
  /** Over the last few seconds, bits per second. */
  egressBps: number;
  queuedBytes: number;
  /** Largest queue seen since the session started. */
  maxQueuedBytes: number;
  /** Next byte to send. */
  offset: number;
  paceBps?: number;
}

/** The `stats` control frame for `s` (rates rounded to whole bits per second). */
export function statsFrame(s: ServeStats): Omit<Extract<ServerControl, { t: 'stats' }>, 't'> {
  const out: Omit<Extract<ServerControl, { t: 'stats' }>, 't'> = {
    bytesSent: s.bytesSent,
    egressBps: Math.round(s.egressBps),
    queuedBytes: s.queuedBytes,
    offset: s.offset,
  };
  if (s.paceBps !== undefined) out.paceBps = Math.round(s.paceBps);
  return out;
}
