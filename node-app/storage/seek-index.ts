// Where a viewer can start playing a stored WebM: its keyframe Clusters with their times, from the Cues or a Cluster scan.
//
// The file's own EBML readers (webm-probe's readHeader, webm-duration's block heads) do the parsing: mediabunny
// reads Cues too, but its public API gives packets with timestamps and never the byte offset of their Cluster,
// which is what a seek over the data channel has to name.
import { PROBE_HEAD_BYTES, forEachChild, probeWebm, readHeader, readUint, type Header, type WebmProbe } from './webm-probe.js';
import { blockHeadAt } from './webm-duration.js';
import { MatroskaId as Id } from '../../common/matroska-ids.js';
import { ClusterSense } from '../ingest/cluster-sense.js';

/** One place a stream can start from: a Cluster that holds a video keyframe, at that keyframe's time (or any Cluster of an audio-only file, at its own). */
export interface SeekPoint {
  /** Media time of the point, ms. */
  timeMs: number;
  /** Byte offset of the Cluster element. */
  offset: number;
}

export interface SeekIndex {
  /** Ascending by time and by offset; never empty. */
  points: SeekPoint[];
  /** `cues` when read from the file's Cues, `clusters` when the Clusters were scanned (recordings carry no Cues). */
  from: 'cues' | 'clusters';
  /** Offset of the first Cluster: the bytes before it are the init segment. */
  initBytes: number;
}

export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/** Largest Cues element read whole (a 2-hour file with a cue every second needs about 100 KiB). */
export const MAX_CUES_BYTES = 16 * 1024 * 1024;
/** A Cluster scan reads the file in pieces of this size. */
export const SCAN_CHUNK_BYTES = 1024 * 1024;
/** Seek points kept per asset (a keyframe a second for 55 hours, a point per MIN_SEEK_POINT_GAP_MS for 27 h); later ones are dropped. */
export const MAX_SEEK_POINTS = 200_000;
/**
 * A point is kept only this long after the previous kept one: a file with a Cluster per 20-ms Opus frame (every
 * Cluster of an audio-only file starts a point) would otherwise spend MAX_SEEK_POINTS in 66 minutes. A seek then
 * starts at most this much before its time.
 */
export const MIN_SEEK_POINT_GAP_MS = 500;
/**
 * Clusters a scan reads before it stops: Clusters that are not seek points (video ones without a keyframe, Timecodes
 * that go back, audio Clusters within MIN_SEEK_POINT_GAP_MS of a point) cost it too. A Cluster per 20-ms Opus frame
 * for 11 h, per frame of 30-fps video for 18.5 h. Measured here: 1,000,000 Clusters of 17 bytes in 2.0 s, so about
 * 4 s for all of these and 0.12 s per SCAN_CHUNK_BYTES read of the smallest.
 */
export const MAX_SCANNED_CLUSTERS = 10 * MAX_SEEK_POINTS;

/** Element ids of four bytes belong to the Segment level: inside an unknown-size Cluster one ends it. */
const FIRST_SEGMENT_LEVEL_ID = 0x10000000;
const HEADER_BYTES = 12;

/**
 * Builds the seek index of a stored (complete) WebM file of `size` bytes. Uses the Cues when the
 * SeekHead names them and they point at Clusters, else scans every Cluster for a video keyframe.
 * Resolves undefined when the file has no readable head or no Cluster; read errors reject.
 */
export async function buildSeekIndex(read: ReadAt, size: number): Promise<SeekIndex | undefined> {
  const probe = probeWebm(await read(0, Math.min(size, PROBE_HEAD_BYTES)));
  if (!probe.complete || probe.firstClusterOffset === undefined) return undefined;
  const fromCues = await readCues(read, size, probe);
  if (fromCues) return { points: fromCues, from: 'cues', initBytes: probe.firstClusterOffset };
  const scanned = await scanClusters(read, size, probe);
  return scanned.length ? { points: scanned, from: 'clusters', initBytes: probe.firstClusterOffset } : undefined;
}

/** The point to play `timeMs` from: the last one at or before it (the first one for earlier times). */
export function seekPointAt(index: SeekIndex, timeMs: number): SeekPoint {
  const p = index.points;
  let lo = 0;
  let hi = p.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (p[mid]!.timeMs <= timeMs) lo = mid;
    else hi = mid - 1;
  }
  return p[lo]!;
}

