// A minimal EBML reader for a WebM file's head: doc type, track codecs, duration, where media starts.
import { readHeader as readEbmlHeader } from '../../common/ebml-header.js';
import { MatroskaId as Id } from '../../common/matroska-ids.js';

/** Bytes of a file's head that almost always hold the EBML header, Info and Tracks. */
export const PROBE_HEAD_BYTES = 256 * 1024;

const TRACK_TYPE_VIDEO = 1;
const TRACK_TYPE_AUDIO = 2;
const DEFAULT_TIMECODE_SCALE_NS = 1_000_000;

/** Matroska CodecID of H.264 in AVCC form (CodecPrivate: AVCDecoderConfigurationRecord). */
export const AVC_CODEC_ID = 'V_MPEG4/ISO/AVC';

/** Matroska CodecID → the name MSE expects in `codecs="…"`. */
const MSE_CODEC: Record<string, string> = {
  V_VP8: 'vp8',
  V_VP9: 'vp9',
  V_AV1: 'av01.0.08M.08',
  A_OPUS: 'opus',
  A_VORBIS: 'vorbis',
};

export interface WebmTrack {
  type: 'video' | 'audio' | 'other';
  /** Matroska CodecID, e.g. `V_VP8`. */
  codecId: string;
  /** TrackNumber: what blocks name their track by. */
  number?: number;
  /** The RFC 6381 name when it depends on CodecPrivate: H.264's `avc1.PPCCLL` from its AVCDecoderConfigurationRecord (absent without one: no guess). */
  mseCodec?: string;
  /** A video track's PixelHeight (the coded picture's height). */
  height?: number;
}

export interface WebmProbe {
  docType: string;
  tracks: WebmTrack[];
  /** From Segment/Info/Duration; absent for live recordings (MediaRecorder writes none). */
  durationMs?: number;
  /** Segment/Info/TimecodeScale: nanoseconds per timecode tick (default 1 ms). */
  timecodeScaleNs: number;
  /** Byte offset of the first Cluster: everything before it is the init segment. */
  firstClusterOffset?: number;
  /** True once Tracks has been read completely. */
  complete: boolean;
  /** Where the Segment's data starts: SeekHead and Cues positions count from here. */
  segmentDataStart?: number;
  /** Absolute offset of the Cues element, when the SeekHead names one. */
  cuesOffset?: number;
}

export interface Header {
  id: number;
  /** Data size, or undefined for the "unknown size" marker (live streams). */
  size: number | undefined;
  /** Offset of the element's data. */
  dataStart: number;
}

/**
 * Reads the head of a WebM file. Never throws on malformed input: what it could not
 * read is simply absent and `complete` stays false.
 */
export function probeWebm(head: Uint8Array): WebmProbe {
  const out: WebmProbe = { docType: '', tracks: [], complete: false, timecodeScaleNs: DEFAULT_TIMECODE_SCALE_NS };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let pos = 0;
  const ebml = readHeader(view, pos);
  if (!ebml || ebml.id !== Id.ebml || ebml.size === undefined) return out;
  forEachChild(view, ebml.dataStart, ebml.dataStart + ebml.size, (h) => {
    if (h.id === Id.docType && h.size !== undefined) out.docType = readString(head, h.dataStart, h.size);
  });
  pos = ebml.dataStart + ebml.size;
  const segment = readHeader(view, pos);
  if (!segment || segment.id !== Id.segment) return out;
  const segmentEnd = segment.size === undefined ? head.byteLength : Math.min(head.byteLength, segment.dataStart + segment.size);
  let timecodeScale = DEFAULT_TIMECODE_SCALE_NS;
  let duration: number | undefined;
  pos = segment.dataStart;
  out.segmentDataStart = segment.dataStart;
  while (pos < segmentEnd) {
    const h = readHeader(view, pos);
    if (!h) break;
    if (h.id === Id.cluster) {
      out.firstClusterOffset = pos;
      break;
    }
    // Only Clusters may have an unknown size inside a Segment; anything else is corrupt.
    if (h.size === undefined) break;
    const end = h.dataStart + h.size;
    if (h.id === Id.info && end <= head.byteLength) {
      forEachChild(view, h.dataStart, end, (c) => {
        if (c.size === undefined) return;
        if (c.id === Id.timestampScale) timecodeScale = readUint(view, c.dataStart, c.size) || DEFAULT_TIMECODE_SCALE_NS;
        if (c.id === Id.duration) duration = readFloat(view, c.dataStart, c.size);
      });
    } else if (h.id === Id.seekHead && end <= head.byteLength) {
      const cues = cuesPosition(view, h.dataStart, end);
      if (cues !== undefined) out.cuesOffset = segment.dataStart + cues;
    } else if (h.id === Id.tracks && end <= head.byteLength) {
      forEachChild(view, h.dataStart, end, (entry) => {
        if (entry.id !== Id.trackEntry || entry.size === undefined) return;
        out.tracks.push(readTrack(view, head, entry.dataStart, entry.dataStart + entry.size));
      });
      out.complete = true;
    }
    pos = end;
  }
  out.docType ||= 'matroska';
  out.timecodeScaleNs = timecodeScale;
  if (duration !== undefined && Number.isFinite(duration) && duration > 0) {
    out.durationMs = Math.round((duration * timecodeScale) / 1e6);
  }
  return out;
}

