// Synthetic VP8/Opus RTP (what a WHIP publisher sends), for the WHIP muxer's and the ingest writer's tests.
import { RtpHeader, RtpPacket } from 'werift-rtp';

export const VIDEO_SSRC = 1111;
export const AUDIO_SSRC = 2222;

/** A VP8 frame (RFC 6386): keyframes carry the start code and 320×240. */
export function vp8Frame(key: boolean, n: number, bodyBytes = 40): Buffer {
  const body = Buffer.alloc(bodyBytes, n & 0xff);
  return key
    ? Buffer.concat([Buffer.from([0x50, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]), body])
    : Buffer.concat([Buffer.from([0x51, 0, 0]), body]);
}

/** RTP for one VP8 frame split in `parts` packets (descriptor S bit on the first, marker on the last). */
export function vp8Packets(frame: Buffer, seq: number, ts: number, parts = 2): Buffer[] {
  const size = Math.ceil(frame.byteLength / parts);
  const out: Buffer[] = [];
  for (let i = 0; i < parts; i++) {
    const payload = Buffer.concat([Buffer.from([i === 0 ? 0x10 : 0x00]), frame.subarray(i * size, (i + 1) * size)]);
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: (seq + i) & 0xffff,
      timestamp: ts,
      ssrc: VIDEO_SSRC,
      marker: i === parts - 1,
    });
    out.push(new RtpPacket(header, payload).serialize());
  }
  return out;
}

export function opusPacket(seq: number, ts: number): Buffer {
  return new RtpPacket(
    new RtpHeader({ payloadType: 97, sequenceNumber: seq, timestamp: ts, ssrc: AUDIO_SSRC, marker: false }),
    Buffer.from([0xfc, 1, 2, 3]),
  ).serialize();
}

/** Frames at 30 fps (3000 ticks); every `gop`-th is a keyframe. */
export function videoStream(frames: number, gop = 10, bodyBytes = 40): Buffer[][] {
  return Array.from({ length: frames }, (_, i) => vp8Packets(vp8Frame(i % gop === 0, i, bodyBytes), 100 + i * 2, 5000 + i * 3000));
}

/**
 * RTP for one H.264 access unit the way rtph264pay (aggregate-mode=zero-latency) and libdatachannel
 * send it: NAL units up to `mtu` bytes that fit together go in one STAP-A (a lone one as a single NAL
 * unit packet), bigger ones as FU-A fragments; the marker on the last packet.
 */
export function h264Packets(nalus: Uint8Array[], seq: number, ts: number, mtu = 1_000, payloadType = 102): Buffer[] {
  const payloads: Buffer[] = [];
  let stap: Uint8Array[] = [];
  const flushStap = () => {
    if (stap.length === 1) payloads.push(Buffer.from(stap[0]!));
    else if (stap.length > 1) {
      const nri = Math.max(...stap.map((n) => n[0]! & 0x60));
      payloads.push(
        Buffer.concat([Buffer.from([nri | 24]), ...stap.flatMap((n) => [Buffer.from([n.byteLength >> 8, n.byteLength & 0xff]), n])]),
      );
    }
    stap = [];
  };
  for (const nal of nalus) {
    if (nal.byteLength + 3 <= mtu) {
      if (stap.reduce((s, n) => s + n.byteLength + 2, 1) + nal.byteLength + 2 > mtu) flushStap();
      stap.push(nal);
      continue;
    }
    flushStap();
    for (let at = 1; at < nal.byteLength; at += mtu - 2) {
      const head = (at === 1 ? 0x80 : 0) | (at + mtu - 2 >= nal.byteLength ? 0x40 : 0) | (nal[0]! & 0x1f);
      payloads.push(Buffer.concat([Buffer.from([(nal[0]! & 0xe0) | 28, head]), nal.subarray(at, at + mtu - 2)]));
    }
  }
  flushStap();
  return payloads.map((payload, i) =>
    new RtpPacket(
      new RtpHeader({
        payloadType,
        sequenceNumber: (seq + i) & 0xffff,
        timestamp: ts,
        ssrc: VIDEO_SSRC,
        marker: i === payloads.length - 1,
      }),
      payload,
    ).serialize(),
  );
}

export const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/**
 * Parameter sets from real encoders and the CodecPrivate ffmpeg 5.1 writes for them
 * (`ffmpeg -f lavfi -i testsrc=size=320x240 -pix_fmt yuv420p -c:v libx264 -profile:v baseline -bf 0 -f h264`; then `ffmpeg -i x.h264 -c copy x.mkv` and `ffprobe -show_data -show_streams x.mkv` for the extradata).
 */
export const BASELINE_320x240 = {
  sps: hex('6742c00dd90141fb0110000003001000000303c0f142a480'),
  pps: hex('68cb83cb20'),
  ffmpegAvcC: hex('0142c00dffe100186742c00dd90141fb0110000003001000000303c0f142a480010005 68cb83cb20'),
};
/** An H.264 IDR slice NAL unit (type 5) of `bytes` bytes; `slice` a non-IDR one (type 1). */
export const idr = (n: number, bytes: number) => Uint8Array.from({ length: bytes }, (_, i) => (i === 0 ? 0x65 : (i * 31 + n) & 0xff || 1));
export const slice = (n: number, bytes: number) =>
  Uint8Array.from({ length: bytes }, (_, i) => (i === 0 ? 0x41 : (i * 17 + n) & 0xff || 1));
