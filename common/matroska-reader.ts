// Matroska (and WebM) read from pushed pieces of a stream: the tracks of its init segment and each block's frame as
// soon as the block is whole. The browser's H.264 remux reads the player's bytes with it (after a seek they start at
// a Cluster); the WHEP live reader uses its block parsing.
import { concatBytes, readBlockHead, readHeader, readUnsigned } from './ebml-header.js';
import { MatroskaId as ID } from './matroska-ids.js';

/** Elements walked into rather than taken whole: Segment, Info (for the timestamp scale), Cluster (often of unknown size). */
const CONTAINERS: ReadonlySet<number> = new Set([ID.segment, ID.info, ID.cluster]);
/** Elements read; any other is passed over without being held in memory (Cues, Tags, Void, the EBML header, …). */
const TAKEN: ReadonlySet<number> = new Set([ID.timestampScale, ID.tracks, ID.clusterTimestamp, ID.simpleBlock, ID.blockGroup]);
/** A taken element larger than this is refused (bytes): no block or Tracks element of a stream Baton stores is near it. */
export const MAX_MATROSKA_ELEMENT_BYTES = 16 * 1024 * 1024;

export interface MatroskaTrack {
  number: number;
  /** `V_MPEG4/ISO/AVC`, `V_VP8`, `A_OPUS`, … */
  codecId: string;
  codecPrivate?: Uint8Array;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

export interface MatroskaFrame {
  track: number;
  /** Presentation time, seconds (Cluster timestamp plus the block's, times the timestamp scale). */
  timestampS: number;
  key: boolean;
  /** A copy: it outlives the pushed bytes. */
  data: Uint8Array;
}

export interface MatroskaRead {
  /** The tracks, when a Tracks element ended in these bytes. */
  tracks: MatroskaTrack[] | null;
  frames: MatroskaFrame[];
}

/**
 * Reads pushed bytes element by element, holding back only an element cut by a piece's end. Throws on a
 * malformed element header or an oversized taken element.
 */
export class MatroskaReader {
  #held: Uint8Array = new Uint8Array(0);
  /** Bytes of a passed-over element still to come. */
  #skip = 0;
  #scaleS = 1e-3;
  #clusterTicks = 0;

  /** The next bytes start a new element (a seek restarted the stream at a Cluster): what was held is dropped. */
  restart(): void {
    this.#held = new Uint8Array(0);
    this.#skip = 0;
  }

  push(bytes: Uint8Array): MatroskaRead {
    const out: MatroskaRead = { tracks: null, frames: [] };
    let buf = this.#held.byteLength ? concatBytes(this.#held, bytes) : bytes;
    for (;;) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, buf.byteLength);
        this.#skip -= n;
        buf = buf.subarray(n);
      }
      const h = readHeader(buf);
      if (h === 'short') break;
      if (h === 'bad') throw new Error('malformed Matroska element');
      if (CONTAINERS.has(h.id)) {
        buf = buf.subarray(h.headerBytes);
        continue;
      }
      if (h.size === undefined) throw new Error(`Matroska element 0x${h.id.toString(16)} has no size`);
      if (!TAKEN.has(h.id)) {
        this.#skip = h.headerBytes + h.size;
        continue;
      }
      if (h.size > MAX_MATROSKA_ELEMENT_BYTES) throw new Error(`Matroska element 0x${h.id.toString(16)} is ${h.size} bytes`);
      if (buf.byteLength < h.headerBytes + h.size) break;
      this.#take(h.id, buf.subarray(h.headerBytes, h.headerBytes + h.size), out);
      buf = buf.subarray(h.headerBytes + h.size);
    }
    // A copy: the caller may reuse its buffer.
    this.#held = buf.slice();
    return out;
  }

  #take(id: number, body: Uint8Array, out: MatroskaRead): void {
    if (id === ID.timestampScale) this.#scaleS = readUnsigned(body) / 1e9;
    else if (id === ID.clusterTimestamp) this.#clusterTicks = readUnsigned(body);
    else if (id === ID.tracks) out.tracks = readTracks(body);
    else {
      const f = blockFrame(id, body, this.#clusterTicks, this.#scaleS);
      if (f) out.frames.push(f);
    }
  }
}

/**
 * The frame of a SimpleBlock (its flags say keyframe) or a BlockGroup (a keyframe when it refers to no other block:
 * no ReferenceBlock). Laced blocks (written neither by browsers nor by Baton's WHIP muxer) are skipped.
 */
export function blockFrame(id: number, body: Uint8Array, clusterTicks: number, scaleS: number): MatroskaFrame | undefined {
  if (id === ID.simpleBlock) return simpleFrame(body, clusterTicks, scaleS);
  if (id !== ID.blockGroup) return undefined;
  let block: Uint8Array | undefined;
  let key = true;
  for (const [cid, c] of children(body)) {
    if (cid === ID.block) block = c;
    else if (cid === ID.referenceBlock) key = false;
  }
  const f = block && simpleFrame(block, clusterTicks, scaleS);
  return f && { ...f, key };
}

function simpleFrame(b: Uint8Array, clusterTicks: number, scaleS: number): MatroskaFrame | undefined {
  const h = readBlockHead(b);
  if (!h || (h.flags & 0x06) !== 0) return undefined;
  return { track: h.track, timestampS: (clusterTicks + h.relTicks) * scaleS, data: b.slice(h.headerBytes), key: h.key };
}

/** The children of a sized element's body, as [id, body] pairs; stops at a malformed or unsized one. */
function* children(b: Uint8Array): Generator<[number, Uint8Array]> {
  for (let at = 0; at < b.byteLength; ) {
    const h = readHeader(b.subarray(at));
    if (typeof h === 'string' || h.size === undefined) return;
    yield [h.id, b.subarray(at + h.headerBytes, at + h.headerBytes + h.size)];
    at += h.headerBytes + h.size;
  }
}

function readTracks(body: Uint8Array): MatroskaTrack[] {
  const tracks: MatroskaTrack[] = [];
  for (const [id, entry] of children(body)) {
    if (id !== ID.trackEntry) continue;
    const t: MatroskaTrack = { number: 0, codecId: '' };
    for (const [cid, c] of children(entry)) {
      if (cid === ID.trackNumber) t.number = readUnsigned(c);
      else if (cid === ID.codecId) t.codecId = new TextDecoder().decode(c).replace(/\0+$/, '');
      else if (cid === ID.codecPrivate) t.codecPrivate = c.slice();
      else if (cid === ID.video) {
        for (const [vid, v] of children(c)) {
          if (vid === ID.pixelWidth) t.width = readUnsigned(v);
          else if (vid === ID.pixelHeight) t.height = readUnsigned(v);
        }
      } else if (cid === ID.audio) {
        for (const [aid, a] of children(c)) {
          if (aid === ID.samplingFrequency) t.sampleRate = readFloat(a);
          else if (aid === ID.channels) t.channels = readUnsigned(a);
        }
      }
    }
    if (t.number > 0) tracks.push(t);
  }
  return tracks;
}

function readFloat(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return b.byteLength === 4 ? v.getFloat32(0) : b.byteLength === 8 ? v.getFloat64(0) : 0;
}