/**
 * The MSE type string for a probe, e.g. `video/webm; codecs="vp8, opus"`; a Matroska file with H.264
 * (what a WHIP publisher such as OBS sends) is `video/x-matroska; codecs="avc1.42c01f, opus"`.
 */
export function mimeFor(probe: WebmProbe): string {
  const hasVideo = probe.tracks.some((t) => t.type === 'video');
  const avc = probe.tracks.some((t) => t.codecId === AVC_CODEC_ID);
  const base = avc ? 'video/x-matroska' : hasVideo || probe.tracks.length === 0 ? 'video/webm' : 'audio/webm';
  // Video first, then audio: the order MSE examples and MediaRecorder use.
  const ordered = [...probe.tracks].sort((a, b) => rank(a) - rank(b));
  const codecs = ordered.map((t) => t.mseCodec ?? MSE_CODEC[t.codecId]).filter((c): c is string => c !== undefined);
  return codecs.length ? `${base}; codecs="${codecs.join(', ')}"` : base;
}

function rank(t: WebmTrack): number {
  return t.type === 'video' ? 0 : t.type === 'audio' ? 1 : 2;
}

function readTrack(view: DataView, bytes: Uint8Array, start: number, end: number): WebmTrack {
  const track: WebmTrack = { type: 'other', codecId: '' };
  forEachChild(view, start, end, (c) => {
    if (c.size === undefined) return;
    if (c.id === Id.trackType) {
      const t = readUint(view, c.dataStart, c.size);
      track.type = t === TRACK_TYPE_VIDEO ? 'video' : t === TRACK_TYPE_AUDIO ? 'audio' : 'other';
    }
    if (c.id === Id.codecId) track.codecId = readString(bytes, c.dataStart, c.size);
    if (c.id === Id.trackNumber) track.number = readUint(view, c.dataStart, c.size);
    if (c.id === Id.video) {
      forEachChild(view, c.dataStart, c.dataStart + c.size, (v) => {
        if (v.id === Id.pixelHeight && v.size !== undefined) track.height = readUint(view, v.dataStart, v.size) || undefined;
      });
    }
    // AVCDecoderConfigurationRecord: version 1, then profile, constraint flags, level.
    if (c.id === Id.codecPrivate && c.size >= 4 && bytes[c.dataStart] === 1) {
      track.mseCodec = `avc1.${[...bytes.subarray(c.dataStart + 1, c.dataStart + 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    }
  });
  if (track.codecId !== AVC_CODEC_ID) delete track.mseCodec;
  return track;
}

/** The SeekHead entry for Cues: its position relative to the Segment's data. */
function cuesPosition(view: DataView, start: number, end: number): number | undefined {
  let found: number | undefined;
  forEachChild(view, start, end, (seek) => {
    if (seek.id !== Id.seek || seek.size === undefined) return;
    let id = 0;
    let position: number | undefined;
    forEachChild(view, seek.dataStart, seek.dataStart + seek.size, (c) => {
      if (c.size === undefined) return;
      if (c.id === Id.seekId) id = readUint(view, c.dataStart, c.size);
      if (c.id === Id.seekPosition) position = readUint(view, c.dataStart, c.size);
    });
    if (id === Id.cues && position !== undefined) found = position;
  });
  return found;
}

/** Calls `fn` for each child fully inside [start, end); stops at the first malformed header. */
export function forEachChild(view: DataView, start: number, end: number, fn: (h: Header) => void): void {
  let pos = start;
  while (pos < end) {
    const h = readHeader(view, pos);
    if (!h || h.size === undefined || h.dataStart + h.size > end) return;
    fn(h);
    pos = h.dataStart + h.size;
  }
}

/** An element's header at `pos` (id with its marker bit, data size, where the data starts), or undefined if malformed or cut short. */
export function readHeader(view: DataView, pos: number): Header | undefined {
  if (pos < 0 || pos >= view.byteLength) return undefined;
  const h = readEbmlHeader(new Uint8Array(view.buffer, view.byteOffset + pos, view.byteLength - pos));
  return typeof h === 'string' ? undefined : { id: h.id, size: h.size, dataStart: pos + h.headerBytes };
}

export function readUint(view: DataView, pos: number, size: number): number {
  if (size > 7) return 0;
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + view.getUint8(pos + i);
  return v;
}

function readFloat(view: DataView, pos: number, size: number): number | undefined {
  if (size === 4) return view.getFloat32(pos, false);
  if (size === 8) return view.getFloat64(pos, false);
  return undefined;
}

function readString(bytes: Uint8Array, pos: number, size: number): string {
  let s = '';
  // Codec ids and doc types are ASCII; stop at a NUL pad and cap the length.
  for (let i = 0; i < Math.min(size, 64); i++) {
    const c = bytes[pos + i]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}
