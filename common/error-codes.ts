// Every stable error code Baton uses, in one place. The wire vocabularies (acks,
// viewer frames, ingest frames) stay in the protocol as the subsets each channel
// may carry; the codes that never cross the wire are declared here.
import { FrameErrorCode } from '../signaling/protocol/frames.js';
import { IngestErrorCode } from '../signaling/protocol/ingest-frames.js';
import { ErrorCode } from '../signaling/protocol/types.js';

/** Codes raised and handled inside one process (storage, cache, client SDK, pages, the hub's Redis side). */
export const LocalErrorCode = {
  /** Offset or length is not a sane non-negative integer. */
  badRange: 'bad-range',
  /** The object (store, source, publisher) was closed. */
  closed: 'closed',
  /** The disk said no (permissions, I/O error); see `cause`. */
  io: 'io',
  /** A client could not connect to the hub. */
  hubUnreachable: 'hub-unreachable',
  /** An SDP offer a WHIP endpoint cannot take. */
  badSdp: 'bad-sdp',
  // An upload of a Publisher failed (UploadInfo.error.code):
  peerClosed: 'peer-closed',
  peerError: 'peer-error',
  connectTimeout: 'connect-timeout',
  sendFailed: 'send-failed',
  tooSlow: 'too-slow',
  sessionClosed: 'session-closed',
  badSignal: 'bad-signal',
  /** A client dropped a message from the hub that failed its schema. */
  badHubMessage: 'bad-hub-message',
  // Several hubs on Redis (signaling/redis/):
  /** A hub that lost the rotation lease tried to append to the shared delta log. */
  fenced: 'fenced',
  /** `--redis` is not a redis:// or rediss:// URL. */
  badRedisUrl: 'bad-redis-url',
} as const;

/** The one vocabulary: wire codes and local codes together. */
export const Code = { ...ErrorCode, ...FrameErrorCode, ...IngestErrorCode, ...LocalErrorCode } as const;
export type Code = (typeof Code)[keyof typeof Code];
