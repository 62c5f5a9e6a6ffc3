// A viewer's ByteSource over a stream being ingested: grows with the LiveWriter; late joiners start at the newest Cluster holding a keyframe.
import type { ClusterIndex } from './cluster-index.js';
import type { ByteSource } from '../contracts.js';
import { IngestError, IngestErrorCode } from './errors.js';
import type { LiveWriter } from './live-writer.js';

/**
 * A live ByteSource. Its byte offsets are the *session's* offsets, which differ
 * from the file's for a late joiner:
 *
 * - a viewer that asks for offset 0 joins at the live edge (`liveJoinPoint`): session
 *   bytes `[0, initBytes)` are the file's init segment (EBML header, Info, Tracks) and
 *   session byte `initBytes + k` is file byte `joinedAt + k`, where `joinedAt` is the
 *   newest Cluster that holds a video keyframe. So `file = session + skipBytes` past the
 *   init segment, with `skipBytes = joinedAt - initBytes`;
 * - any other start (offset > 0), or a stream whose only start point so far is its
 *   first Cluster, is the file itself: session offset = file offset (`skipBytes` = 0).
 *
 * The join point is chosen when the session first reads (its size, bytes or seam),
 * which is when the viewer's channel opens, not when the hub opened the session: the
 * WebRTC set-up in between is often longer than a keyframe interval.
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

/**
 * How far behind the newest Cluster a late joiner may start, ms of media time. A joiner gets everything from its
 * join point at once (a WHEP session sends it as fast as it reads it; a data-channel viewer buffers it), so a stream
 * whose keyframes are rare, or stopped, or cannot be told would hand each joiner that much: past this bound it
 * joins at the newest Cluster and its player waits for the next keyframe. 10 s holds x264's default keyframe
 * interval (250 frames, 8.3 s at 30 fps); Baton's browser broadcaster and WHIP ingest have one every 2 s.
 */
export const MAX_LIVE_JOIN_BEHIND_MS = 10_000;

/** The live edge and how far behind it a join point may be, bytes (the writer's `maxBacklogBytes`). */
export interface LiveEdge {
  edge: number;
  maxBehindBytes: number;
}

/**
 * Where a session that asks for `offset` of a stream starts, as the file offset of a Cluster past
 * the init segment; undefined to read the file as it is. Only a live stream asked from its start
 * joins late: at the newest Cluster that holds a video keyframe (a picture at once, at most one
 * keyframe interval behind the edge) unless it is more than MAX_LIVE_JOIN_BEHIND_MS behind the newest
 * Cluster, or (given `bound`) more than `maxBehindBytes` behind the edge; else, or when the index cannot
 * tell keyframes (no readable Tracks, or no Cluster holds one), at the newest Cluster (the player then
 * waits for the next keyframe). A stream whose newest start point is its first Cluster is read from byte 0. Pure.
 *
 * The byte bound matters because media time is the publisher's word: a keyframe Cluster without a Timecode,
 * or one stamped far ahead of the Clusters after it, looked 0 ms behind for ever, and every joiner got
 * everything since it at once. The newest Cluster itself is never further behind than that (the writer
 * refuses a stream whose edge runs further ahead of it).
 */
export function liveJoinPoint(
  index: Pick<ClusterIndex, 'initBytes' | 'latestCluster' | 'latestKeyCluster' | 'keyClusterBehindMs'>,
  offset: number,
  live: boolean,
  bound?: LiveEdge,
): number | undefined {
  const init = index.initBytes;
  if (offset !== 0 || !live || init === undefined) return undefined;
  const behind = index.keyClusterBehindMs();
  let key = behind !== undefined && behind > MAX_LIVE_JOIN_BEHIND_MS ? undefined : index.latestKeyCluster();
  if (key !== undefined && bound && bound.edge - key > bound.maxBehindBytes) key = undefined;
  const at = key ?? index.latestCluster();
  return at !== undefined && at > init ? at : undefined;
}

export function createLiveSource(writer: LiveWriter, opts: LiveSourceOptions): LiveSource {
  let seam: { joinedAt: number; skip: number; initBytes: number } | undefined;
  const decide = () => {
    if (seam) return seam;
    const at = liveJoinPoint(writer.index, opts.offset, writer.live, {
      edge: writer.readableBytes,
      maxBehindBytes: writer.maxBacklogBytes,
    });
    const initBytes = writer.index.initBytes ?? 0;
    seam = at === undefined ? { joinedAt: 0, skip: 0, initBytes } : { joinedAt: at, skip: at - initBytes, initBytes };
    return seam;
  };
  let closed = false;
  return {
    assetId: writer.streamId,
    // Media time 0 as this server saw it arrive; the publish's start until the first Cluster's Timecode is in.
    get startedAtMs() {
      return writer.mediaZeroAtMs ?? writer.startedAtMs;
    },
    averageBps: () => writer.averageBps(),
    get joinedAt() {
      return decide().joinedAt;
    },
    get skipBytes() {
      return decide().skip;
    },
    size() {
      if (closed) return 0;
      const { joinedAt, skip, initBytes } = decide();
      const readable = writer.readableBytes;
      return skip === 0 ? readable : initBytes + Math.max(0, readable - joinedAt);
    },
    isLive: () => !closed && writer.live,
    grown: (timeoutMs) => (closed ? Promise.resolve() : writer.grown(timeoutMs)),
    read(offset, length) {
      if (closed) return Promise.reject(new IngestError(IngestErrorCode.badRequest, 'source is closed'));
      const { skip, initBytes } = decide();
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
