// A (Simple)Block's head: which track the block belongs to and whether it is a keyframe.

/** A SimpleBlock's head: track number (a vint of up to 8 bytes), a 16-bit timecode, the flags byte. */
export const BLOCK_HEAD_BYTES = 11;

/** What a block head says; filled in place, so reading one costs no allocation. */
export interface BlockHead {
  /** Undefined when the head is unreadable (a track vint too long for the bytes). */
  track: number | undefined;
  /** The keyframe flag (SimpleBlock; a Block's flags byte has no such bit, a BlockGroup says it by having no ReferenceBlock). */
  key: boolean;
}

/** Reads the first `len` bytes of a block's payload (`bytes`) into `into`. */
export function readBlockHead(bytes: Uint8Array, len: number, into: BlockHead): void {
  const first = len > 0 ? bytes[0]! : 0;
  const n = first === 0 ? 9 : Math.clz32(first) - 23;
  into.track = undefined;
  into.key = false;
  if (n <= 8 && len >= n + 3) {
    let track = first & (0xff >> n);
    for (let i = 1; i < n; i++) track = track * 256 + bytes[i]!;
    into.track = track;
    into.key = (bytes[n + 2]! & 0x80) !== 0;
  }
}
