// Where a second muxer may continue an unfinished live copy: its byte and chunk edge, the bytes that complete a torn block, the next timecode.
import { readHeader } from './ebml-stream.js';
import { readUnsigned } from '../../common/ebml-header.js';
import { MatroskaId as Id } from '../../common/matroska-ids.js';
import { IngestError, IngestErrorCode } from './errors.js';
import type { LiveWriter } from './live-writer.js';

/** Longest last Cluster read to find the stream's last timecode (a minute of 4 Mbit/s video). */
export const MAX_CONTINUATION_SCAN_BYTES = 32 * 1024 * 1024;
/** The continued stream's first Cluster starts this long after the stored copy's last block, ms (about a frame). */
export const CONTINUATION_GAP_MS = 40;

export interface Continuation {
  streamId: string;
  mime: string;
  /** The next chunk's sequence number and byte offset on this copy. */
  nextSeq: number;
  bytes: number;
  /** Bytes (any value) that complete a block the copy ends inside, to be sent first; 0 at a block boundary. */
  fillerBytes: number;
  /** Timecode for the continuation's first Cluster, ms (the stream's TimecodeScale is 1 ms). */
  nextTimeMs: number;
}

/**
 * What a new muxer needs to append to `writer` so the file stays one valid WebM
 * stream: whole Clusters after the stored bytes, timecodes after the stored ones.
 * Refused (`cannot-resume`) when the copy is not open, holds no Cluster yet, or ends
 * where it cannot be completed (inside an element header or a sized Cluster).
 */
export async function continuationOf(writer: LiveWriter): Promise<Continuation | IngestError> {
  const refuse = (why: string) => new IngestError(IngestErrorCode.cannotResume, `stream ${writer.streamId} cannot be continued: ${why}`);
  if (writer.state !== 'open') return refuse(`its copy is ${writer.state}`);
  const cluster = writer.index.latestCluster();
  const torn = writer.index.tornBytes;
  if (cluster === undefined) return refuse('no media stored yet');
  if (torn === undefined) return refuse('the copy ends where it cannot be completed (an element header or a sized Cluster)');
  const bytes = writer.bytes;
  if (bytes - cluster > MAX_CONTINUATION_SCAN_BYTES) return refuse(`its last Cluster is larger than ${MAX_CONTINUATION_SCAN_BYTES} bytes`);
  const tail = await readAll(writer, cluster, bytes - cluster);
  const last = lastTimeMs(tail);
  if (last === undefined) return refuse('its last Cluster has no timecode');
  return {
    streamId: writer.streamId,
    mime: writer.mime,
    nextSeq: writer.nextSeq,
    bytes,
    fillerBytes: torn,
    nextTimeMs: last + CONTINUATION_GAP_MS,
  };
}

async function readAll(writer: LiveWriter, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const b = await writer.read(offset + filled, length - filled);
    if (b.byteLength === 0) break;
    out.set(b, filled);
    filled += b.byteLength;
  }
  return out.subarray(0, filled);
}

/**
 * The latest block time in one Cluster's bytes (from its start, possibly cut short):
 * the Cluster's Timecode plus the largest SimpleBlock/Block relative timecode seen.
 */
export function lastTimeMs(cluster: Uint8Array): number | undefined {
  const head = readHeader(cluster);
  if (typeof head === 'string') return undefined;
  let at = head.headerBytes;
  const end = head.size === undefined ? cluster.byteLength : Math.min(cluster.byteLength, at + head.size);
  let base: number | undefined;
  let latest = 0;
  while (at < end) {
    const h = readHeader(cluster.subarray(at, end));
    if (typeof h === 'string' || h.size === undefined) break;
    const data = at + h.headerBytes;
    if (h.id === Id.cluster) break; // the next Cluster
    if (h.id === Id.clusterTimestamp && data + h.size <= end) base = readUnsigned(cluster.subarray(data, data + h.size));
    else if (h.id === Id.simpleBlock) latest = Math.max(latest, blockTime(cluster, data, end) ?? latest);
    else if (h.id === Id.blockGroup) {
      const inner = readHeader(cluster.subarray(data, end));
      if (typeof inner !== 'string' && inner.id === Id.block)
        latest = Math.max(latest, blockTime(cluster, data + inner.headerBytes, end) ?? latest);
    }
    at = data + h.size;
  }
  return base === undefined ? undefined : base + latest;
}

/** A (Simple)Block's int16 timecode, after its track-number vint. */
function blockTime(b: Uint8Array, at: number, end: number): number | undefined {
  if (at >= end) return undefined;
  const trackLen = Math.clz32(b[at]!) - 23;
  if (trackLen < 1 || trackLen > 8 || at + trackLen + 2 > end) return undefined;
  const v = (b[at + trackLen]! << 8) | b[at + trackLen + 1]!;
  return v >= 0x8000 ? v - 0x10000 : v;
}
