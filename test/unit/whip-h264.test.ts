// H.264 over WHIP: RTP depacketizing (FU-A, STAP-A, loss), the AVCDecoderConfigurationRecord, and the Matroska the muxer writes.
import { describe, expect, it } from 'vitest';
import { RtpPacket } from 'werift-rtp';
import { BufferSource, EncodedPacketSink, Input, MATROSKA } from 'mediabunny';
import { avc1Codec, avcDecoderConfig, fromAvcc, parameterSets, parseSps, toAvcc } from '../../common/avc-config.js';
import { H264Depacketizer } from '../../node-app/whip/h264-depacketizer.js';
import { RtpToWebm, spropParameterSets } from '../../node-app/whip/rtp-to-webm.js';
import { mimeFor, probeWebm } from '../../node-app/storage/webm-probe.js';
import { WebmHeadCheck } from '../../node-app/ingest/webm-head-check.js';
import { BASELINE_320x240, h264Packets, hex, idr, slice } from '../helpers/rtp-fixtures.js';

/** The same for 1920x1080 `-profile:v high` (see BASELINE_320x240). */
const HIGH_1920x1080 = {
  sps: hex('67640028acb200f0044fcb8088000003000800000301e078c19240'),
  pps: hex('68ebc3cb22c0'),
  ffmpegAvcC: hex('01640028ffe1001b67640028acb200f0044fcb8088000003000800000301e078c1924001000668ebc3cb22c0fdf8f800'),
};

const rtp = (b: Buffer) => RtpPacket.deSerialize(b);
const feed = (d: H264Depacketizer, packets: Buffer[], timeMs = 0) =>
  packets.flatMap((b) => {
    const p = rtp(b);
    return d.push(p.payload, p.header.sequenceNumber, p.header.timestamp, p.header.marker, timeMs);
  });

describe('H264Depacketizer', () => {
  it('unpacks a STAP-A and reassembles FU-A fragments into one keyframe access unit', () => {
    const d = new H264Depacketizer({ maxUnitBytes: 1 << 20 });
    const nalus = [BASELINE_320x240.sps, BASELINE_320x240.pps, idr(1, 3_500)];
    const packets = h264Packets(nalus, 10, 9000, 1_000);
    // One STAP-A (SPS + PPS) and four FU-A fragments.
    expect(packets.map((b) => rtp(b).payload[0]! & 0x1f)).toEqual([24, 28, 28, 28, 28]);
    const units = feed(d, packets, 42);
    expect(units).toHaveLength(1);
    expect(units[0]!.keyframe).toBe(true);
    expect(units[0]!.rtpTimestamp).toBe(9000);
    expect(units[0]!.timeMs).toBe(42);
    expect(units[0]!.nalus.map((n) => Buffer.from(n).toString('hex'))).toEqual(nalus.map((n) => Buffer.from(n).toString('hex')));
    // A delta frame in one single-NAL packet.
    const next = feed(d, h264Packets([slice(2, 300)], 15, 12000));
    expect(next).toHaveLength(1);
    expect(next[0]!.keyframe).toBe(false);
    expect(d.dropped).toBe(0);
  });

  it('drops a unit whose middle FU-A fragment was lost, and only that one', () => {
    const d = new H264Depacketizer({ maxUnitBytes: 1 << 20 });
    const first = h264Packets([idr(1, 3_500)], 100, 3000);
    expect(feed(d, [first[0]!, first[1]!, first[3]!])).toEqual([]);
    expect(d.dropped).toBe(1);
    const next = feed(d, h264Packets([slice(2, 200)], 104, 6000));
    expect(next).toHaveLength(1);
    expect(d.dropped).toBe(1);
  });

  it('drops a FU-A without its start, a malformed STAP-A, and an interleaved-mode packet', () => {
    const d = new H264Depacketizer({ maxUnitBytes: 1 << 20 });
    const fu = h264Packets([idr(1, 2_500)], 1, 3000);
    // The first fragment's start bit cleared: a receiver cannot know the NAL began here.
    const noStart = rtp(fu[0]!);
    noStart.payload[1]! &= 0x7f;
    expect(feed(d, [noStart.serialize(), ...fu.slice(1)])).toEqual([]);
    const stap = rtp(h264Packets([BASELINE_320x240.sps, BASELINE_320x240.pps], fu.length + 1, 6000)[0]!);
    stap.payload[2] = 0xff; // the first NAL's length runs past the packet
    stap.header.marker = true;
    expect(feed(d, [stap.serialize()])).toEqual([]);
    const stapB = rtp(h264Packets([slice(3, 100)], fu.length + 2, 9000)[0]!);
    stapB.payload[0] = 0x19; // STAP-B
    expect(feed(d, [stapB.serialize()])).toEqual([]);
    expect(d.dropped).toBe(3);
  });

  it('ends a unit at the next timestamp when the sender sets no marker, and drops one past maxUnitBytes', () => {
    const d = new H264Depacketizer({ maxUnitBytes: 1_000 });
    const a = rtp(h264Packets([slice(1, 100)], 1, 3000)[0]!);
    a.header.marker = false;
    expect(feed(d, [a.serialize()])).toEqual([]);
    const b = feed(d, h264Packets([slice(2, 100)], 2, 6000));
    expect(b.map((u) => u.rtpTimestamp)).toEqual([3000, 6000]);
    expect(feed(d, h264Packets([slice(3, 1_500)], 3, 9000, 600))).toEqual([]);
    expect(d.dropped).toBe(1);
  });
});

