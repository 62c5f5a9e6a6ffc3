// Finds a growing WebM stream's init segment length, its Cluster offsets and which Clusters start with a keyframe, chunk by chunk.
import { probeWebm } from '../storage/webm-probe.js';
import { BLOCK_ID, BLOCK_IDS, Id, REFERENCE_BLOCK_ID, readHeader, SEGMENT_LEVEL_IDS, SIMPLE_BLOCK_ID } from './ebml-stream.js';
import { concatBytes, readBlockHead, readUnsigned } from '../../common/ebml-header.js';

/** A SimpleBlock's head: track number (a vint of up to 8 bytes), a 16-bit timecode, the flags byte. */
const BLOCK_HEAD_BYTES = 11;
/** Init segments longer than this are not kept for reading the Tracks (no keyframe index then). */
export const MAX_INIT_BYTES = 256 * 1024;

/**
 * Recent cut points remembered (block and sized-Cluster ends, ascending). A salvage
 * cuts at the disk's edge, at most one flush behind the newest bytes, so a few are
 * plenty; older limits fall back to Cluster starts.
 */
export const MAX_RECENT_CUTS = 64;

/** A Cluster's Timecode as its first child: id 0xE7 (1 byte), a size vint (up to 8), at most 8 bytes of value. */
const TIMECODE_ID = 0xe7;
const MAX_TIMECODE_BYTES = 17;
const DEFAULT_TIMECODE_SCALE_NS = 1_000_000;

/** Longest element header: a 4-byte id and an 8-byte size. */
const MAX_HEADER_BYTES = 12;

/** `sized`: inside a sized Cluster, `group`: inside a BlockGroup, both only while looking for a Cluster's first video block. */
type Mode = 'ebml' | 'top' | 'segment' | 'cluster' | 'sized' | 'group' | 'stopped';

/**
 * What the index knows of keyframes: `video` (each Cluster is checked for a leading video
 * keyframe), `all` (no video track: every Cluster is a start point), `unknown` (the Tracks
 * could not be read: no Cluster is known to start with a keyframe).
 */
