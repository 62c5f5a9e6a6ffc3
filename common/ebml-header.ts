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

export interface BlockHead {
  track: number;
  /** The block's timecode relative to its Cluster, in the segment's ticks. */
  relTicks: number;
  /** The flags byte (0x80 = keyframe in a SimpleBlock; 0x06 = lacing). */
  flags: number;
  key: boolean;
  /** Bytes before the frame data: the track-number vint, the timecode and the flags. */
  headerBytes: number;
}

/** The head of a (Simple)Block's data at the start of `b`: a track-number vint, a signed 16-bit timecode, a flags byte. */
export function readBlockHead(b: Uint8Array): BlockHead | undefined {
  const first = b[0] ?? 0;
  if (first === 0) return undefined;
  const n = Math.clz32(first) - 23;
  if (n > 8 || b.byteLength < n + 3) return undefined;
  let track = first & (0xff >> n);
  for (let i = 1; i < n; i++) track = track * 256 + b[i]!;
  const t = (b[n]! << 8) | b[n + 1]!;
  const flags = b[n + 2]!;
  return { track, relTicks: t >= 0x8000 ? t - 0x10000 : t, flags, key: (flags & 0x80) !== 0, headerBytes: n + 3 };
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
