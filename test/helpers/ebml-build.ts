// Hand-built EBML (WebM) elements for index tests: 8-byte sizes, or the unknown-size marker live muxers write.
import { ClusterIndex } from '../../node-app/ingest/cluster-index.js';

/** The 8-byte "unknown size" marker (MediaRecorder's Segment and Clusters). */
export const UNKNOWN_SIZE: readonly number[] = Object.freeze([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** An EBML element: id bytes, a size vint (8 bytes, or the unknown-size marker for `null`), data. */
export function el(id: number[], data: Uint8Array | null): Uint8Array {
  const size = data === null ? UNKNOWN_SIZE.slice() : [0x01, 0, 0, 0, 0, 0, 0, 0];
  if (data) for (let i = 0, v = data.byteLength; i < 7; i++, v = Math.floor(v / 256)) size[7 - i] = v & 0xff;
  return cat(new Uint8Array(id), new Uint8Array(size), data ?? new Uint8Array(0));
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `bytes` pushed into a fresh ClusterIndex in chunks of `sizes()` bytes (at least 1), its Cluster times to `onClusterTime`. */
export function indexInChunks(bytes: Uint8Array, sizes: () => number, onClusterTime?: (timeMs: number) => void): ClusterIndex {
  const idx = new ClusterIndex();
  idx.onClusterTime = onClusterTime;
  for (let at = 0; at < bytes.byteLength; ) {
    const n = Math.max(1, Math.min(sizes(), bytes.byteLength - at));
    idx.push(bytes.subarray(at, at + n));
    at += n;
  }
  return idx;
}
