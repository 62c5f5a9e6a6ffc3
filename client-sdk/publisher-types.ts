// The Publisher's public shapes: options, the socket and peer it drives, its events, results and error.
import type { PublishReply, PublishRequest } from '../signaling/protocol/messages.js';
import type { Ack } from '../signaling/protocol/types.js';
import { CodedError } from '../common/coded-error.js';

/**
 * Default resend buffer. Frames stay in it until every upload acknowledged them
 * and the buffer is over this size, so a *replacement* server (which needs the
 * stream from chunk 0) can be filled as long as the stream so far fits: 64 MiB
 * is about 9 minutes at 1 Mbit/s, 3.5 minutes at 2.5 Mbit/s (camera HD).
 * Longer streams keep their last 64 MiB; a replacement that would need older
 * chunks is refused (`cannot-resume`) and the stream goes on with one copy,
 * unless the publisher can read its stream again (`reread`, a file).
 */
export const RESEND_BUFFER_BYTES = 64 * 1024 * 1024;
/** Unacknowledged bytes past the buffer size at which the slowest upload is dropped (push() never waits). */
export const OVERFLOW_FACTOR = 1.5;
/** No answer to `publish` within this long counts as a timeout. */
export const PUBLISH_ACK_TIMEOUT_MS = 10_000;
/** An upload that is not connected and `ready` by then has failed. */
export const UPLOAD_CONNECT_TIMEOUT_MS = 15_000;
/** Replacement servers asked for over one stream's life. */
export const MAX_REPLACEMENTS = 6;
export const REPLACE_RETRY_BASE_MS = 500;
/**
 * After the last chunk, servers have this long to finalize (a copy made again after the end included). Past it the
 * publish ends with the copies stored by then, or fails (`timeout`) when there are none.
 */
export const END_TIMEOUT_MS = 60_000;
/** A session the hub closed because it lost sight of the server (`server-gone`) is handed to the Publisher's watch this much later. */
export const HUB_CLOSE_GRACE_MS = 250;
/**
 * A session the server closed (the hub's `closed-by-server`) fails at most this much later. The server's reason (an
 * error frame on the data channel) races the hub's notice and is the better one: a stream error (`unsupported-media`…)
 * asks for no replacement, a bare close does. The server closes its end after the frame, so the upload normally fails
 * sooner, by the frame or by the close that follows it; this bounds the wait for a server that says neither. It was
 * 250 ms, and a loaded machine (CI, two test lanes) let the hub's notice win by more: both entry servers refused a
 * stream of empty Clusters, and the publisher asked for replacements and reported `no-ingest` instead of why.
 */
export const SERVER_CLOSE_WAIT_MS = 5_000;
/**
 * An upload whose server the hub dropped from its table (missed heartbeats) goes on while the server answers on
 * the data channel: a stalled server (a long pause, a starved machine) keeps its copy. It fails once it owes an
 * answer and has heard nothing for this long (from the hub's notice or the last frame, whichever is later), as
 * long as the hub's wait for a WHIP primary that left (WHIP_PRIMARY_AWAY_MS).
 */
export const UPLOAD_SILENT_MS = 10_000;
/**
 * Once an upload has sent `end` (every chunk is on the channel) the server owes only its last acks and `done`, which
 * take a flush and a rename (well under a second): silent this long, it is failing, whether or not a hub watches it,
 * and the copy it would have held is made again elsewhere while the publisher still holds the whole stream. Before,
 * only UPLOAD_SILENT_MS applied, and a 5-s upload had ended on one copy before a dead server's 10 s of silence.
 */
export const END_SILENT_MS = 5_000;
/** How often such an upload is checked for silence. */
export const SILENCE_CHECK_MS = 500;
/** `progress` at most this often. */
export const PROGRESS_INTERVAL_MS = 250;
/**
 * Failures of the stream itself (its quotas, media that is not media the servers take): another server would refuse
 * it the same way, so none is asked for, and the broadcaster is told this reason rather than `no-ingest`.
 */
export const STREAM_ERRORS: ReadonlySet<string> = new Set(['too-large', 'rate-limited', 'unsupported-media']);

