// A stored or live WebM (or Matroska: H.264 from WHIP) asset as one time-ordered stream of encoded frames, read sequentially through a ByteSource (mediabunny demuxes).
import { createRequire } from 'node:module';
import type * as Mediabunny from 'mediabunny';
import type { EncodedPacket } from 'mediabunny';
import type { ByteSource } from '../contracts.js';
import { liveFrames } from './live-frames.js';
import type { MediaFrame, MediaKind } from './media-frame.js';

/** Bytes asked of the source per read: one cache block's worth is what the interval cache serves best. */
export const WEBM_READ_BYTES = 256 * 1024;
/** How often a live source is polled for new bytes at its edge, ms. */
export const LIVE_POLL_MS = 40;
/** Bytes mediabunny may hold while two tracks are read at slightly different places. */
export const DEMUX_CACHE_BYTES = 8 * 1024 * 1024;

export type { MediaFrame, MediaKind } from './media-frame.js';

// mediabunny's CommonJS build, not its ES one: werift-rtp's `extra` (the WHIP muxer's toolkit) requires it,
// and a process that loads both builds holds two copies (and prints "Mediabunny was loaded twice").
const { EncodedPacketSink, Input, MATROSKA, ReadableStreamSource, WEBM } = createRequire(import.meta.url)(
  'mediabunny',
) as typeof Mediabunny;

export interface WebmFrames {
  /** mediabunny's codec names: `vp8`, `vp9`, `avc`, `opus`, … */
  videoCodec: string | null;
  audioCodec: string | null;
  /** The video decoder configuration (H.264: the AVCDecoderConfigurationRecord from CodecPrivate). */
  videoDescription: Uint8Array | null;
  /** Frames of both tracks in time order, from the first (a stored asset) or the live edge (a live one: each as soon as its block is readable). */
  frames(): AsyncGenerator<MediaFrame>;
  close(): void;
}

/**
 * Opens `source` as WebM. The bytes are pulled in order, WEBM_READ_BYTES at a time
 * (through the source: the interval cache for a stored asset, the writer's tail for a
 * live one); at a live edge it waits for more until the stream ends.
 */
export async function openWebm(source: ByteSource): Promise<WebmFrames> {
  let offset = 0;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (closed) return controller.close();
        if (offset < source.size()) {
          const b = await source.read(offset, WEBM_READ_BYTES);
          if (b.byteLength > 0) {
            offset += b.byteLength;
            return controller.enqueue(b);
          }
        }
        if (!source.isLive()) return controller.close();
        await new Promise((r) => setTimeout(r, LIVE_POLL_MS));
      }
    },
  });
  const input = new Input({ source: new ReadableStreamSource(stream, { maxCacheSize: DEMUX_CACHE_BYTES }), formats: [WEBM, MATROSKA] });
  const [video, audio] = await Promise.all([input.getPrimaryVideoTrack(), input.getPrimaryAudioTrack()]);
  const description = (await video?.getDecoderConfig())?.description;
  return {
    videoCodec: video?.codec ?? null,
    audioCodec: audio?.codec ?? null,
    videoDescription: description ? bytesOf(description) : null,
    async *frames() {
      if (source.isLive()) {
        // mediabunny gives a Cluster's frames once the whole Cluster is read: a keyframe interval late at a live edge.
        const tracks = new Map<number, MediaKind>();
        if (video) tracks.set(video.id, 'video');
        if (audio) tracks.set(audio.id, 'audio');
        yield* liveFrames(source, { tracks, pollMs: LIVE_POLL_MS, closed: () => closed });
        return;
      }
      const its = [
        video && track('video', new EncodedPacketSink(video).packets()),
        audio && track('audio', new EncodedPacketSink(audio).packets()),
      ].filter((x) => x != null);
      const heads = await Promise.all(its.map((it) => it.next()));
      while (!closed) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i]!;
          if (!h.done && (best < 0 || h.value.timestampS < (heads[best]!.value as MediaFrame).timestampS)) best = i;
        }
        if (best < 0) return;
        yield heads[best]!.value as MediaFrame;
        heads[best] = await its[best]!.next();
      }
    },
    close() {
      closed = true;
      input.dispose();
    },
  };
}

async function* track(kind: MediaKind, packets: AsyncGenerator<EncodedPacket>): AsyncGenerator<MediaFrame> {
  for await (const p of packets) yield { kind, timestampS: p.timestamp, data: p.data, key: p.type === 'key' };
}

function bytesOf(b: AllowSharedBufferSource): Uint8Array {
  return b instanceof ArrayBuffer || b instanceof SharedArrayBuffer
    ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
