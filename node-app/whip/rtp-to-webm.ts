// Turns a WHIP publisher's VP8 and Opus RTP into a live WebM byte stream (reorder, depacketize, mux; Cues at the end).
import extra from 'werift-rtp/extra';
import { RtpPacket } from 'werift-rtp';
import type { Buffer } from 'node:buffer';

const { JitterBufferBase, DepacketizeBase, RtpTimeBase, WebmBase } = extra;

/** How long a missing RTP packet is waited for before it counts as lost, ms. */
export const JITTER_LATENCY_MS = 150;
/** RTP packets one track's jitter buffer may hold (≈ 1 s of 5 Mbit/s video); beyond that it flushes. */
export const JITTER_BUFFER_PACKETS = 512;
/** Largest video frame kept, bytes (a 4K VP8 keyframe is well under this). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export const VP8_CLOCK_RATE_HZ = 90_000;
export const OPUS_CLOCK_RATE_HZ = 48_000;

export type TrackKind = 'video' | 'audio';

export interface RtpToWebmOptions {
  /** Which tracks the offer carries; audio may be absent. */
  audio: boolean;
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
}

type WebmTrack = ConstructorParameters<typeof WebmBase>[0][number];

/** WebmBase writes its init segment in the protected `start`; the dimensions are only known at the first keyframe. */
class WebmWriter extends WebmBase {
  begin(): void {
    this.start();
  }
}

interface TrackPipe {
  jitter: InstanceType<typeof JitterBufferBase>;
  time: InstanceType<typeof RtpTimeBase>;
  depacketizer: InstanceType<typeof DepacketizeBase>;
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
  #writer: WebmWriter | undefined;
  #needKeyframe = true;
  #ended = false;
  #bytes = 0;
  frames = { video: 0, audio: 0, dropped: 0 };

  constructor(opts: RtpToWebmOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#t0 = this.#now();
    this.#video = pipe('vp8', VP8_CLOCK_RATE_HZ);
    this.#audio = opts.audio ? pipe('opus', OPUS_CLOCK_RATE_HZ) : undefined;
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
    if (!p || !isRtp(packet)) return;
    let rtp: InstanceType<typeof RtpPacket>;
    try {
      rtp = RtpPacket.deSerialize(packet);
    } catch {
      return;
    }
    p.startMs ??= this.#now() - this.#t0;
    for (const out of p.jitter.processInput({ rtp })) {
      if (out.isPacketLost && kind === 'video') this.#lost();
      if (!out.rtp) continue;
      for (const t of p.time.processInput({ rtp: out.rtp })) {
        if (!t.rtp) continue;
        for (const d of p.depacketizer.processInput({ rtp: t.rtp, time: (t.time ?? 0) + p.startMs })) {
          if (d.frame) this.#frame(kind, d.frame);
        }
      }
    }
  }

  /** Writes the Cues and stops; later packets are ignored. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#writer?.stop();
  }

  #lost(): void {
    this.#needKeyframe = true;
    this.#o.onNeedKeyframe();
  }

  #frame(kind: TrackKind, frame: { data: Buffer; isKeyframe: boolean; time: number }): void {
    if (frame.data.byteLength > MAX_FRAME_BYTES) {
      this.frames.dropped++;
      if (kind === 'video') this.#lost();
      return;
    }
    if (kind === 'audio') {
      if (!this.#writer) return;
      this.frames.audio++;
      this.#writer.processAudioInput({ frame });
      return;
    }
    if (this.#needKeyframe && !frame.isKeyframe) {
      this.frames.dropped++;
      return void this.#o.onNeedKeyframe();
    }
    if (frame.isKeyframe) this.#needKeyframe = false;
    this.#writer ??= this.#open(frame.data);
    this.frames.video++;
    this.#writer.processVideoInput({ frame });
  }

  #open(keyframe: Buffer): WebmWriter {
    const size = vp8Size(keyframe);
    const tracks: WebmTrack[] = [{ kind: 'video', codec: 'VP8', clockRate: VP8_CLOCK_RATE_HZ, trackNumber: 1, ...size }];
    if (this.#audio) tracks.push({ kind: 'audio', codec: 'OPUS', clockRate: OPUS_CLOCK_RATE_HZ, trackNumber: 2 });
    const shift = this.#o.continueAt?.timeMs;
    const w = new WebmWriter(tracks, (out) => {
      if (!out.saveToFile?.byteLength) return;
      let bytes = new Uint8Array(out.saveToFile.buffer, out.saveToFile.byteOffset, out.saveToFile.byteLength);
      if (shift !== undefined) {
        if (out.kind === 'initial' || out.kind === 'cuePoints') return;
        if (out.kind === 'cluster') bytes = shiftedCluster(bytes, shift);
      }
      this.#bytes += bytes.byteLength;
      this.#o.onBytes(bytes);
    });
    w.begin();
    return w;
  }
}

function pipe(codec: 'vp8' | 'opus', clockRate: number): TrackPipe {
  return {
    jitter: new JitterBufferBase(clockRate, { latency: JITTER_LATENCY_MS, bufferSize: JITTER_BUFFER_PACKETS }),
    time: new RtpTimeBase(clockRate),
    // VP8 frames end at the marker bit; every Opus packet is one frame.
    depacketizer: new DepacketizeBase(codec, codec === 'vp8' ? { isFinalPacketInSequence: (h) => h.marker } : {}),
  };
}

const CLUSTER_HEAD = [0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/**
 * werift's Cluster opening — an unknown-size Cluster header, then its Timecode element
 * (0xE7, a one-byte size, a big-endian uint), nothing else — with `shiftMs` added.
 */
export function shiftedCluster(cluster: Uint8Array, shiftMs: number): Uint8Array {
  const n = (cluster[CLUSTER_HEAD.length + 1] ?? 0) & 0x0f;
  const ok =
    CLUSTER_HEAD.every((x, i) => cluster[i] === x) &&
    cluster[CLUSTER_HEAD.length] === 0xe7 &&
    cluster.byteLength === CLUSTER_HEAD.length + 2 + n;
  if (!ok) throw new Error('unexpected Cluster bytes from the WebM muxer');
  let t = 0;
  for (const x of cluster.subarray(CLUSTER_HEAD.length + 2)) t = t * 256 + x;
  const value: number[] = [];
  for (let v = Math.max(0, Math.round(t + shiftMs)); value.length === 0 || v > 0; v = Math.floor(v / 256)) value.unshift(v & 0xff);
  return Uint8Array.from([...CLUSTER_HEAD, 0xe7, 0x80 | value.length, ...value]);
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
