// Finds a growing WebM stream's init segment length, its Cluster offsets and which Clusters start with a keyframe, chunk by chunk.
import { probeWebm } from '../storage/webm-probe.js';
import {
  BLOCK_ID,
  BLOCK_IDS,
  HeaderRead,
  type HeaderSlot,
  Id,
  REFERENCE_BLOCK_ID,
  readHeaderInto,
  SEGMENT_LEVEL_IDS,
  SIMPLE_BLOCK_ID,
} from './ebml-stream.js';
import { concatBytes } from '../../common/ebml-header.js';
import { ClusterSense } from './cluster-sense.js';
import { OffsetRing } from './offset-ring.js';

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
/**
 * Recent Cluster starts, and recent keyframe Cluster starts, remembered (each its own ring). A live join
 * and a continuation want the newest; a salvage one at most a flush behind it; older limits fall back to
 * the stream's first Clusters.
 */
export const MAX_RECENT_CLUSTERS = 64;
/** The stream's first Cluster starts kept for good: a live poster reads the first few whole Clusters. */
export const MAX_FIRST_CLUSTERS = 8;

/** A Cluster's Timecode as its first child: id 0xE7 (1 byte), a size vint (up to 8), at most 8 bytes of value. */
const TIMECODE_ID = 0xe7;
const MAX_TIMECODE_BYTES = 17;
const DEFAULT_TIMECODE_SCALE_NS = 1_000_000;

/** Longest element header: a 4-byte id and an 8-byte size. */
const MAX_HEADER_BYTES = 12;
const NO_BYTES = new Uint8Array(0);

/** `sized`: inside a sized Cluster until its first block, `group`: inside a BlockGroup while looking for a Cluster's first video block. */
type Mode = 'ebml' | 'top' | 'segment' | 'cluster' | 'sized' | 'group' | 'stopped';

/**
 * What the index knows of keyframes: `video` (each Cluster is checked for a leading video
 * keyframe), `all` (no video track: every Cluster is a start point), `unknown` (the Tracks
 * could not be read: no Cluster is known to start with a keyframe).
 */
export type KeyframeMode = 'video' | 'all' | 'unknown';

/** Whose block head is being collected: the Cluster's first video block (`block`) or a BlockGroup's Block (`group`). */
type PeekFor = 'block' | 'group';

/**
 * Walks element headers only (payloads are skipped without being buffered), so
 * indexing costs O(headers) and a few bytes of memory whatever the chunk sizes;
 * every structure it keeps is bounded, and a Cluster costs no allocation.
 * Malformed input stops the walk: what was indexed stays valid, nothing more is
 * added (`stopped` says so), and the stream itself is still stored as sent.
 * Clusters that make no sense as media (ClusterSense) stop it too, and say why in `refusal`.
 */
