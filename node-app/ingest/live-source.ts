// A viewer's ByteSource over a stream being ingested: grows with the LiveWriter; late joiners start at a Cluster.
import type { ByteSource } from '../contracts.js';
import { IngestError, IngestErrorCode } from './errors.js';
import type { LiveWriter } from './live-writer.js';

/**
 * A live ByteSource. Its byte offsets are the *session's* offsets, which differ
 * from the file's for a late joiner:
 *
 * - a viewer that asks for offset 0 once the stream has a Cluster past the first
 *   one joins at the live edge: session bytes `[0, initBytes)` are the file's init
 *   segment (EBML header, Info, Tracks) and session byte `initBytes + k` is file
 *   byte `joinedAt + k`, where `joinedAt` is the start of the latest Cluster when
 *   the session opened. So `file = session + skipBytes` past the init segment,
 *   with `skipBytes = joinedAt - initBytes`;
 * - any other start (offset > 0, or a stream with no second Cluster yet) is the
 *   file itself: session offset = file offset (`skipBytes` = 0).
 *
 * The bytes a late joiner gets are a valid WebM stream on their own (init segment,
 * then whole Clusters), which is what MSE needs. A viewer resuming elsewhere at
 * offset N > 0 is served file offsets. A late joiner's session offsets differ
 * from file offsets past its seam, so its meta frame carries `joinedAt` and
 * `skipBytes`, and the viewer asks the next server for file offsets.
 */
export interface LiveSource extends ByteSource {
  /** File offset of the Cluster this session joined at (0 when it reads the file as is). */
  readonly joinedAt: number;
  /** File offset minus session offset, for session offsets past the init segment. */
  readonly skipBytes: number;
}

export interface LiveSourceOptions {
  /** The session's start offset (the hub's `session-open` offset). */
  offset: number;
  /** Called once when the source is closed (the ingest manager counts readers). */
  onClose?: () => void;
}

export function createLiveSource(writer: LiveWriter, opts: LiveSourceOptions): LiveSource {
  const init = writer.index.initBytes;
  const edge = writer.index.latestCluster(writer.bytes);
  const joinLate = opts.offset === 0 && writer.live && init !== undefined && edge !== undefined && edge > init;
  const joinedAt = joinLate ? edge : 0;
  const skip = joinLate ? edge - init : 0;
  const initBytes = init ?? 0;
  let closed = false;
  return {
    assetId: writer.streamId,
    joinedAt,
    skipBytes: skip,
    size() {
      if (closed) return 0;
      const readable = writer.readableBytes;
      return skip === 0 ? readable : initBytes + Math.max(0, readable - joinedAt);
    },
    isLive: () => !closed && writer.live,
    read(offset, length) {
      if (closed) return Promise.reject(new IngestError(IngestErrorCode.badRequest, 'source is closed'));
      if (skip === 0) return writer.read(offset, length);
      // The init segment and the Clusters are not adjacent in the file: never read across the seam.
      if (offset < initBytes) return writer.read(offset, Math.min(length, initBytes - offset));
      return writer.read(offset + skip, length);
    },
    close() {
      if (closed) return;
      closed = true;
      opts.onClose?.();
    },
  };
}