export type KeyframeMode = 'video' | 'all' | 'unknown';

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
  /** Start offsets of the Clusters whose first video block is a keyframe (every Cluster without video), ascending. */
  readonly keyClusters: number[] = [];
  #keyframes: KeyframeMode = 'unknown';
  #videoTrack: number | undefined;
  /** The bytes before the first Cluster (`#headBytes` of them), kept until it is found: the Tracks name the video track. */
  #head: Uint8Array | null = new Uint8Array(4096);
  #headBytes = 0;
  /** The Cluster being walked, while its first video block is still to come. */
  #keyPending: number | undefined;
  /** End of the sized Cluster being walked. */
  #clusterEnd = Infinity;
  /** The BlockGroup being walked: its end, the mode around it, its Block's track, whether it references another frame. */
  #group: { end: number; parent: Mode; track?: number; ref: boolean } | null = null;
  /** A block head being collected: the first bytes of a (Simple)Block's payload, which may arrive in later chunks. */
  #peek: { at: number; buf: Uint8Array; got: number; done: (track: number | undefined, key: boolean) => void } | null = null;

  /**
   * Called with each Cluster's start time, ms of media time, once its Timecode has arrived (while the push that
   * brought it runs: a live writer stamps it with its clock). A Cluster whose first child is not a plain Timecode
   * is left out.
   */
  onClusterTime: ((timeMs: number) => void) | undefined;
  #timecodeScaleNs = DEFAULT_TIMECODE_SCALE_NS;
  /** A Cluster's Timecode being collected, from its data start. */
  #timePeek: { at: number; buf: Uint8Array; got: number } | null = null;

  /** True when malformed input stopped the indexing. */
  get stopped(): boolean {
    return this.#mode === 'stopped';
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#total;
  }

  /** How keyframe Clusters are known (see KeyframeMode); `unknown` until the first Cluster. */
  get keyframes(): KeyframeMode {
    return this.#keyframes;
  }

  /**
   * How many bytes complete the element the stream ends inside, when it ends inside a
   * block's payload in a Cluster (0 at an element boundary); undefined when that cannot
   * be told (inside a header, a sized Cluster, before the first Cluster, or stopped).
   * A stream continued by another muxer (a resumed WHIP broadcast) fills those bytes first.
   */
  get tornBytes(): number | undefined {
    // Inside a BlockGroup of an unknown-size Cluster: what completes the group.
    if (this.#mode === 'group' && this.#group!.parent === 'cluster') return this.#group!.end - this.#total;
    if (this.#mode !== 'cluster' && this.#mode !== 'segment') return undefined;
    if (this.initBytes === undefined) return undefined;
    if (this.#pos > this.#total) return this.#mode === 'cluster' ? this.#pos - this.#total : undefined;
    return this.#carry.byteLength === 0 ? 0 : undefined;
  }

  /** The last Cluster that starts at or before `limit` (default: anywhere), if any. */
  latestCluster(limit = Infinity): number | undefined {
    return lastAtOrBefore(this.clusters, limit);
  }

  /** The last Cluster known to start with a keyframe, at or before `limit`, if any. */
  latestKeyCluster(limit = Infinity): number | undefined {
    return lastAtOrBefore(this.keyClusters, limit);
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
    if (this.#head) this.#keepHead(chunk);
    if (this.#peek) this.#fillPeek(chunk, start);
    if (this.#timePeek) this.#fillTimePeek(chunk, start);
    if (this.#mode === 'stopped' || this.#pos >= this.#total) return;
    // Keep only what lies at or after the next header (payloads being skipped are dropped).
    const from = Math.max(0, this.#pos - start);
    const fresh = chunk.subarray(from);
    this.#carry = this.#carry.byteLength === 0 ? fresh.slice() : concatBytes(this.#carry, fresh);
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
      if (this.#mode === 'group' && this.#pos >= this.#group!.end) {
        this.#endGroup();
        continue;
      }
      if (this.#mode === 'sized' && this.#pos >= this.#clusterEnd) {
        this.#mode = 'segment';
        continue;
      }
      const h = readHeader(this.#carry);
      // Inside a sized Cluster or a BlockGroup the walk only looks for a first video block: what it cannot read is skipped.
      if ((h === 'short' && this.#carry.byteLength >= MAX_HEADER_BYTES) || h === 'bad') {
        if (this.#mode === 'group' || this.#mode === 'sized') {
          this.#skipLookup();
          continue;
        }
        return this.#stop();
      }
      if (h === 'short') return; // wait for more bytes
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
            if (this.initBytes === undefined) this.#readTracks(at);
            this.initBytes ??= at;
            this.clusters.push(at);
            if (this.onClusterTime) this.#readClusterTime(dataStart);
            this.#keyPending = undefined;
            if (this.#keyframes === 'all') this.keyClusters.push(at);
            else if (this.#keyframes === 'video') this.#keyPending = at;
            if (h.size === undefined) {
              this.#mode = 'cluster';
              next = dataStart;
            } else {
              this.#cut(dataStart + h.size);
              // A sized Cluster is walked only until its first video block says whether it starts with a keyframe.
              if (this.#keyPending !== undefined) {
                this.#mode = 'sized';
                this.#clusterEnd = dataStart + h.size;
                next = dataStart;
              } else next = dataStart + h.size;
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
          if (BLOCK_IDS.has(h.id)) {
            this.#cut(next);
            next = this.#checkBlock(h.id, dataStart, h.size);
          }
          break;
        case 'sized':
          if (h.size === undefined || dataStart + h.size > this.#clusterEnd) {
            this.#skipLookup();
            continue;
          }
          next = BLOCK_IDS.has(h.id) ? this.#checkBlock(h.id, dataStart, h.size) : dataStart + h.size;
          // Its first video block seen: the rest of the Cluster is skipped whole.
          if (this.#keyPending === undefined) next = this.#clusterEnd;
          break;
        case 'group': {
          const g = this.#group!;
          if (h.size === undefined || dataStart + h.size > g.end) {
            this.#skipLookup();
            continue;
          }
          next = dataStart + h.size;
          if (h.id === REFERENCE_BLOCK_ID) g.ref = true;
          else if (h.id === BLOCK_ID) this.#readBlockHead(dataStart, h.size, (track) => (g.track = track));
          break;
        }
      }
      this.#advance(next);
    }
  }

  /** The Tracks (in the bytes before the first Cluster at `at`) say which track is video. */
  #readTracks(at: number): void {
    const head = this.#head;
    this.#head = null;
    if (!head) return;
    const probe = probeWebm(head.subarray(0, Math.min(at, this.#headBytes)));
    if (!probe.complete) return;
    this.#timecodeScaleNs = probe.timecodeScaleNs;
    const video = probe.tracks.find((t) => t.type === 'video');
    if (!video) this.#keyframes = 'all';
    else if (video.number !== undefined) {
      this.#keyframes = 'video';
      this.#videoTrack = video.number;
    }
  }

  /** Keeps the stream's first MAX_INIT_BYTES bytes (at most) until the first Cluster shows. */
  #keepHead(bytes: Uint8Array): void {
    const chunk = bytes.subarray(0, MAX_INIT_BYTES - this.#headBytes);
    const need = this.#headBytes + chunk.byteLength;
    if (need > this.#head!.byteLength) {
      const grown = new Uint8Array(Math.min(MAX_INIT_BYTES, Math.max(need, this.#head!.byteLength * 2)));
      grown.set(this.#head!.subarray(0, this.#headBytes));
      this.#head = grown;
    }
    this.#head!.set(chunk, this.#headBytes);
    this.#headBytes = need;
  }

  /**
   * A block of a Cluster whose first video block is still to come: a SimpleBlock's head says its track
   * and keyframe flag (read now or as its bytes arrive); a BlockGroup is walked into (a keyframe there is
   * a group without a ReferenceBlock). Returns where the walk goes next.
   */
  #checkBlock(id: number, dataStart: number, size: number): number {
    const end = dataStart + size;
    if (this.#keyPending === undefined) return end;
    if (id === SIMPLE_BLOCK_ID) {
      this.#readBlockHead(dataStart, size, (track, key) => this.#sawBlock(track, key));
      return end;
    }
    this.#group = { end, parent: this.#mode, ref: false };
    this.#mode = 'group';
    return dataStart;
  }

  /** The first video block of the Cluster being walked decides whether it is a start point; other tracks' blocks do not. */
  #sawBlock(track: number | undefined, key: boolean): void {
    const cluster = this.#keyPending;
    if (cluster === undefined || (track !== undefined && track !== this.#videoTrack)) return;
    this.#keyPending = undefined;
    if (track !== undefined && key) this.keyClusters.push(cluster);
  }

  #endGroup(): void {
    const g = this.#group!;
    this.#group = null;
    this.#mode = g.parent;
    this.#sawBlock(g.track, !g.ref);
  }

  /** Collects a block's head (track number, timecode, flags) at `dataStart`, from the carry now or from later chunks. */
  #readBlockHead(dataStart: number, size: number, done: (track: number | undefined, key: boolean) => void): void {
    this.#peek = { at: dataStart, buf: new Uint8Array(Math.min(size, BLOCK_HEAD_BYTES)), got: 0, done };
    // The carry starts at the block's header (#pos): part of the payload may be here already.
    const from = dataStart - this.#pos;
    if (from < this.#carry.byteLength) this.#fillPeek(this.#carry.subarray(from), dataStart);
  }

  /** Bytes `chunk` (starting at absolute offset `start`) for the block head being collected. */
  #fillPeek(chunk: Uint8Array, start: number): void {
    const p = this.#peek!;
    if (!collect(p, chunk, start) || p.got < p.buf.byteLength) return;
    this.#peek = null;
    const b = readBlockHead(p.buf);
    // An unreadable head: the Cluster cannot be told to start with a keyframe.
    p.done(b?.track, b?.key ?? false);
  }

  /** Collects the Cluster's first child at `dataStart`, from the carry now or from later chunks. */
  #readClusterTime(dataStart: number): void {
    this.#timePeek = { at: dataStart, buf: new Uint8Array(MAX_TIMECODE_BYTES), got: 0 };
    const from = dataStart - this.#pos;
    if (from < this.#carry.byteLength) this.#fillTimePeek(this.#carry.subarray(from), dataStart);
  }

  /** Bytes `chunk` (starting at absolute offset `start`) for the Timecode being collected; reports it once whole. */
  #fillTimePeek(chunk: Uint8Array, start: number): void {
    const p = this.#timePeek!;
    if (!collect(p, chunk, start)) return;
    const h = readHeader(p.buf.subarray(0, p.got));
    if (h === 'short') return;
    if (h === 'bad' || h.id !== TIMECODE_ID || h.size === undefined || h.size === 0 || h.size > 8) {
      this.#timePeek = null;
      return;
    }
    if (p.got < h.headerBytes + h.size) return;
    this.#timePeek = null;
    const ticks = readUnsigned(p.buf.subarray(h.headerBytes, h.headerBytes + h.size));
    this.onClusterTime?.((ticks * this.#timecodeScaleNs) / 1e6);
  }

  /** Malformed inside a sized Cluster or a BlockGroup: give up on this Cluster's keyframe and skip the element whole. */
  #skipLookup(): void {
    this.#keyPending = undefined;
    this.#peek = null;
    if (this.#mode === 'group') {
      const g = this.#group!;
      this.#group = null;
      this.#mode = g.parent;
      this.#advance(g.end);
      return;
    }
    this.#mode = 'segment';
    this.#advance(this.#clusterEnd);
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
    this.#head = null;
    this.#peek = null;
    this.#timePeek = null;
    this.#group = null;
  }
}

/** Copies what `p` still wants of `chunk` (which starts at absolute offset `start`); false when it holds none of it. */
function collect(p: { at: number; buf: Uint8Array; got: number }, chunk: Uint8Array, start: number): boolean {
  const want = p.at + p.got;
  const end = start + chunk.byteLength;
  if (want < start || want >= end || p.got >= p.buf.byteLength) return false;
  const n = Math.min(p.buf.byteLength - p.got, end - want);
  p.buf.set(chunk.subarray(want - start, want - start + n), p.got);
  p.got += n;
  return true;
}

function lastAtOrBefore(sorted: readonly number[], limit: number): number | undefined {
  for (let i = sorted.length - 1; i >= 0; i--) if (sorted[i]! <= limit) return sorted[i];
  return undefined;
}
