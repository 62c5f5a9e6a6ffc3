// Turns a WHIP publisher's VP8 or H.264 and Opus RTP into a live WebM / Matroska byte stream (reorder, depacketize, mux
// in webm-writer.ts; Cues at the end).
import extra from 'werift-rtp/extra';
import { RtpPacket } from 'werift-rtp';
import { Buffer } from 'node:buffer';
import { avcDecoderConfig, parseSps, toAvcc } from '../../common/avc-config.js';
import { type AccessUnit, H264Depacketizer, NalType } from './h264-depacketizer.js';
import type { RtpUnitAssembler } from './rtp-units.js';
import { Vp8Depacketizer } from './vp8-depacketizer.js';
import { type Frame, Interleaver, type TrackKind } from './interleaver.js';
import { ReorderBuffer } from './reorder-buffer.js';
import { type WebmTrack, WebmWriter, shiftedCluster } from './webm-writer.js';

export type { TrackKind } from './interleaver.js';
export { shiftedCluster } from './webm-writer.js';

const { DepacketizeBase, RtpTimeBase } = extra;

/** How long a missing RTP packet is waited for before it counts as lost, ms. */
export const JITTER_LATENCY_MS = 150;
/**
 * RTP packets one track's jitter buffer may hold (≈ 1 s of 5 Mbit/s video): a packet this far ahead of the one expected
 * gives up the hole and starts the order again from it.
 */
export const JITTER_BUFFER_PACKETS = 512;
/**
 * A publisher that sent no keyframe for this long is asked for one (PLI). Keyframes are where live
 * viewers join, where seeks land and what a WHEP viewer's PLI waits for; a browser's WebRTC encoder
 * sends one only when asked (OBS and GStreamer every 1–2 s, as configured). The browser broadcaster's
 * MediaRecorder uses the same interval.
 */
export const MAX_KEYFRAME_GAP_MS = 2_000;

/** Largest video frame kept, bytes (a 4K VP8 keyframe is well under this). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/**
 * Cue points werift's muxer may hold for the Cues it writes at the end (one per Cluster; about 100 bytes each):
 * 28 hours of a keyframe a second. Past it the file gets no Cues (a viewer's seek index scans the Clusters instead)
 * and the list stops growing.
 */
export const MAX_CUE_POINTS = 100_000;

export const VP8_CLOCK_RATE_HZ = 90_000;
export const OPUS_CLOCK_RATE_HZ = 48_000;

export type VideoCodec = 'vp8' | 'h264';

export interface RtpToWebmOptions {
  /** Which tracks the offer carries; audio may be absent. */
  audio: boolean;
  /** The video codec (default VP8). H.264 is stored as Matroska V_MPEG4/ISO/AVC: DocType `matroska`, AVCC samples. */
  video?: VideoCodec;
  /**
   * H.264 SPS and PPS known before any RTP: the offer's `sprop-parameter-sets` (see spropParameterSets).
   * In-band ones (sent before each IDR by OBS and rtph264pay config-interval=-1) replace them.
   */
  parameterSets?: Uint8Array[];
  /** RTP payload types the answer accepted per track; packets with others (RTX, FEC, another codec) are ignored. Default: all. */
  payloadTypes?: Partial<Record<TrackKind, number[]>>;
  /** Receives the WebM bytes in order (init segment, clusters and blocks, then Cues at `end`). */
  onBytes: (bytes: Uint8Array) => void;
  /** The video track lost packets (or has not sent a keyframe yet): ask the sender for a keyframe (PLI). */
  onNeedKeyframe: () => void;
  /** Monotonic clock, ms. */
  now?: () => number;
  /**
   * Continue a stored stream instead of starting one: no init segment and no Cues are
   * written (the stored copy has the init segment; Cue positions would be this muxer's,
   * not the file's), and every Cluster timecode is shifted to start at `timeMs`.
   */
  continueAt?: { timeMs: number };
  /** Cue points kept for the Cues at the end (default MAX_CUE_POINTS); past it the file gets none. */
  maxCuePoints?: number;
}

interface TrackPipe {
  jitter: ReorderBuffer<InstanceType<typeof RtpPacket>>;
  time: InstanceType<typeof RtpTimeBase>;
  /** Opus: werift's (every packet is one frame: it holds nothing). */
  depacketizer?: InstanceType<typeof DepacketizeBase>;
  h264?: H264Depacketizer;
  vp8?: Vp8Depacketizer;
  payloadTypes?: ReadonlySet<number>;
  /** Arrival of this track's first packet, relative to the muxer's start (ms): aligns the tracks. */
  startMs?: number;
}

/**
 * One WHIP broadcast's media: `push(kind, rtp)` per received packet, `end()` once.
 * Video frames after a loss are dropped until the next keyframe, so the stored file
 * never holds a frame that references one it lacks; audio waits for the first video
 * keyframe so the stream (and every cluster) starts with one.
 */
