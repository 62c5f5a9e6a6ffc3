// The player's H.264 remux: the Matroska Baton's WHIP muxer writes, read in pieces, becomes fragmented MP4 with the same
// frames, times and keyframes; a restart at a Cluster (a seek) begins a new MP4 file there.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BufferSource, EncodedPacketSink, Input, MATROSKA, MP4, type InputTrack } from 'mediabunny';
import { RtpToWebm } from '../../node-app/whip/rtp-to-webm.js';
import { avc1Codec } from '../../common/avc-config.js';
import { MatroskaToMp4 } from '../../web-client/components/h264-remux.js';
import { mp4TypeOf, PlayerSink } from '../../web-client/components/player-sink.js';
import { QUEUE_HIGH_WATER_BYTES } from '../../web-client/components/append-queue.js';
import { MatroskaReader, MAX_MATROSKA_ELEMENT_BYTES } from '../../common/matroska-reader.js';
import { BASELINE_320x240, h264Packets, idr, opusPacket, slice } from '../helpers/rtp-fixtures.js';

/** Matroska H.264 + Opus as a WHIP broadcast is stored: 30 fps, an IDR every 10 frames, Opus every 20 ms. */
function whipRecording(frames: number): Uint8Array {
  const chunks: Buffer[] = [];
  const m = new RtpToWebm({
    audio: true,
    video: 'h264',
    payloadTypes: { video: [102], audio: [97] },
    onBytes: (b) => chunks.push(Buffer.from(b)),
    onNeedKeyframe: () => {},
    now: () => 0,
  });
  let seq = 100;
  let audioSeq = 1;
  for (let i = 0; i < frames; i++) {
    const nalus = i % 10 === 0 ? [BASELINE_320x240.sps, BASELINE_320x240.pps, idr(i, 2_500)] : [slice(i, 400)];
    const packets = h264Packets(nalus, seq, 5000 + i * 3000);
    seq += packets.length;
    for (const p of packets) m.push('video', p);
    // 33.3 ms of audio after each frame: 48 kHz, 960 samples a packet.
    while ((audioSeq - 1) * 20 < ((i + 1) * 1000) / 30) m.push('audio', opusPacket(audioSeq, audioSeq++ * 960));
  }
  m.end();
  return new Uint8Array(Buffer.concat(chunks));
}

async function packetsOf(bytes: Uint8Array, format: typeof MP4 | typeof MATROSKA) {
  const input = new Input({ source: new BufferSource(bytes), formats: [format] });
  const read = async (track: InputTrack | null) => {
    const out: { t: number; key: boolean; bytes: number }[] = [];
    if (!track) return out;
    for await (const p of new EncodedPacketSink(track).packets())
      out.push({ t: Math.round(p.timestamp * 1000), key: p.type === 'key', bytes: p.byteLength });
    return out;
  };
  const video = await input.getPrimaryVideoTrack();
  const audio = await input.getPrimaryAudioTrack();
  return { input, video, audio, videoPackets: await read(video), audioPackets: await read(audio) };
}

/** Runs the remux over `bytes` cut in `piece`-byte pieces (elements split across them) and returns the MP4. */
async function remux(parts: Uint8Array[], piece: number, between?: (r: MatroskaToMp4, i: number) => void): Promise<Uint8Array[]> {
  const files: Uint8Array[][] = [[]];
  const errors: Error[] = [];
  const r = new MatroskaToMp4({ onBytes: (b) => files.at(-1)!.push(b.slice()), onError: (e) => errors.push(e) });
  for (const [i, bytes] of parts.entries()) {
    if (i > 0) {
      // The muxer's work is promise jobs only: one macrotask lets what the bytes so far allow reach onBytes.
      await new Promise((resolve) => setTimeout(resolve, 0));
      between?.(r, i);
      files.push([]);
    }
    for (let at = 0; at < bytes.byteLength; at += piece) r.push(bytes.subarray(at, at + piece));
  }
  await r.end();
  expect(errors).toEqual([]);
  return files.map((f) => new Uint8Array(Buffer.concat(f)));
}

/** Offsets of the Clusters in a stored file (their ids). */
function clusterOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.byteLength; i++) if (b[i] === 0x1f && b[i + 1] === 0x43 && b[i + 2] === 0xb6 && b[i + 3] === 0x75) out.push(i);
  return out;
}

const mkv = whipRecording(45);