function videoTrack(probe: WebmProbe): number | undefined {
  return probe.tracks.find((t) => t.type === 'video')?.number;
}

function ticksToMs(ticks: number, probe: WebmProbe): number {
  return Math.round((ticks * probe.timecodeScaleNs) / 1e6);
}

async function readCues(read: ReadAt, size: number, probe: WebmProbe): Promise<SeekPoint[] | undefined> {
  const at = probe.cuesOffset;
  const base = probe.segmentDataStart;
  if (at === undefined || base === undefined || at + HEADER_BYTES > size) return undefined;
  const head = readHeader(view(await read(at, HEADER_BYTES)), 0);
  if (!head || head.id !== Id.cues || head.size === undefined || head.size > MAX_CUES_BYTES || at + head.dataStart + head.size > size)
    return undefined;
  const bytes = await read(at + head.dataStart, head.size);
  const v = view(bytes);
  const video = videoTrack(probe);
  const points: SeekPoint[] = [];
  forEachChild(v, 0, bytes.byteLength, (cue) => {
    if (cue.id !== Id.cuePoint || cue.size === undefined || points.length >= MAX_SEEK_POINTS) return;
    let time: number | undefined;
    let cluster: number | undefined;
    forEachChild(v, cue.dataStart, cue.dataStart + cue.size, (c) => {
      if (c.size === undefined) return;
      if (c.id === Id.cueTime) time = readUint(v, c.dataStart, c.size);
      if (c.id !== Id.cueTrackPositions) return;
      let track: number | undefined;
      let position: number | undefined;
      forEachChild(v, c.dataStart, c.dataStart + c.size, (t) => {
        if (t.size === undefined) return;
        if (t.id === Id.cueTrack) track = readUint(v, t.dataStart, t.size);
        if (t.id === Id.cueClusterPosition) position = readUint(v, t.dataStart, t.size);
      });
      if (position !== undefined && (video === undefined || track === video)) cluster ??= position;
    });
    if (time === undefined || cluster === undefined) return;
    const point = { timeMs: ticksToMs(time, probe), offset: base + cluster };
    const last = points[points.length - 1];
    // Cues of one Cluster repeat its offset; out-of-order or out-of-file cues make the Cues untrustworthy.
    if (last && point.offset === last.offset) return;
    if (last && point.offset > last.offset && point.timeMs >= last.timeMs && point.timeMs - last.timeMs < MIN_SEEK_POINT_GAP_MS) return;
    points.push(point);
  });
  if (points.length === 0 || !ascending(points, size)) return undefined;
  // A Cues element that does not point at Clusters is not what it says: fall back to a scan.
  for (const p of [points[0]!, points[points.length - 1]!]) {
    const h = readHeader(view(await read(p.offset, HEADER_BYTES)), 0);
    if (!h || h.id !== Id.cluster) return undefined;
  }
  return points;
}

function ascending(points: SeekPoint[], size: number): boolean {
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.offset >= size) return false;
    if (i > 0 && (p.offset <= points[i - 1]!.offset || p.timeMs < points[i - 1]!.timeMs)) return false;
  }
  return true;
}

/** Reads a file front to back in SCAN_CHUNK_BYTES pieces, handing out views of the bytes around a position. */
class Window {
  #base = 0;
  #bytes: Uint8Array = new Uint8Array(0);
  #view = view(this.#bytes);
  constructor(
    readonly read: ReadAt,
    readonly size: number,
  ) {}

