// Matroska H.264 (what Baton stores from a WHIP publisher such as OBS) remuxed in the browser to fragmented MP4, the
// only container Chromium's MSE takes H.264 in. Loaded only for such a stream: it brings mediabunny's MP4 muxer.
import {
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  Mp4OutputFormat,
  Output,
  StreamTarget,
  type StreamTargetChunk,
} from 'mediabunny';
import { avc1Codec } from '../../common/avc-config.js';
import { MatroskaReader, type MatroskaFrame, type MatroskaTrack } from '../../common/matroska-reader.js';

/** Matroska's H.264 and Opus codec ids: the only tracks carried over (a WHIP broadcast has no others). */
const AVC_CODEC_ID = 'V_MPEG4/ISO/AVC';
const OPUS_CODEC_ID = 'A_OPUS';
/** A frame's duration until the next frame tells it (seconds): MP4 wants one, Matroska blocks carry none; mediabunny corrects it from the next timestamp. */
const VIDEO_FRAME_S = 1 / 30;
const OPUS_FRAME_S = 0.02;

interface Track {
  number: number;
  source: EncodedVideoPacketSource | EncodedAudioPacketSource;
  /** Given with the first packet of each output. */
  config: VideoDecoderConfig | AudioDecoderConfig;
  defaultS: number;
}

/** One fragmented MP4 file: an init segment (ftyp + moov), then one moof + mdat per keyframe. */
interface Mp4File {
  output: Output;
  /** Tracks that have had their first packet (which carries the decoder config). */
  started: Set<number>;
  /** Video waits for a keyframe; audio before it is dropped too, so that the file starts with both. */
  keyed: boolean;
}

export interface RemuxOptions {
  /** The MP4 bytes, in order. */
  onBytes: (bytes: Uint8Array) => void;
  onError: (error: Error) => void;
}

/**
 * Matroska bytes in (the stored bytes as the server sends them), fragmented MP4 out. A `restart()` (a seek: the next
 * bytes start at a Cluster) begins a new MP4 file, init segment included, with the tracks already known; whatever
 * the previous file still held is dropped. Timestamps are the Matroska ones, so MSE places each fragment where it is.
 */
export class MatroskaToMp4 {
  readonly #reader = new MatroskaReader();
  readonly #onBytes: (bytes: Uint8Array) => void;
  readonly #onError: (error: Error) => void;
  #tracks: MatroskaTrack[] | null = null;
  #file: Mp4File | null = null;
  #trackOf = new Map<number, Track>();
  /** Each file's work runs in order; a restart starts a new chain. */
  #work: Promise<void> = Promise.resolve();
  #generation = 0;
  #failed = false;

  constructor(o: RemuxOptions) {
    this.#onBytes = o.onBytes;
    this.#onError = o.onError;
  }

  /** The next Matroska bytes of the stream. */
  push(bytes: Uint8Array): void {
    if (this.#failed) return;
    let read: ReturnType<MatroskaReader['push']>;
    try {
      read = this.#reader.push(bytes);
    } catch (err) {
      return this.#fail(err);
    }
    if (read.tracks) this.#tracks = read.tracks;
    for (const f of read.frames) this.#frame(f);
  }

  /** The next bytes start at a Cluster (a seek): a new MP4 file begins, the old one's unwritten media is dropped. */
  restart(): void {
    this.#reader.restart();
    this.#drop();
  }

  /** No more bytes: the last fragment is written. Resolves once it has gone to `onBytes`. */
  end(): Promise<void> {
    const file = this.#file;
    if (file) this.#queue(() => file.output.finalize());
    return this.#work;
  }

  close(): void {
    this.#failed = true;
    this.#drop();
  }

  #drop(): void {
    this.#generation += 1;
    const file = this.#file;
    this.#file = null;
    this.#trackOf = new Map();
    this.#work = Promise.resolve();
    if (file) void file.output.cancel().catch(() => undefined);
  }

  #frame(f: MatroskaFrame): void {
    const file = this.#file ?? this.#open();
    const track = this.#trackOf.get(f.track);
    if (!file || !track) return;
    if (!file.keyed) {
      if (!(track.source instanceof EncodedVideoPacketSource && f.key)) return;
      file.keyed = true;
    }
    const first = !file.started.has(f.track);
    file.started.add(f.track);
    const packet = new EncodedPacket(f.data, f.key ? 'key' : 'delta', f.timestampS, track.defaultS);
    const meta = first ? { decoderConfig: track.config } : undefined;
    this.#queue(() =>
      track.source instanceof EncodedVideoPacketSource
        ? track.source.add(packet, meta as EncodedVideoChunkMetadata | undefined)
        : track.source.add(packet, meta as EncodedAudioChunkMetadata | undefined),
    );
  }

  /** A new MP4 file for the known tracks; null before the Tracks element was read (bytes of a stream joined mid-way). */
  #open(): Mp4File | null {
    const tracks = this.#tracks;
    const video = tracks?.find((t) => t.codecId === AVC_CODEC_ID && t.codecPrivate);
    if (!tracks || !video) return null;
    const generation = this.#generation;
    const writable = new WritableStream<StreamTargetChunk>({
      // A restart abandons the file: its late writes must not reach the new one's SourceBuffer.
      write: (chunk) => {
        if (generation === this.#generation) this.#onBytes(chunk.data);
      },
    });
    // One fragment per keyframe (the default waits a second more): a live edge is a keyframe interval behind, not two.
    const output = new Output({
      format: new Mp4OutputFormat({ fastStart: 'fragmented', minimumFragmentDuration: 0 }),
      target: new StreamTarget(writable),
    });
    const videoSource = new EncodedVideoPacketSource('avc');
    output.addVideoTrack(videoSource);
    this.#trackOf.set(video.number, {
      number: video.number,
      source: videoSource,
      config: {
        codec: avc1Codec(video.codecPrivate!),
        description: video.codecPrivate!,
        ...(video.width ? { codedWidth: video.width } : {}),
        ...(video.height ? { codedHeight: video.height } : {}),
      },
      defaultS: VIDEO_FRAME_S,
    });
    const audio = tracks.find((t) => t.codecId === OPUS_CODEC_ID);
    if (audio) {
      const audioSource = new EncodedAudioPacketSource('opus');
      output.addAudioTrack(audioSource);
      this.#trackOf.set(audio.number, {
        number: audio.number,
        source: audioSource,
        config: {
          codec: 'opus',
          numberOfChannels: audio.channels ?? 2,
          sampleRate: audio.sampleRate ?? 48_000,
          ...(audio.codecPrivate ? { description: audio.codecPrivate } : {}),
        },
        defaultS: OPUS_FRAME_S,
      });
    }
    this.#file = { output, started: new Set(), keyed: false };
    this.#queue(() => output.start());
    return this.#file;
  }

  #queue(step: () => Promise<unknown>): void {
    const generation = this.#generation;
    this.#work = this.#work
      .then(async () => {
        if (generation === this.#generation) await step();
      })
      .catch((err: unknown) => {
        if (generation === this.#generation) this.#fail(err);
      });
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#generation += 1;
    this.#onError(err instanceof Error ? err : new Error(String(err)));
  }
}