describe('H.264 remux (Matroska → fragmented MP4)', () => {
  it('names the MP4 type from the stored one', () => {
    expect(mp4TypeOf('video/x-matroska; codecs="avc1.42c00d, opus"')).toBe('video/mp4; codecs="avc1.42c00d, opus"');
    expect(mp4TypeOf('video/webm; codecs="vp8, opus"')).toBeNull();
    expect(mp4TypeOf('video/mp4; codecs="avc1.42c00d"')).toBeNull();
  });

  it('writes an init segment with avc1 from the CodecPrivate and Opus, and every frame with its time and keyframe flag', async () => {
    const [mp4] = await remux([mkv], 777);
    const src = await packetsOf(mkv, MATROSKA);
    const out = await packetsOf(mp4!, MP4);
    expect(await out.video!.getCodecParameterString()).toBe(avc1Codec(BASELINE_320x240.ffmpegAvcC));
    expect(await out.audio!.getCodecParameterString()).toBe('opus');
    expect(out.audio!.codec).toBe('opus');
    expect([out.video!.codedWidth, out.video!.codedHeight]).toEqual([320, 240]);
    // Fragmented: a moof per keyframe group, after ftyp and moov.
    expect(Buffer.from(mp4!.subarray(4, 8)).toString()).toBe('ftyp');
    expect(Buffer.from(mp4!).indexOf('moof')).toBeGreaterThan(Buffer.from(mp4!).indexOf('moov'));
    expect(out.videoPackets).toHaveLength(45);
    expect(out.videoPackets).toEqual(src.videoPackets);
    expect(out.videoPackets.flatMap((p, i) => (p.key ? [i] : []))).toEqual([0, 10, 20, 30, 40]);
    expect(out.audioPackets).toEqual(src.audioPackets);
  });

  it('restarts at a Cluster (a seek): a new MP4 file with its init segment, starting at that Cluster time', async () => {
    const clusters = clusterOffsets(mkv);
    expect(clusters.length).toBeGreaterThanOrEqual(4);
    const src = await packetsOf(mkv, MATROSKA);
    // The first Cluster and part of the second arrive (the player seeks mid-Cluster), then the fourth Cluster on.
    const [before, after] = await remux([mkv.subarray(0, clusters[2]! - 100), mkv.subarray(clusters[3]!)], 500, (r) => r.restart());
    const first = await packetsOf(before!, MP4);
    const second = await packetsOf(after!, MP4);
    const startMs = src.videoPackets.filter((p) => p.key)[3]!.t;
    expect(second.videoPackets[0]).toMatchObject({ t: startMs, key: true });
    expect(second.videoPackets).toEqual(src.videoPackets.filter((p) => p.t >= startMs));
    // Before the restart: the first Cluster's fragment (the second's keyframe closed it); the second's unfinished one is dropped.
    expect(first.videoPackets).toEqual(src.videoPackets.slice(0, 10));
  });

  it('the reader refuses a malformed element, and a block larger than MAX_MATROSKA_ELEMENT_BYTES before holding it', () => {
    expect(() => new MatroskaReader().push(new Uint8Array([0x00, 0x81, 0x00]))).toThrow(/malformed/);
    const r = new MatroskaReader();
    r.push(mkv.subarray(0, clusterOffsets(mkv)[0]!));
    // A SimpleBlock header naming one byte more than the bound: refused at its header, nothing of it held.
    const big = MAX_MATROSKA_ELEMENT_BYTES + 1;
    expect(() =>
      r.push(new Uint8Array([0xa3, 0x01, 0, 0, 0, (big >>> 24) & 0xff, (big >> 16) & 0xff, (big >> 8) & 0xff, big & 0xff])),
    ).toThrow(/0xa3 is 16777217 bytes/);
    // Elements it does not read (a Void here) are passed over without being held, whatever their size.
    const skip = new MatroskaReader();
    expect(skip.push(voidElement(MAX_MATROSKA_ELEMENT_BYTES * 2).subarray(0, 1024))).toEqual({ tracks: null, frames: [] });
  });
});

/** A Void element (EBML padding) of `bytes` bytes in all, with an 8-byte size. */
function voidElement(bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  b[0] = 0xec;
  b[1] = 0x01;
  let n = bytes - 9;
  for (let i = 8; i >= 2; i--, n = Math.floor(n / 256)) b[i] = n & 0xff;
  return b;
}

describe('PlayerSink', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('while the remux loads, holds at most QUEUE_HIGH_WATER_BYTES before asking the source to pause, and resumes it once they are handed over', async () => {
    // The DOM the MseSink underneath touches at construction, and nothing more (no MediaSource opens here).
    vi.stubGlobal('MediaSource', class extends EventTarget {});
    vi.stubGlobal('URL', Object.assign(class extends URL {}, { createObjectURL: () => 'blob:sink', revokeObjectURL: () => undefined }));
    const video = Object.assign(new EventTarget(), { src: '', removeAttribute: () => undefined, load: () => undefined });
    const calls: boolean[] = [];
    const errors: Error[] = [];
    const sink = new PlayerSink(video as unknown as HTMLVideoElement, 'video/x-matroska; codecs="avc1.42c00d, opus"', {
      onError: (e) => errors.push(e),
      onBackpressure: (full) => calls.push(full),
    });
    sink.append(mkv);
    expect(calls).toEqual([]);
    sink.append(voidElement(QUEUE_HIGH_WATER_BYTES));
    expect(calls).toEqual([true]);
    await vi.waitFor(() => expect(calls).toEqual([true, false]));
    expect(errors).toEqual([]);
    sink.close();
  });
});
