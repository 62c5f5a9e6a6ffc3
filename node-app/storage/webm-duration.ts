// The duration of a WebM file that carries none in its header (MediaRecorder and
// other live recordings write no Segment/Info/Duration): the timecode of the last
// block of the last Cluster, read from the file's tail.
import { readBlockHead, type BlockHead } from '../../common/ebml-header.js';
import { MatroskaId as Id } from '../../common/matroska-ids.js';
import { readHeader } from './webm-probe.js';

/** How much of a file's end is read to find its last Cluster (MediaRecorder clusters are ≤ a few MB). */
export const DURATION_TAIL_BYTES = 4 * 1024 * 1024;

/**
 * Media time at the last block in `tail` (the last bytes of a file), in ms, or
 * undefined when no Cluster with a block is found. Reads only; never throws.
 */
export function lastBlockTimeMs(tail: Uint8Array, timecodeScaleNs: number): number | undefined {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  // From the end backwards: the first candidate that parses as a Cluster is the last one.
  for (let pos = tail.byteLength - 4; pos >= 0; pos--) {
    if (tail[pos] !== 0x1f || view.getUint32(pos) !== Id.cluster) continue;
    const ticks = clusterEndTicks(view, pos);
    if (ticks !== undefined) return Math.round((ticks * timecodeScaleNs) / 1e6);
  }
  return undefined;
}

/** Cluster timecode + the largest block timecode in it, or undefined if `pos` is no well-formed Cluster. */
function clusterEndTicks(view: DataView, pos: number): number | undefined {
  const cluster = readHeader(view, pos);
  if (!cluster) return undefined;
  const end = cluster.size === undefined ? view.byteLength : Math.min(view.byteLength, cluster.dataStart + cluster.size);
  let base: number | undefined;
  let last: number | undefined;
  const block = (dataStart: number, size: number) => {
    const rel = blockTimecode(view, dataStart, size);
    if (rel !== undefined) last = Math.max(last ?? rel, rel);
  };
  for (let p = cluster.dataStart; p < end; ) {
    const h = readHeader(view, p);
    // A partial element cut by the end of the file, or a top-level one (the next Cluster, Cues, Tags): this Cluster ended.
    if (!h || h.size === undefined || h.dataStart + h.size > view.byteLength || h.id >= 0x10000000) break;
    if (h.id === Id.clusterTimestamp) {
      if (h.size > 6) return undefined;
      base = 0;
      for (let i = 0; i < h.size; i++) base = base * 256 + view.getUint8(h.dataStart + i);
    } else if (h.id === Id.simpleBlock) {
      block(h.dataStart, h.size);
    } else if (h.id === Id.blockGroup) {
      for (let q = h.dataStart; q < h.dataStart + h.size; ) {
        const c = readHeader(view, q);
        if (!c || c.size === undefined) break;
        if (c.id === Id.block) block(c.dataStart, c.size);
        q = c.dataStart + c.size;
      }
    }
    p = h.dataStart + h.size;
  }
  return base === undefined || last === undefined ? undefined : base + last;
}

/** The head of the (Simple)Block whose data starts at `dataStart` of a file's bytes (common/ebml-header.ts reads it). */
export function blockHeadAt(view: DataView, dataStart: number, size: number): BlockHead | undefined {
  if (dataStart < 0 || dataStart >= view.byteLength) return undefined;
  return readBlockHead(new Uint8Array(view.buffer, view.byteOffset + dataStart, Math.min(size, view.byteLength - dataStart)));
}

/** A block's timecode relative to its Cluster: a signed 16-bit integer after the track number. */
function blockTimecode(view: DataView, dataStart: number, size: number): number | undefined {
  return blockHeadAt(view, dataStart, size)?.relTicks;
}
