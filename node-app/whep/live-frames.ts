// A live WebM stream's frames as their bytes arrive, block by block: mediabunny reads a whole Cluster before it gives any of its frames, which for a live stream is a keyframe interval late.
import type { ByteSource } from '../contracts.js';
import { concatBytes, readHeader, readUnsigned } from '../../common/ebml-header.js';
import { blockFrame } from '../../common/matroska-reader.js';
import { MatroskaId as ID } from '../../common/matroska-ids.js';
import type { MediaFrame, MediaKind } from './media-frame.js';

/** Elements walked into rather than skipped: Segment, Info (for the timestamp scale), Cluster. */
const CONTAINERS: ReadonlySet<number> = new Set([ID.segment, ID.info, ID.cluster]);
/** An element other than a container larger than this is refused (bytes): no block of a live stream is near it. */
export const MAX_LIVE_ELEMENT_BYTES = 16 * 1024 * 1024;
/** Bytes asked of the source per read. */
const READ_BYTES = 256 * 1024;

export interface LiveFramesOptions {
  /** Matroska track number → what it carries; blocks of other tracks are skipped. */
  tracks: ReadonlyMap<number, MediaKind>;
  /** How long to wait at the edge before asking the source again, ms (unless it says it grew sooner). */
  pollMs: number;
  closed: () => boolean;
}

/**
 * The frames of `source` from its first byte (an init segment, then Clusters) in file order, each as soon
 * as its block is readable; waits at the edge while the source is live, ends when it is not. SimpleBlocks
 * carry their keyframe flag; a BlockGroup is a keyframe when it has no ReferenceBlock. Laced blocks (not written by
 * browsers or by Baton's WHIP muxer) are skipped.
 */
export async function* liveFrames(source: ByteSource, o: LiveFramesOptions): AsyncGenerator<MediaFrame> {
  let buf: Uint8Array = new Uint8Array(0);
  /** File offset of buf[0]. */
  let at = 0;
  let scaleS = 1e-3;
  let clusterTicks = 0;
  for (;;) {
    if (o.closed()) return;
    const h = buf.byteLength ? readHeader(buf) : 'short';
    if (h === 'bad') throw new Error(`malformed WebM element at byte ${at}`);
    const whole = h !== 'short' && (CONTAINERS.has(h.id) || (h.size !== undefined && buf.byteLength >= h.headerBytes + h.size));
    if (h !== 'short' && !CONTAINERS.has(h.id) && (h.size === undefined || h.size > MAX_LIVE_ELEMENT_BYTES))
      throw new Error(`WebM element 0x${h.id.toString(16)} at byte ${at} has no usable size`);
    if (h === 'short' || !whole) {
      const end = at + buf.byteLength;
      if (end < source.size()) {
        const more = await source.read(end, READ_BYTES);
        if (more.byteLength > 0) {
          buf = concatBytes(buf, more);
          continue;
        }
      }
      if (!source.isLive()) return;
      // Woken by the write that brings the next chunk; the poll is the fallback.
      await (source.grown?.(o.pollMs) ?? new Promise((r) => setTimeout(r, o.pollMs)));
      continue;
    }
    if (CONTAINERS.has(h.id)) {
      buf = buf.subarray(h.headerBytes);
      at += h.headerBytes;
      continue;
    }
    const body = buf.subarray(h.headerBytes, h.headerBytes + h.size!);
    if (h.id === ID.timestampScale) scaleS = readUnsigned(body) / 1e9;
    else if (h.id === ID.clusterTimestamp) clusterTicks = readUnsigned(body);
    else if (h.id === ID.simpleBlock || h.id === ID.blockGroup) {
      const f = blockFrame(h.id, body, clusterTicks, scaleS);
      const kind = f && o.tracks.get(f.track);
      if (f && kind) yield { kind, timestampS: f.timestampS, data: f.data, key: f.key };
    }
    buf = buf.subarray(h.headerBytes + h.size!);
    at += h.headerBytes + h.size!;
  }
}
