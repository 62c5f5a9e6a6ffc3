// EBML read from a growing stream: element headers that may be cut short by the chunk's end, and the element ids
// the live cluster index and the continuation check look for.
import { MatroskaId } from '../../common/matroska-ids.js';

/** Top-level element ids the index looks for, and the ids of a Cluster's blocks: the shared table's. */
export { MatroskaId as Id, SEGMENT_LEVEL_IDS } from '../../common/matroska-ids.js';

/** Cluster children that hold media: SimpleBlock and BlockGroup. */
export const BLOCK_IDS: ReadonlySet<number> = new Set([MatroskaId.simpleBlock, MatroskaId.blockGroup]);
/** Block-level ids: a SimpleBlock, a BlockGroup's Block and its ReferenceBlock (present: not a keyframe). */
export const SIMPLE_BLOCK_ID = MatroskaId.simpleBlock;
export const BLOCK_ID = MatroskaId.block;
export const REFERENCE_BLOCK_ID = MatroskaId.referenceBlock;

export { HeaderRead, readHeader, readHeaderInto, type Header, type HeaderSlot } from '../../common/ebml-header.js';