export class ClusterIndex {
  /** Offset of the first Cluster = length of the init segment (EBML header, Info, Tracks). */
  initBytes: number | undefined;
  #mode: Mode = 'ebml';
  /** Absolute offset of the next header to read. */
  #pos = 0;
  /** Bytes seen so far. */
  #total = 0;
  /** The bytes being walked during a push (the bytes kept from earlier pushes, then the chunk), from absolute offset #bufAt. */
  #buf: Uint8Array = NO_BYTES;
  #bufAt = 0;
  /** Unparsed bytes at #pos kept between pushes: fewer than a header's (#keepLen of them). */
  readonly #keep = new Uint8Array(MAX_HEADER_BYTES);
  #keepLen = 0;
  readonly #h: HeaderSlot = { id: 0, size: 0, headerBytes: 0 };
  #segmentEnd = Infinity;
  #clusterCount = 0;
  readonly #first: number[] = [];
  readonly #clusters = new OffsetRing(MAX_RECENT_CLUSTERS);
  /** Offsets after a whole block (in an unknown-size Cluster) or a whole sized Cluster. */
  readonly #cuts = new OffsetRing(MAX_RECENT_CUTS);
  /** Starts of the Clusters whose first video block is a keyframe (every Cluster without video), and the first such. */
  readonly #keyClusters = new OffsetRing(MAX_RECENT_CLUSTERS);
  #firstKeyCluster: number | undefined;
  #firstFrameEnd: number | undefined;
  readonly #sense = new ClusterSense();
  #keyframes: KeyframeMode = 'unknown';
  #videoTrack: number | undefined;
  /** The bytes before the first Cluster (`#headBytes` of them), kept until it is found: the Tracks name the video track. */
  #head: Uint8Array | null = new Uint8Array(4096);
  #headBytes = 0;
  /** The Cluster being walked, while its first video block is still to come. */
  #keyPending: number | undefined;
  /** The Cluster being walked has shown a block. */
  #clusterHasFrame = false;
  /** End of the sized Cluster being walked. */
  #clusterEnd = Infinity;
  /** The BlockGroup being walked: its end, the mode around it, its Block's track, whether it references another frame. */
  #groupEnd = 0;
  #groupParent: Mode = 'cluster';
  #groupTrack: number | undefined;
  #groupRef = false;
  /** A block head being collected (the first bytes of a (Simple)Block's payload, which may arrive in later chunks). */
  #peekFor: PeekFor | null = null;
  #peekAt = 0;
  #peekLen = 0;
  #peekGot = 0;
  readonly #peekBuf = new Uint8Array(BLOCK_HEAD_BYTES);

  /**
   * Called with each Cluster's start time, ms of media time, once its Timecode has arrived (while the push that
   * brought it runs: a live writer stamps it with its clock). A Cluster whose first child is not a plain Timecode
   * is left out.
   */
  onClusterTime: ((timeMs: number) => void) | undefined;
  #timecodeScaleNs = DEFAULT_TIMECODE_SCALE_NS;
  /** A Cluster's Timecode being collected, from its data start. */
  #timeActive = false;
  #timeAt = 0;
  #timeGot = 0;
  readonly #timeBuf = new Uint8Array(MAX_TIMECODE_BYTES);
  readonly #timeHead: HeaderSlot = { id: 0, size: 0, headerBytes: 0 };

  /** True when malformed input (or a refusal) stopped the indexing. */
  get stopped(): boolean {
    return this.#mode === 'stopped';
  }

  /** Why the stream makes no sense as media (see ClusterSense), once it does not. */
  get refusal(): string | undefined {
    return this.#sense.refusal;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#total;
  }

  /** Clusters seen so far. */
  get clusterCount(): number {
    return this.#clusterCount;
  }

  /** The stream's first Cluster starts (at most MAX_FIRST_CLUSTERS), ascending. */
  get firstClusters(): readonly number[] {
    return this.#first;
  }

  /** The newest Cluster starts remembered (at most MAX_RECENT_CLUSTERS), ascending. */
  recentClusters(): number[] {
    return this.#clusters.toArray();
  }

  /** The newest keyframe Cluster starts remembered (at most MAX_RECENT_CLUSTERS), ascending. */
  recentKeyClusters(): number[] {
    return this.#keyClusters.toArray();
  }