describe('AVC configuration', () => {
  it('builds the same AVCDecoderConfigurationRecord as ffmpeg for Baseline and High profile parameter sets', () => {
    for (const f of [BASELINE_320x240, HIGH_1920x1080]) {
      expect(Buffer.from(avcDecoderConfig(f.sps, [f.pps])).toString('hex')).toBe(Buffer.from(f.ffmpegAvcC).toString('hex'));
      expect(parameterSets(f.ffmpegAvcC).map((x) => Buffer.from(x).toString('hex'))).toEqual(
        [f.sps, f.pps].map((x) => Buffer.from(x).toString('hex')),
      );
    }
    expect(avc1Codec(BASELINE_320x240.ffmpegAvcC)).toMatch(/^avc1\.42[0-9a-f]{4}$/);
    expect(avc1Codec(HIGH_1920x1080.ffmpegAvcC)).toMatch(/^avc1\.64[0-9a-f]{4}$/);
  });

  it('reads the picture size from an SPS, cropping included (1080 is coded as 1088)', () => {
    expect(parseSps(BASELINE_320x240.sps)).toMatchObject({ profileIdc: 66, width: 320, height: 240 });
    expect(parseSps(HIGH_1920x1080.sps)).toMatchObject({ profileIdc: 100, width: 1920, height: 1080, chromaFormatIdc: 1 });
    expect(() => parseSps(BASELINE_320x240.pps)).toThrow(/not an SPS/);
    expect(() => parseSps(BASELINE_320x240.sps.subarray(0, 5))).toThrow(/truncated|bad SPS/);
  });

  it('writes and reads AVCC samples, and refuses a length past the end', () => {
    const nalus = [BASELINE_320x240.sps, idr(1, 40)];
    const sample = toAvcc(nalus);
    expect(sample.byteLength).toBe(8 + nalus[0]!.byteLength + 40);
    expect(fromAvcc(sample).map((n) => Buffer.from(n).toString('hex'))).toEqual(nalus.map((n) => Buffer.from(n).toString('hex')));
    expect(() => fromAvcc(sample.subarray(0, sample.byteLength - 1))).toThrow(/past the end/);
  });
});

