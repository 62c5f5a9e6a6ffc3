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

export interface Header {
  id: number;
  /** undefined: the "unknown size" marker. */
  size: number | undefined;
  headerBytes: number;
}

/** An element header at the start of `b`: 'short' when more bytes are needed, 'bad' when malformed. */
export function readHeader(b: Uint8Array): Header | 'short' | 'bad' {
  const id = readVint(b, 0, 4, true);
  if (id === 'short' || id === 'bad') return id;
  const size = readVint(b, id.length, 8, false);
  if (size === 'short' || size === 'bad') return size;
  return { id: id.value, size: size.unknown ? undefined : size.value, headerBytes: id.length + size.length };
}

function readVint(b: Uint8Array, pos: number, maxLength: number, keepMarker: boolean) {
  if (pos >= b.byteLength) return 'short' as const;
  const first = b[pos]!;
  if (first === 0) return 'bad' as const;
  const length = Math.clz32(first) - 23;
  if (length > maxLength) return 'bad' as const;
  if (pos + length > b.byteLength) return 'short' as const;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const x = b[pos + i]!;
    value = value * 256 + x;
    allOnes &&= x === 0xff;
  }
  if (!keepMarker && allOnes) return { value: 0, length, unknown: true };
  if (value > Number.MAX_SAFE_INTEGER) return 'bad' as const;
  return { value, length, unknown: false };
}
