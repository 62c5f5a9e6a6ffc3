// The one EBML element-header reader (id with its marker bit, data size, header length), used by the
// file probe, the seek index, the live cluster index and the WHEP live reader. It tells "need more
// bytes" (a growing stream's chunk ended) apart from malformed.

export interface Header {
  id: number;
  /** undefined: the "unknown size" marker. */
  size: number | undefined;
  headerBytes: number;
}

/** An element header at the start of `b`: 'short' when more bytes are needed, 'bad' when malformed. */
export function readHeader(b: Uint8Array): Header | 'short' | 'bad' {
  const h: HeaderSlot = { id: 0, size: 0, headerBytes: 0 };
  const r = readHeaderInto(b, 0, b.byteLength, h);
  if (r !== HeaderRead.ok) return r === HeaderRead.short ? 'short' : 'bad';
  return { id: h.id, size: h.size === -1 ? undefined : h.size, headerBytes: h.headerBytes };
}

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

export interface BlockHead {
  track: number;
  /** The block's timecode relative to its Cluster, in the segment's ticks. */
  relTicks: number;
  /** The flags byte (0x80 = keyframe in a SimpleBlock; 0x06 = lacing). */
  flags: number;
  /**
   * The keyframe flag of a SimpleBlock. A Block's flags byte has no such bit: a BlockGroup says it by having no
   * ReferenceBlock, which its reader must look for.
   */
  key: boolean;
  /** Bytes before the frame data: the track-number vint, the timecode and the flags. */
  headerBytes: number;
}

/** The most a (Simple)Block's head takes: a track-number vint of up to 8 bytes, a 16-bit timecode, the flags byte. */
export const BLOCK_HEAD_BYTES = 11;

/**
 * Reads the head of a (Simple)Block's data, the first `len` bytes of `b` (a track-number vint, a signed 16-bit
 * timecode, a flags byte), into `into`, allocating nothing (the live index reads one per block). False, and `into`
 * untouched, when it is unreadable: a zero or too long vint, or fewer bytes than it needs.
 */
export function readBlockHeadInto(b: Uint8Array, len: number, into: BlockHead): boolean {
  const first = len > 0 ? b[0]! : 0;
  if (first === 0) return false;
  const n = Math.clz32(first) - 23;
  if (n > 8 || len < n + 3) return false;
  let track = first & (0xff >> n);
  for (let i = 1; i < n; i++) track = track * 256 + b[i]!;
  const t = (b[n]! << 8) | b[n + 1]!;
  const flags = b[n + 2]!;
  into.track = track;
  into.relTicks = t >= 0x8000 ? t - 0x10000 : t;
  into.flags = flags;
  into.key = (flags & 0x80) !== 0;
  into.headerBytes = n + 3;
  return true;
}

/** The head of a (Simple)Block's data at the start of `b` (`readBlockHeadInto`, in a new object). */
export function readBlockHead(b: Uint8Array): BlockHead | undefined {
  const head: BlockHead = { track: 0, relTicks: 0, flags: 0, key: false, headerBytes: 0 };
  return readBlockHeadInto(b, b.byteLength, head) ? head : undefined;
}

/** An EBML unsigned-integer element's value (big-endian, any length the element has). */
export function readUnsigned(b: Uint8Array): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

/** `a` then `b` in a new buffer: a growing stream's carried-over bytes and the next chunk. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