/** 30 fps access units: an IDR (with SPS and PPS in front, as OBS and rtph264pay send them) every `gop`. */
function h264Stream(frames: number, gop: number, deltaBytes = 400): Buffer[][] {
  let seq = 100;
  return Array.from({ length: frames }, (_, i) => {
    const nalus = i % gop === 0 ? [BASELINE_320x240.sps, BASELINE_320x240.pps, idr(i, 2_500)] : [slice(i, deltaBytes)];
    const packets = h264Packets(nalus, seq, 5000 + i * 3000);
    seq += packets.length;
    return packets;
  });
}

function mux() {
  const chunks: Buffer[] = [];
  let requests = 0;
  const m = new RtpToWebm({
    audio: false,
    video: 'h264',
    payloadTypes: { video: [102] },
    onBytes: (b) => chunks.push(Buffer.from(b)),
    onNeedKeyframe: () => requests++,
    now: () => 0,
  });
  return { m, out: () => Buffer.concat(chunks), requests: () => requests };
}

async function demux(bytes: Buffer) {
  const input = new Input({ source: new BufferSource(bytes), formats: [MATROSKA] });
  const track = (await input.getPrimaryVideoTrack())!;
  const config = await track.getDecoderConfig();
  const packets = [];
  for await (const p of new EncodedPacketSink(track).packets()) packets.push(p);
  return { track, config, packets };
}