  /** A view holding at least `n` bytes from `pos` (fewer at the end of the file), and `pos`'s index in it. */
  async at(pos: number, n: number): Promise<{ v: DataView; i: number }> {
    const want = Math.min(n, this.size - pos);
    if (pos < this.#base || pos + want > this.#base + this.#bytes.byteLength) {
      this.#base = pos;
      this.#bytes = await this.read(pos, Math.min(this.size - pos, Math.max(SCAN_CHUNK_BYTES, want)));
      this.#view = view(this.#bytes);
    }
    return { v: this.#view, i: pos - this.#base };
  }

  async header(pos: number): Promise<Header | undefined> {
    const { v, i } = await this.at(pos, HEADER_BYTES);
    const h = readHeader(v, i);
    return h && { ...h, dataStart: h.dataStart - i + pos };
  }
}

async function scanClusters(read: ReadAt, size: number, probe: WebmProbe): Promise<SeekPoint[]> {
  const w = new Window(read, size);
  const video = videoTrack(probe);
  const points: SeekPoint[] = [];
  // A file of frameless Clusters (thousands of empty ones a MB) would cost this scan per Cluster: it stops there. Small
  // Clusters with frames are real media (a Cluster per 20-ms Opus frame, 117 B each) and are read through.
  const sense = new ClusterSense(false);
  let pos = probe.firstClusterOffset!;
  let clusters = 0;
  while (pos < size && points.length < MAX_SEEK_POINTS && clusters < MAX_SCANNED_CLUSTERS) {
    const h = await w.header(pos);
    if (!h) break;
    if (h.id !== Id.cluster) {
      // Cues, Tags, Void between Clusters: skip; an unknown size anywhere else cannot be skipped.
      if (h.size === undefined) break;
      pos = h.dataStart + h.size;
      continue;
    }
    sense.cluster(pos);
    if (sense.refusal !== undefined) break;
    clusters++;
    const end = h.size === undefined ? size : Math.min(size, h.dataStart + h.size);
    let timecode: number | undefined;
    // Ticks after the Cluster's Timecode of its first video keyframe (any block of it, not only the first: a muxer
    // that cuts Clusters by time, such as ffmpeg's `-cluster_time_limit`, puts keyframes mid-Cluster).
    let keyRel: number | undefined = video === undefined ? 0 : undefined;
    let framed = false;
    let p = h.dataStart;
    while (p < end) {
      const c = await w.header(p);
      // A truncated element, or the next Segment-level element: this (unknown-size) Cluster ended.
      if (!c || c.size === undefined || c.id >= FIRST_SEGMENT_LEVEL_ID) break;
      if (c.id === Id.clusterTimestamp && c.size <= 7) {
        const { v, i } = await w.at(c.dataStart, c.size);
        timecode = readUint(v, i, c.size);
        sense.time(ticksToMs(timecode, probe));
      } else if (c.id === Id.simpleBlock || c.id === Id.blockGroup) {
        framed = true;
        sense.frame();
        if (keyRel === undefined) keyRel = await keyframeAt(w, c, video!);
      }
      p = c.dataStart + c.size;
      // A known-size Cluster is skipped whole once its time, a frame and its keyframe are known.
      if (h.size !== undefined && timecode !== undefined && keyRel !== undefined && framed) break;
    }
    if (timecode !== undefined && keyRel !== undefined) {
      // The keyframe's own time, as a Cue's is: a seek to it shows a picture at once.
      const point = { timeMs: ticksToMs(Math.max(0, timecode + keyRel), probe), offset: pos };
      const last = points[points.length - 1];
      if (!last || point.timeMs - last.timeMs >= MIN_SEEK_POINT_GAP_MS) points.push(point);
    }
    pos = h.size === undefined ? p : end;
    if (h.size === undefined && p >= size) break;
  }
  return points;
}

/**
 * A block's time after its Cluster's (ticks) when it is a keyframe of the `video` track, else undefined. A SimpleBlock
 * says so in its flags; a BlockGroup is a keyframe when it has no ReferenceBlock.
 */
async function keyframeAt(w: Window, c: Header, video: number): Promise<number | undefined> {
  if (c.id === Id.simpleBlock) {
    const { v, i } = await w.at(c.dataStart, 12);
    const b = blockHeadAt(v, i, c.size!);
    return b && b.track === video && b.key ? b.relTicks : undefined;
  }
  let head: ReturnType<typeof blockHeadAt>;
  let referenced = false;
  const end = c.dataStart + c.size!;
  for (let p = c.dataStart; p < end; ) {
    const g = await w.header(p);
    if (!g || g.size === undefined) return undefined;
    if (g.id === Id.block) {
      const { v, i } = await w.at(g.dataStart, 12);
      head = blockHeadAt(v, i, g.size);
    } else if (g.id === Id.referenceBlock) referenced = true;
    p = g.dataStart + g.size;
  }
  return head && head.track === video && !referenced ? head.relTicks : undefined;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
