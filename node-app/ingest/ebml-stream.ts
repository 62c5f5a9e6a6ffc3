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

export { readHeader, type Header } from '../../common/ebml-header.js';

/** An element header read in place by readHeaderInto (one object per reader, not one per header). */
export interface HeaderSlot {
  id: number;
  /** -1 for an unknown size. */
  size: number;
  headerBytes: number;
}

export const HeaderRead = { ok: 0, short: 1, bad: 2 } as const;
export type HeaderRead = (typeof HeaderRead)[keyof typeof HeaderRead];

/**
 * readHeader without allocating: the header at `b[at]` (bytes up to `end`) into `out`. An index walking
 * every element of a stream calls this once per element, so a stream of tiny elements costs no garbage.
 */
export function readHeaderInto(b: Uint8Array, at: number, end: number, out: HeaderSlot): HeaderRead {
  if (at >= end) return HeaderRead.short;
  const first = b[at]!;
  if (first === 0) return HeaderRead.bad;
  const idLen = Math.clz32(first) - 23;
  if (idLen > 4) return HeaderRead.bad;
  if (at + idLen >= end) return HeaderRead.short;
  let id = first;
  for (let i = 1; i < idLen; i++) id = id * 256 + b[at + i]!;
  const s = at + idLen;
  const sFirst = b[s]!;
  if (sFirst === 0) return HeaderRead.bad;
  const sizeLen = Math.clz32(sFirst) - 23;
  if (s + sizeLen > end) return HeaderRead.short;
  let size = sFirst & (0xff >> sizeLen);
  let allOnes = size === 0xff >> sizeLen;
  for (let i = 1; i < sizeLen; i++) {
    const x = b[s + i]!;
    size = size * 256 + x;
    allOnes &&= x === 0xff;
  }
  if (!allOnes && size > Number.MAX_SAFE_INTEGER) return HeaderRead.bad;
  out.id = id;
  out.size = allOnes ? -1 : size;
  out.headerBytes = idLen + sizeLen;
  return HeaderRead.ok;
}