describe('RtpToWebm with H.264', () => {
  it('waits for an IDR (asking for one), then writes Matroska V_MPEG4/ISO/AVC with the avcC and AVCC samples', async () => {
    const t = mux();
    const stream = h264Stream(25, 10);
    // Joins mid-GOP: frames 5..9 are deltas without a reference.
    for (const p of stream.slice(5).flat()) t.m.push('video', p);
    t.m.end();
    expect(t.requests()).toBeGreaterThan(0);
    expect(t.m.frames).toMatchObject({ video: 15, dropped: 5 });
    const out = t.out();
    const probe = probeWebm(out);
    expect(probe.docType).toBe('matroska');
    expect(probe.tracks.map((x) => x.codecId)).toEqual(['V_MPEG4/ISO/AVC']);
    expect(mimeFor(probe)).toBe(`video/x-matroska; codecs="${avc1Codec(BASELINE_320x240.ffmpegAvcC)}"`);
    // What the ingest servers check before storing a byte.
    expect(new WebmHeadCheck().check(out)).toBeUndefined();
    const { track, config, packets } = await demux(out);
    expect(track.codec).toBe('avc');
    expect([track.codedWidth, track.codedHeight]).toEqual([320, 240]);
    expect(Buffer.from(config!.description as Uint8Array).toString('hex')).toBe(Buffer.from(BASELINE_320x240.ffmpegAvcC).toString('hex'));
    expect(packets).toHaveLength(15);
    expect(packets.map((p) => p.type)).toEqual(packets.map((_, i) => (i % 10 === 0 ? 'key' : 'delta')));
    expect(Buffer.from(packets[0]!.data).equals(Buffer.from(toAvcc([BASELINE_320x240.sps, BASELINE_320x240.pps, idr(10, 2_500)])))).toBe(
      true,
    );
    expect(Buffer.from(packets[1]!.data).equals(Buffer.from(toAvcc([slice(11, 400)])))).toBe(true);
    for (let i = 1; i < packets.length; i++) expect(packets[i]!.timestamp).toBeGreaterThan(packets[i - 1]!.timestamp);
  });

  it('an H.264 stream of a profile browsers cannot decode (ffmpeg’s High 4:4:4 for RGB input) is refused before storing', () => {
    const t = mux();
    for (const p of h264Stream(12, 10).flat()) t.m.push('video', p);
    t.m.end();
    const out = t.out();
    expect(new WebmHeadCheck().check(out)).toBeUndefined();
    // The avcC's profile byte (after its version 1) as High 4:4:4 Predictive (244), then High 10 (110).
    const at = Buffer.from(out).indexOf(Buffer.from(BASELINE_320x240.ffmpegAvcC.subarray(0, 4)));
    expect(at).toBeGreaterThan(0);
    for (const [profile, name] of [
      [244, 'High 4:4:4 Predictive'],
      [110, 'High 10'],
    ] as const) {
      const bad = Uint8Array.from(out);
      bad[at + 1] = profile;
      expect(new WebmHeadCheck().check(bad)).toBe(
        `H.264 ${name} does not play in browsers: encode Baseline, Main or High 4:2:0 (ffmpeg: -pix_fmt yuv420p -profile:v high)`,
      );
    }
    const high = Uint8Array.from(out);
    high[at + 1] = 100;
    expect(new WebmHeadCheck().check(high)).toBeUndefined();
  });

  it('after a lost FU-A fragment asks for a keyframe and stores nothing until the next IDR', async () => {
    const t = mux();
    const stream = h264Stream(30, 10, 2_500);
    for (const p of stream.slice(0, 12).flat()) t.m.push('video', p);
    const before = t.m.frames.video;
    const requests = t.requests();
    // Frame 12 (three FU-A fragments) loses its middle one; 13..19 depend on it (233 ms on: the jitter buffer gives up waiting).
    const f12 = stream[12]!;
    expect(f12).toHaveLength(3);
    for (const p of [f12[0]!, f12[2]!, ...stream.slice(13).flat()]) t.m.push('video', p);
    t.m.end();
    expect(t.requests()).toBeGreaterThan(requests);
    expect(t.m.frames.video).toBe(before + 10);
    const { packets } = await demux(t.out());
    expect(packets.map((p) => p.type).filter((x) => x === 'key')).toHaveLength(3);
  });

  it('starts from an IDR without in-band SPS/PPS when the offer gave them in sprop-parameter-sets', async () => {
    const b64 = (n: Uint8Array) => Buffer.from(n).toString('base64');
    const fmtp = `packetization-mode=1;sprop-parameter-sets=${b64(BASELINE_320x240.sps)},${b64(BASELINE_320x240.pps)}`;
    /** 12 frames, IDRs at 0 and 10, no SPS/PPS in band. */
    const send = (m: RtpToWebm) => {
      let seq = 1;
      for (let i = 0; i < 12; i++) {
        const packets = h264Packets([i % 10 === 0 ? idr(i, 2_000) : slice(i, 300)], seq, 3000 * i);
        seq += packets.length;
        for (const p of packets) m.push('video', p);
      }
      m.end();
    };
    const chunks: Buffer[] = [];
    const opts = {
      audio: false,
      video: 'h264' as const,
      onBytes: (b: Uint8Array) => chunks.push(Buffer.from(b)),
      onNeedKeyframe: () => {},
      now: () => 0,
    };
    send(new RtpToWebm({ ...opts, parameterSets: spropParameterSets(fmtp) }));
    const { config, packets } = await demux(Buffer.concat(chunks));
    expect(Buffer.from(config!.description as Uint8Array).toString('hex')).toBe(Buffer.from(BASELINE_320x240.ffmpegAvcC).toString('hex'));
    expect(packets[0]!.type).toBe('key');
    expect(packets.length).toBeGreaterThanOrEqual(11);
    // Without them the same stream never starts: nothing says how to decode the IDR.
    const none = new RtpToWebm(opts);
    send(none);
    expect(none.started).toBe(false);
  });

  it('ignores packets of a payload type the answer did not accept (RTX, another codec)', () => {
    const t = mux();
    for (const p of h264Stream(3, 10).flatMap((f) => f.map((b) => h264WithPt(b, 96)))) t.m.push('video', p);
    t.m.end();
    expect(t.out().byteLength).toBe(0);
  });
});

function h264WithPt(b: Buffer, pt: number): Buffer {
  const c = Buffer.from(b);
  c[1] = (c[1]! & 0x80) | pt;
  return c;
}
