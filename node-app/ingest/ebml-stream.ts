// EBML read from a growing stream: element headers that may be cut short by the chunk's end, and the element ids
// the live cluster index and the continuation check look for.

/** Top-level element ids the index looks for (with their length-marker bits). */
export const Id = {
  ebml: 0x1a45dfa3,
  segment: 0x18538067,
  cluster: 0x1f43b675,
} as const;

/**
 * Elements that live directly in the Segment. Inside an unknown-size Cluster (what
 * MediaRecorder writes) the first of these ends the Cluster.
 */
export const SEGMENT_LEVEL_IDS: ReadonlySet<number> = new Set([
  0x1f43b675, // Cluster
  0x1c53bb6b, // Cues
  0x1254c367, // Tags
  0x1043a770, // Chapters
  0x1941a469, // Attachments
  0x114d9b74, // SeekHead
  0x1549a966, // Info
  0x1654ae6b, // Tracks
]);

/** Cluster children that hold media: SimpleBlock and BlockGroup. */
export const BLOCK_IDS: ReadonlySet<number> = new Set([0xa3, 0xa0]);
/** Block-level ids: a SimpleBlock, a BlockGroup's Block and its ReferenceBlock (present: not a keyframe). */
export const SIMPLE_BLOCK_ID = 0xa3;
export const BLOCK_ID = 0xa1;
export const REFERENCE_BLOCK_ID = 0xfb;

export { readHeader, type Header } from '../../common/ebml-header.js';