/** The part of a socket.io-client Socket (on the hub's `/client` namespace) a Publisher uses. */
export interface PublisherSocket {
  emit(event: 'publish', req: PublishRequest, ack: (r: Ack<PublishReply>) => void): unknown;
  emit(event: 'signal', msg: { sessionId: string; data: unknown }): unknown;
  emit(event: 'leave', msg: { sessionId: string }): unknown;
  on(event: 'signal' | 'session-close', listener: (msg: any) => void): unknown;
  off(event: 'signal' | 'session-close', listener: (msg: any) => void): unknown;
  /** The hub connection dropped (socket.io's `disconnect`): from then on no hub watches this publisher's servers. */
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

/** The part of a simple-peer instance a Publisher uses. */
export interface PublisherPeer {
  on(event: 'signal' | 'data', listener: (data: any) => void): unknown;
  on(event: 'connect' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  signal(data: any): void;
  send(data: string): void;
  /** Stream write: the callback runs once the channel can take more (backpressure). */
  write(chunk: Uint8Array, cb: (err?: Error | null) => void): unknown;
  destroy(): void;
}

export type PublisherPeerConstructor = new (opts: {
  initiator: boolean;
  wrtc?: any;
  config?: { iceServers?: RTCIceServer[] };
  objectMode?: boolean;
  trickle?: boolean;
}) => PublisherPeer;

/** An incremental SHA-256 (Node: `() => createHash('sha256')`); browsers have none built in. */
export type HashFactory = () => { update(b: Uint8Array): unknown; digest(encoding: 'hex'): string };

export interface PublisherOptions {
  /** A connected socket.io-client Socket on the hub's `/client` namespace. */
  socket: PublisherSocket;
  SimplePeer: PublisherPeerConstructor;
  /** WebRTC implementation for Node (node-datachannel's polyfill); browsers use their own. */
  wrtc?: unknown;
  streamKey: string;
  /** Where the broadcaster is: a place name or coordinates. */
  location: PublishRequest['location'];
  /** Desired stream id; the hub picks one when absent. */
  streamId?: string;
  /** What viewers see instead of the stream id (≤ 200 characters); stored with the recording. */
  title?: string;
  /** ≤ 2,000 characters; stored with the recording. */
  description?: string;
  /** MSE type of the stream, e.g. `video/webm; codecs="vp8, opus"`. */
  mime: string;
  iceServers?: RTCIceServer[];
  /** Resend buffer size, bytes. Default RESEND_BUFFER_BYTES. */
  resendBufferBytes?: number;
  /** With a hash, `end` carries the stream's sha256 and servers verify it. */
  hash?: HashFactory;
  /**
   * Reads `length` stream bytes from `offset` again (a file): chunks dropped from the resend buffer stay resendable,
   * so a replacement, during the stream or after its end, is filled from byte 0 however long the stream. Absent (a
   * camera), only what the buffer holds can be resent.
   */
  reread?: (offset: number, length: number) => Promise<Uint8Array>;
  /**
   * Continue a copy a server already holds (a resumed WHIP broadcast): the first chunk
   * pushed gets this sequence number and byte offset. No hash then: it would cover only the new bytes.
   * With `reread` reading that copy, a replacement server is filled from byte 0 (the copy's part in even chunks).
   */
  startAt?: { seq: number; bytes: number };
}

export type UploadState = 'connecting' | 'streaming' | 'ending' | 'done' | 'failed';

export interface UploadInfo {
  serverId: string;
  region: string;
  role: 'primary' | 'backup';
  sessionId: string;
  state: UploadState;
  /** Bytes put on this channel (headers and resends included). */
  sentBytes: number;
  /** Stream bytes the server has durably stored. */
  ackedBytes: number;
  ackedSeq: number;
  /** Why it failed, when it did. */
  error?: { code: string; message: string };
}

export interface ProgressInfo {
  /** Stream bytes pushed so far. */
  bytes: number;
  /** Bytes put on every channel together. */
  wireBytes: number;
  bufferedBytes: number;
  uploads: UploadInfo[];
}

export interface FailoverInfo {
  from: string;
  to: string;
  role: 'primary' | 'backup';
}

export interface PublishResult {
  streamId: string;
  bytes: number;
  sha256?: string;
  /** Servers that finalized the stream (byte-identical copies). */
  stored: string[];
  failovers: FailoverInfo[];
}

/**
 * @fires assigned - CustomEvent<PublishReply>: the hub chose entry servers (again for a replacement).
 * @fires progress - CustomEvent<ProgressInfo>: at most every PROGRESS_INTERVAL_MS while sending.
 * @fires health - CustomEvent<UploadInfo>: an upload changed state.
 * @fires failover - CustomEvent<FailoverInfo>: a failed upload was replaced.
 * @fires end - CustomEvent<PublishResult>: every remaining upload finalized the stream.
 * @fires warning - CustomEvent<{ code, message }>: something went wrong and was handled (a replacement refused, a bad frame).
 * @fires error - CustomEvent<{ code, message }>: fatal; the publisher closes right after.
 */
export interface PublisherEventMap {
  assigned: CustomEvent<PublishReply>;
  progress: CustomEvent<ProgressInfo>;
  health: CustomEvent<UploadInfo>;
  failover: CustomEvent<FailoverInfo>;
  end: CustomEvent<PublishResult>;
  warning: CustomEvent<{ code: string; message: string }>;
  error: CustomEvent<{ code: string; message: string }>;
}

/** Why a publish failed: `code` is a hub ack code, an ingest frame code or a local one (common/error-codes.ts). */
export class PublishError extends CodedError {
  override readonly name = 'PublishError';
}