  /** Where the stream's first frame (block) ends; undefined while none has been seen: a cut before it holds no media. */
  get firstFrameEnd(): number | undefined {
    return this.#firstFrameEnd;
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
    if (this.#mode === 'group' && this.#groupParent === 'cluster') return this.#groupEnd - this.#total;
    if (this.#mode !== 'cluster' && this.#mode !== 'segment') return undefined;
    if (this.initBytes === undefined) return undefined;
    if (this.#pos > this.#total) return this.#mode === 'cluster' ? this.#pos - this.#total : undefined;
    return this.#keepLen === 0 ? 0 : undefined;
  }

  /** The last Cluster that starts at or before `limit` (default: anywhere), if any remembered. */
  latestCluster(limit = Infinity): number | undefined {
    return this.#clusters.lastAtOrBefore(limit) ?? lastAtOrBefore(this.#first, limit);
  }

  /** The last Cluster known to start with a keyframe, at or before `limit`, if any remembered. */
  latestKeyCluster(limit = Infinity): number | undefined {
    const recent = this.#keyClusters.lastAtOrBefore(limit);
    if (recent !== undefined) return recent;
    return this.#firstKeyCluster !== undefined && this.#firstKeyCluster <= limit ? this.#firstKeyCluster : undefined;
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
    const cluster = this.latestCluster(bound);
    const cut = this.#cuts.lastAtOrBefore(bound);
    if (cut === undefined) return cluster;
    return cluster === undefined || cut > cluster ? cut : cluster;
  }

  /** The bytes that follow everything pushed so far. */
  push(chunk: Uint8Array): void {
    const start = this.#total;
    this.#total += chunk.byteLength;
    if (this.#head) this.#keepHead(chunk);
    if (this.#peekFor) this.#fillPeek(chunk, start);
    if (this.#timeActive) this.#fillTimePeek(chunk, start);
    if (this.#mode === 'stopped' || this.#pos >= this.#total) return;
    // Bytes kept from before lie at #pos, just before this chunk; otherwise #pos is inside the chunk.
    if (this.#keepLen > 0) {
      this.#buf = concatBytes(this.#keep.subarray(0, this.#keepLen), chunk);
      this.#bufAt = start - this.#keepLen;
    } else {
      this.#buf = chunk;
      this.#bufAt = start;
    }
    this.#keepLen = 0;
    this.#walk();
    // Keep what the walk could not read yet (part of a header), not the chunk.
    if (!this.stopped && this.#pos < this.#total) {
      const from = this.#pos - this.#bufAt;
      this.#keepLen = this.#buf.byteLength - from;
      for (let i = 0; i < this.#keepLen; i++) this.#keep[i] = this.#buf[from + i]!;
    }
    this.#buf = NO_BYTES;
  }

  #walk(): void {
    const h = this.#h;
    for (;;) {
      if (this.#mode === 'stopped') return;
      const available = this.#total - this.#pos;
      if (available <= 0) return;
      if (this.#mode === 'group' && this.#pos >= this.#groupEnd) {
        this.#endGroup();
        continue;
      }
      if (this.#mode === 'sized' && this.#pos >= this.#clusterEnd) {
        this.#mode = 'segment';
        continue;
      }
      const read = readHeaderInto(this.#buf, this.#pos - this.#bufAt, this.#buf.byteLength, h);
      // Inside a sized Cluster or a BlockGroup the walk only looks for a first block: what it cannot read is skipped.
      if ((read === HeaderRead.short && available >= MAX_HEADER_BYTES) || read === HeaderRead.bad) {
        if (this.#mode === 'group' || this.#mode === 'sized') {
          this.#skipLookup();
          continue;
        }
        return this.#stop();
      }
      if (read === HeaderRead.short) return; // wait for more bytes
      const at = this.#pos;
      const dataStart = at + h.headerBytes;
      const unknownSize = h.size < 0;
      let next: number;
      switch (this.#mode) {
        case 'ebml':
          if (h.id !== Id.ebml || unknownSize) return this.#stop();
          next = dataStart + h.size;
          this.#mode = 'top';
          break;
        case 'top':
          if (h.id === Id.segment) {
            this.#segmentEnd = unknownSize ? Infinity : dataStart + h.size;
            this.#mode = 'segment';
            next = dataStart;
          } else {
            if (unknownSize) return this.#stop();
            next = dataStart + h.size;
          }
          break;
        case 'segment':
          if (at >= this.#segmentEnd) {
            this.#mode = 'top';
            continue;
          }
          if (h.id === Id.cluster) {
            if (!this.#clusterStart(at, dataStart)) return this.#stop();
            if (unknownSize) this.#mode = 'cluster';
            else {
              this.#cut(dataStart + h.size);
              // A sized Cluster is walked only until its first block (and its first video block, for a keyframe).
              this.#mode = 'sized';
              this.#clusterEnd = dataStart + h.size;
            }
            next = dataStart;
          } else {
            // Only Clusters may have an unknown size inside a Segment.
            if (unknownSize) return this.#stop();
            next = dataStart + h.size;
          }
          break;
        case 'cluster':
          if (SEGMENT_LEVEL_IDS.has(h.id) || at >= this.#segmentEnd) {
            this.#mode = 'segment';
            continue; // the unknown-size Cluster ended here: read this header again at Segment level
          }
          if (unknownSize) return this.#stop();
          next = dataStart + h.size;
          // Known before the block's bytes arrive; latestCut never returns more than was pushed.
          if (BLOCK_IDS.has(h.id)) {
            this.#cut(next);
            this.#sawFrame(next);
            next = this.#checkBlock(h.id, dataStart, h.size);
          }
          break;
        case 'sized':
          if (unknownSize || dataStart + h.size > this.#clusterEnd) {
            this.#skipLookup();
            continue;
          }
          next = dataStart + h.size;
          if (BLOCK_IDS.has(h.id)) {
            this.#sawFrame(next);
            next = this.#checkBlock(h.id, dataStart, h.size);
          }
          // Its first block (and first video block) seen: the rest of the Cluster is skipped whole.
          if (this.#keyPending === undefined && this.#clusterHasFrame) next = this.#clusterEnd;
          break;
        case 'group': {
          if (unknownSize || dataStart + h.size > this.#groupEnd) {
            this.#skipLookup();
            continue;
          }
          next = dataStart + h.size;
          if (h.id === REFERENCE_BLOCK_ID) this.#groupRef = true;
          else if (h.id === BLOCK_ID) this.#readBlockHead(dataStart, h.size, 'group');
          break;
        }
      }
      this.#pos = next;
    }
  }

  /** A Cluster header at `at`: judged, remembered, its Timecode and first video block looked for. False when refused. */
  #clusterStart(at: number, dataStart: number): boolean {
    if (this.initBytes === undefined) this.#readTracks(at);
    this.initBytes ??= at;
    this.#sense.cluster(at);
    if (this.#sense.refusal !== undefined) return false;
    this.#clusterCount++;
    if (this.#first.length < MAX_FIRST_CLUSTERS) this.#first.push(at);
    this.#clusters.push(at);
    this.#clusterHasFrame = false;
    this.#readClusterTime(dataStart);
    this.#keyPending = undefined;
    if (this.#keyframes === 'all') this.#keyCluster(at);
    else if (this.#keyframes === 'video') this.#keyPending = at;
    return true;
  }

  #keyCluster(at: number): void {
    this.#firstKeyCluster ??= at;
    this.#keyClusters.push(at);
  }

  /** A block (ending at `end`) in the Cluster being walked. */
  #sawFrame(end: number): void {
    this.#clusterHasFrame = true;
    this.#firstFrameEnd ??= end;
    this.#sense.frame();
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
      this.#readBlockHead(dataStart, size, 'block');
      return end;
    }
    this.#groupEnd = end;
    this.#groupParent = this.#mode;
    this.#groupTrack = undefined;
    this.#groupRef = false;
    this.#mode = 'group';
    return dataStart;
  }

  /** The first video block of the Cluster being walked decides whether it is a start point; other tracks' blocks do not. */
  #sawBlock(track: number | undefined, key: boolean): void {
    const cluster = this.#keyPending;
    if (cluster === undefined || (track !== undefined && track !== this.#videoTrack)) return;
    this.#keyPending = undefined;
    if (track !== undefined && key) this.#keyCluster(cluster);
  }

  #endGroup(): void {
    this.#mode = this.#groupParent;
    this.#sawBlock(this.#groupTrack, !this.#groupRef);
  }

  /** Collects a block's head (track number, timecode, flags) at `dataStart`, from the bytes being walked now or from later chunks. */
  #readBlockHead(dataStart: number, size: number, forWhom: PeekFor): void {
    this.#peekFor = forWhom;
    this.#peekAt = dataStart;
    this.#peekLen = Math.min(size, BLOCK_HEAD_BYTES);
    this.#peekGot = 0;
    this.#fillPeek(this.#buf, this.#bufAt);
  }

  /** Bytes `chunk` (starting at absolute offset `start`) for the block head being collected. */
  #fillPeek(chunk: Uint8Array, start: number): void {
    this.#peekGot = collect(this.#peekBuf, this.#peekLen, this.#peekAt, this.#peekGot, chunk, start);
    if (this.#peekGot < this.#peekLen) return;
    const forWhom = this.#peekFor;
    this.#peekFor = null;
    // An unreadable head (track vint too long for the bytes): the Cluster cannot be told to start with a keyframe.
    const b = this.#peekBuf;
    const first = this.#peekLen > 0 ? b[0]! : 0;
    const n = first === 0 ? 9 : Math.clz32(first) - 23;
    let track: number | undefined;
    let key = false;
    if (n <= 8 && this.#peekLen >= n + 3) {
      track = first & (0xff >> n);
      for (let i = 1; i < n; i++) track = track * 256 + b[i]!;
      key = (b[n + 2]! & 0x80) !== 0;
    }
    if (forWhom === 'group') this.#groupTrack = track;
    else this.#sawBlock(track, key);
  }

  /** Collects the Cluster's first child at `dataStart`, from the bytes being walked now or from later chunks. */
  #readClusterTime(dataStart: number): void {
    this.#timeActive = true;
    this.#timeAt = dataStart;
    this.#timeGot = 0;
    this.#fillTimePeek(this.#buf, this.#bufAt);
  }

  /** Bytes `chunk` (starting at absolute offset `start`) for the Timecode being collected; reports it once whole. */
  #fillTimePeek(chunk: Uint8Array, start: number): void {
    const got = collect(this.#timeBuf, MAX_TIMECODE_BYTES, this.#timeAt, this.#timeGot, chunk, start);
    if (got === this.#timeGot) return;
    this.#timeGot = got;
    const h = this.#timeHead;
    const read = readHeaderInto(this.#timeBuf, 0, got, h);
    if (read === HeaderRead.short) return;
    if (read === HeaderRead.bad || h.id !== TIMECODE_ID || h.size <= 0 || h.size > 8) {
      this.#timeActive = false;
      return;
    }
    if (got < h.headerBytes + h.size) return;
    this.#timeActive = false;
    let ticks = 0;
    for (let i = h.headerBytes; i < h.headerBytes + h.size; i++) ticks = ticks * 256 + this.#timeBuf[i]!;
    const ms = (ticks * this.#timecodeScaleNs) / 1e6;
    this.#sense.time(ms);
    this.onClusterTime?.(ms);
  }

  /** Malformed inside a sized Cluster or a BlockGroup: give up on this Cluster's keyframe and skip the element whole. */
  #skipLookup(): void {
    this.#keyPending = undefined;
    this.#peekFor = null;
    if (this.#mode === 'group') {
      this.#mode = this.#groupParent;
      this.#pos = this.#groupEnd;
      return;
    }
    this.#mode = 'segment';
    this.#pos = this.#clusterEnd;
  }

  #cut(at: number): void {
    this.#cuts.push(at);
  }

  #stop(): void {
    this.#mode = 'stopped';
    this.#keepLen = 0;
    this.#head = null;
    this.#peekFor = null;
    this.#timeActive = false;
  }
}

/**
 * Copies into `buf` what it still wants (`got` of `len` bytes collected, for absolute offset `at`) from `chunk`
 * (which starts at absolute offset `start`); returns the new count.
 */
function collect(buf: Uint8Array, len: number, at: number, got: number, chunk: Uint8Array, start: number): number {
  const want = at + got;
  const end = start + chunk.byteLength;
  if (want < start || want >= end || got >= len) return got;
  const n = Math.min(len - got, end - want);
  for (let i = 0; i < n; i++) buf[got + i] = chunk[want - start + i]!;
  return got + n;
}

function lastAtOrBefore(sorted: readonly number[], limit: number): number | undefined {
  for (let i = sorted.length - 1; i >= 0; i--) if (sorted[i]! <= limit) return sorted[i];
  return undefined;
}
