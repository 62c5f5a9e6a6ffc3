// Finds a growing WebM stream's init segment length and its Cluster offsets, chunk by chunk.

const Id = {
  ebml: 0x1a45dfa3,
  segment: 0x18538067,
  cluster: 0x1f43b675,
} as const;

/**
 * Elements that live directly in the Segment. Inside an unknown-size Cluster (what
 * MediaRecorder writes) the first of these ends the Cluster.
 */
const SEGMENT_LEVEL_IDS: ReadonlySet<number> = new Set([
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
const BLOCK_IDS: ReadonlySet<number> = new Set([0xa3, 0xa0]);

/**
 * Recent cut points remembered (block and sized-Cluster ends, ascending). A salvage
 * cuts at the disk's edge, at most one flush behind the newest bytes, so a few are
 * plenty; older limits fall back to Cluster starts.
 */
export const MAX_RECENT_CUTS = 64;

/** Longest element header: a 4-byte id and an 8-byte size. */
const MAX_HEADER_BYTES = 12;

type Mode = 'ebml' | 'top' | 'segment' | 'cluster' | 'stopped';

/**
 * Walks element headers only (payloads are skipped without being buffered), so
 * indexing costs O(headers) and a few bytes of memory whatever the chunk sizes.
 * Malformed input stops the walk: what was indexed stays valid, nothing more is
 * added (`stopped` says so), and the stream itself is still stored as sent.
 */
export class ClusterIndex {
  /** Offset of the first Cluster = length of the init segment (EBML header, Info, Tracks). */
  initBytes: number | undefined;
  /** Cluster start offsets, ascending. */
  readonly clusters: number[] = [];
  #mode: Mode = 'ebml';
  /** Absolute offset of the next header to read. */
  #pos = 0;
  /** Bytes seen so far. */
  #total = 0;
  /** Unparsed bytes starting at #pos (only while #pos ≤ #total). */
  #carry: Uint8Array = new Uint8Array(0);
  #segmentEnd = Infinity;
  /** Offsets after a whole block (in an unknown-size Cluster) or a whole sized Cluster, ascending. */
  readonly #cuts: number[] = [];

  /** True when malformed input stopped the indexing. */
  get stopped(): boolean {
    return this.#mode === 'stopped';
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#total;
  }

  /**
   * How many bytes complete the element the stream ends inside, when it ends inside a
   * block's payload in a Cluster (0 at an element boundary); undefined when that cannot
   * be told (inside a header, a sized Cluster, before the first Cluster, or stopped).
   * A stream continued by another muxer (a resumed WHIP broadcast) fills those bytes first.
   */
  get tornBytes(): number | undefined {
    if (this.#mode !== 'cluster' && this.#mode !== 'segment') return undefined;
    if (this.initBytes === undefined) return undefined;
    if (this.#pos > this.#total) return this.#mode === 'cluster' ? this.#pos - this.#total : undefined;
    return this.#carry.byteLength === 0 ? 0 : undefined;
  }

  /** The last Cluster that starts at or before `limit` (default: anywhere), if any. */
  latestCluster(limit = Infinity): number | undefined {
    for (let i = this.clusters.length - 1; i >= 0; i--) if (this.clusters[i]! <= limit) return this.clusters[i];
    return undefined;
  }

  /**
   * The longest prefix, at most `limit` bytes and only of bytes pushed so far, that is a
   * valid WebM ending on whole media: after the last whole block of an unknown-size
   * Cluster (what MediaRecorder and WHIP's muxer write; a Cluster there lasts a whole
   * keyframe interval, seconds), after a whole sized Cluster, or at a Cluster start.
   * A salvage that cut only at Cluster starts threw away the newest Cluster, which for
   * a WHIP stream a few seconds old was nearly everything stored.
   */
  latestCut(limit = Infinity): number | undefined {
    const bound = Math.min(limit, this.#total);
    let cut = this.latestCluster(bound);
    for (let i = this.#cuts.length - 1; i >= 0; i--) {
      const c = this.#cuts[i]!;
      if (c > bound) continue;
      if (cut === undefined || c > cut) cut = c;
      break;
    }
    return cut;
  }

  /** The bytes that follow everything pushed so far. */
  push(chunk: Uint8Array): void {
    const start = this.#total;
    this.#total += chunk.byteLength;
    if (this.#mode === 'stopped' || this.#pos >= this.#total) return;
    // Keep only what lies at or after the next header (payloads being skipped are dropped).
    const from = Math.max(0, this.#pos - start);
    const fresh = chunk.subarray(from);
    this.#carry = this.#carry.byteLength === 0 ? fresh.slice() : concat(this.#carry, fresh);
    this.#walk();
  }

  #walk(): void {
    for (;;) {
      if (this.#mode === 'stopped') return;
      const available = this.#total - this.#pos;
      if (available <= 0) {
        this.#carry = new Uint8Array(0);
        return;
      }
      const h = readHeader(this.#carry);
      if (h === 'short') {
        if (this.#carry.byteLength >= MAX_HEADER_BYTES) return this.#stop();
        return; // wait for more bytes
      }
      if (h === 'bad') return this.#stop();
      const at = this.#pos;
      const dataStart = at + h.headerBytes;
      let next: number;
      switch (this.#mode) {
        case 'ebml':
          if (h.id !== Id.ebml || h.size === undefined) return this.#stop();
          next = dataStart + h.size;
          this.#mode = 'top';
          break;
        case 'top':
          if (h.id === Id.segment) {
            this.#segmentEnd = h.size === undefined ? Infinity : dataStart + h.size;
            this.#mode = 'segment';
            next = dataStart;
          } else {
            if (h.size === undefined) return this.#stop();
            next = dataStart + h.size;
          }
          break;
        case 'segment':
          if (at >= this.#segmentEnd) {
            this.#mode = 'top';
            continue;
          }
          if (h.id === Id.cluster) {
            this.initBytes ??= at;
            this.clusters.push(at);
            if (h.size === undefined) {
              this.#mode = 'cluster';
              next = dataStart;
            } else {
              next = dataStart + h.size;
              this.#cut(next);
            }
          } else {
            // Only Clusters may have an unknown size inside a Segment.
            if (h.size === undefined) return this.#stop();
            next = dataStart + h.size;
          }
          break;
        case 'cluster':
          if (SEGMENT_LEVEL_IDS.has(h.id) || at >= this.#segmentEnd) {
            this.#mode = 'segment';
            continue; // the unknown-size Cluster ended here: read this header again at Segment level
          }
          if (h.size === undefined) return this.#stop();
          next = dataStart + h.size;
          // Known before the block's bytes arrive; latestCut never returns more than was pushed.
          if (BLOCK_IDS.has(h.id)) this.#cut(next);
          break;
      }
      this.#advance(next);
    }
  }

  #cut(at: number): void {
    this.#cuts.push(at);
    if (this.#cuts.length > MAX_RECENT_CUTS) this.#cuts.shift();
  }

  #advance(next: number): void {
    const skip = next - this.#pos;
    this.#pos = next;
    this.#carry = skip < this.#carry.byteLength ? this.#carry.subarray(skip) : new Uint8Array(0);
  }

  #stop(): void {
    this.#mode = 'stopped';
    this.#carry = new Uint8Array(0);
  }
}

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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