export class RtpToWebm {
  readonly #o: RtpToWebmOptions;
  readonly #now: () => number;
  readonly #t0: number;
  readonly #video: TrackPipe;
  readonly #audio: TrackPipe | undefined;
  readonly #codec: VideoCodec;
  #writer: WebmWriter | undefined;
  /** H.264: the newest SPS and PPS seen (in-band, before IDRs): the file's CodecPrivate is built from them. */
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  #needKeyframe = true;
  readonly #interleave: Interleaver;
  /** Media time of the newest video keyframe written (ms). */
  #keyframeAtMs = 0;
  #ended = false;
  #bytes = 0;
  frames = { video: 0, audio: 0, dropped: 0 };
  /** Why the file could not start (e.g. an SPS that does not parse), for the broadcast's error. */
  lastError: string | undefined;

  constructor(opts: RtpToWebmOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#t0 = this.#now();
    this.#codec = opts.video ?? 'vp8';
    for (const n of opts.parameterSets ?? []) this.#parameterSet(n);
    this.#video = pipe(this.#codec, VP8_CLOCK_RATE_HZ, opts.payloadTypes?.video);
    this.#audio = opts.audio ? pipe('opus', OPUS_CLOCK_RATE_HZ, opts.payloadTypes?.audio) : undefined;
    this.#interleave = new Interleaver(
      opts.audio,
      (kind, frame) => this.#write(kind, frame),
      (kind) => this.#tooLate(kind),
    );
  }

  /** WebM bytes produced so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True once the first keyframe started the file. */
  get started(): boolean {
    return this.#writer !== undefined;
  }

  /** One RTP packet of a track. Malformed packets are ignored (a sender may interleave anything). */
  push(kind: TrackKind, packet: Buffer): void {
    if (this.#ended) return;
    const p = kind === 'video' ? this.#video : this.#audio;
    if (!p || !isRtp(packet) || (p.payloadTypes && !p.payloadTypes.has(packet[1]! & 0x7f))) return;
    let rtp: InstanceType<typeof RtpPacket>;
    try {
      rtp = RtpPacket.deSerialize(packet);
    } catch {
      return;
    }
    p.startMs ??= this.#now() - this.#t0;
    for (const out of p.jitter.push(rtp)) {
      if (out.isPacketLost && kind === 'video') this.#lost();
      if (!out.rtp) continue;
      for (const t of p.time.processInput({ rtp: out.rtp })) {
        if (!t.rtp) continue;
        const time = (t.time ?? 0) + p.startMs;
        if (p.h264) this.#units(p.h264, t.rtp, time, (u) => this.#h264Unit(u));
        else if (p.vp8) this.#units(p.vp8, t.rtp, time, (f) => this.#frame('video', f));
        else
          for (const d of p.depacketizer?.processInput({ rtp: t.rtp, time }) ?? []) {
            if (d.frame) this.#frame(kind, d.frame);
          }
      }
    }
  }

  /** Writes the Cues and stops; later packets are ignored. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#interleave.flush();
    this.#writer?.stop();
  }

  /** One video packet through its depacketizer: what it completes to `take`; a unit it dropped is a loss. */
  #units<U>(units: RtpUnitAssembler<U>, rtp: InstanceType<typeof RtpPacket>, time: number, take: (u: U) => void): void {
    const { header, payload } = rtp;
    const dropped = units.dropped;
    const out = units.push(payload, header.sequenceNumber, header.timestamp, header.marker, time);
    if (units.dropped > dropped) {
      this.frames.dropped += units.dropped - dropped;
      this.#lost();
    }
    for (const u of out) take(u);
  }

  #lost(): void {
    this.#needKeyframe = true;
    this.#o.onNeedKeyframe();
  }

  #parameterSet(n: Uint8Array): void {
    const type = (n[0] ?? 0) & 0x1f;
    if (type === NalType.sps) this.#sps = n;
    else if (type === NalType.pps) this.#pps = n;
  }

  #h264Unit(u: AccessUnit): void {
    for (const n of u.nalus) this.#parameterSet(n);
    // An IDR is a starting point only once SPS and PPS are known (OBS and GStreamer repeat them before each IDR).
    const isKeyframe = u.keyframe && this.#sps !== undefined && this.#pps !== undefined;
    const avcc = toAvcc(u.nalus);
    this.#frame('video', { data: Buffer.from(avcc.buffer, avcc.byteOffset, avcc.byteLength), isKeyframe, time: u.timeMs });
  }

  #frame(kind: TrackKind, frame: Frame): void {
    if (frame.data.byteLength > MAX_FRAME_BYTES) {
      this.frames.dropped++;
      if (kind === 'video') this.#lost();
      return;
    }
    if (kind === 'audio') {
      if (!this.#writer) return;
      this.frames.audio++;
      this.#interleave.push('audio', frame);
      return;
    }
    if (this.#needKeyframe && !frame.isKeyframe) {
      this.frames.dropped++;
      return void this.#o.onNeedKeyframe();
    }
    if (!this.#writer) {
      try {
        this.#writer = this.#open(frame.data);
      } catch (err) {
        this.lastError = (err as Error).message;
        this.frames.dropped++;
        return void this.#o.onNeedKeyframe();
      }
    }
    if (frame.isKeyframe) {
      this.#needKeyframe = false;
      this.#keyframeAtMs = frame.time;
    } else if (frame.time - this.#keyframeAtMs >= MAX_KEYFRAME_GAP_MS) {
      // The peer sends at most one PLI per KEYFRAME_REQUEST_INTERVAL_MS, so asking on every frame is cheap.
      this.#o.onNeedKeyframe();
    }
    this.frames.video++;
    this.#interleave.push('video', frame);
  }

  /** Writes one frame the interleaver released (in time order across the tracks). */
  #write(kind: TrackKind, frame: Frame): void {
    if (kind === 'video') this.#writer!.processVideoInput({ frame });
    else this.#writer!.processAudioInput({ frame });
  }

  /** A frame older than one already written (it waited past MAX_INTERLEAVE_WAIT_MS behind the other track): dropped. */
  #tooLate(kind: TrackKind): void {
    this.frames.dropped++;
    if (kind === 'video') this.#lost();
  }

  #open(keyframe: Buffer): WebmWriter {
    let avcConfig: Uint8Array | undefined;
    let size: { width?: number; height?: number };
    if (this.#codec === 'h264') {
      const sps = parseSps(this.#sps!);
      avcConfig = avcDecoderConfig(this.#sps!, [this.#pps!]);
      size = { width: sps.width, height: sps.height };
    } else size = vp8Size(keyframe);
    const codec = this.#codec === 'h264' ? 'MPEG4/ISO/AVC' : 'VP8';
    const tracks: WebmTrack[] = [{ kind: 'video', codec, clockRate: VP8_CLOCK_RATE_HZ, trackNumber: 1, ...size }];
    if (this.#audio) tracks.push({ kind: 'audio', codec: 'OPUS', clockRate: OPUS_CLOCK_RATE_HZ, trackNumber: 2 });
    const shift = this.#o.continueAt?.timeMs;
    const w = new WebmWriter(
      tracks,
      (out) => {
        if (out.kind === 'cluster') w.boundCues(this.#o.maxCuePoints ?? MAX_CUE_POINTS);
        if (!out.saveToFile?.byteLength || (out.kind === 'cuePoints' && w.cuesDropped)) return;
        let bytes = new Uint8Array(out.saveToFile.buffer, out.saveToFile.byteOffset, out.saveToFile.byteLength);
        if (shift !== undefined) {
          if (out.kind === 'initial' || out.kind === 'cuePoints') return;
          if (out.kind === 'cluster') bytes = shiftedCluster(bytes, shift);
        }
        this.#bytes += bytes.byteLength;
        this.#o.onBytes(bytes);
      },
      avcConfig,
    );
    w.begin();
    return w;
  }
}

function pipe(codec: VideoCodec | 'opus', clockRate: number, payloadTypes: number[] | undefined): TrackPipe {
  return {
    jitter: new ReorderBuffer(clockRate, { latencyMs: JITTER_LATENCY_MS, maxPackets: JITTER_BUFFER_PACKETS }),
    time: new RtpTimeBase(clockRate),
    // Every Opus packet is one frame. Video is ours (RtpUnitAssembler): werift's H.264 depacketizer keeps a unit whose
    // middle FU-A fragment was lost (it only joins what arrived), and its VP8 one held a frame without bound.
    ...(codec === 'h264'
      ? { h264: new H264Depacketizer({ maxUnitBytes: MAX_FRAME_BYTES }) }
      : codec === 'vp8'
        ? { vp8: new Vp8Depacketizer({ maxUnitBytes: MAX_FRAME_BYTES }) }
        : { depacketizer: new DepacketizeBase(codec) }),
    ...(payloadTypes?.length ? { payloadTypes: new Set(payloadTypes) } : {}),
  };
}

/** RTP version 2, and not RTCP (payload types 64–95 with the marker bit are RTCP's 192–223 on a muxed port). */
function isRtp(b: Buffer): boolean {
  if (b.byteLength < 12 || b[0]! >> 6 !== 2) return false;
  const pt = b[1]!;
  return pt < 192 || pt > 223;
}

/** Width and height from a VP8 keyframe's header (RFC 6386 §9.1); omitted if it does not look like one. */
export function vp8Size(frame: Uint8Array): { width?: number; height?: number } {
  if (frame.byteLength < 10 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return {};
  return { width: (frame[6]! | (frame[7]! << 8)) & 0x3fff, height: (frame[8]! | (frame[9]! << 8)) & 0x3fff };
}

/** The SPS/PPS NAL units of an H.264 fmtp's `sprop-parameter-sets` (RFC 6184 §8.1: base64, comma-separated). */
export function spropParameterSets(fmtp: string): Uint8Array[] {
  const m = /(?:^|;)\s*sprop-parameter-sets=([A-Za-z0-9+/=,]+)/.exec(fmtp);
  if (!m) return [];
  return m[1]!
    .split(',')
    .map((b) => new Uint8Array(Buffer.from(b, 'base64')))
    .filter((n) => n.byteLength > 0);
}
