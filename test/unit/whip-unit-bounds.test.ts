// A WHIP publisher that never ends a frame (no marker bit, one timestamp): the VP8 and H.264 depacketizers hold a bounded amount.
import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift-rtp';
import { H264Depacketizer } from '../../node-app/whip/h264-depacketizer.js';
import { RtpToWebm } from '../../node-app/whip/rtp-to-webm.js';
import type { RtpUnitAssembler } from '../../node-app/whip/rtp-units.js';
import { descriptorBytes, Vp8Depacketizer } from '../../node-app/whip/vp8-depacketizer.js';
import { idr, vp8Frame, vp8Packets, VIDEO_SSRC } from '../helpers/rtp-fixtures.js';

const BODY = Buffer.alloc(1_100, 7);
/** What a hostile sender puts in every packet: VP8 continuation (descriptor 0x00) or an H.264 FU-A middle of an IDR. */
const vp8Middle = Buffer.concat([Buffer.from([0x00]), BODY]);
const fuStart = Buffer.concat([Buffer.from([0x7c, 0x85]), BODY]);
const fuMiddle = Buffer.concat([Buffer.from([0x7c, 0x05]), BODY]);

/** `n` packets of one timestamp, none with the marker; the most the depacketizer held meanwhile. */
function neverEnding(d: RtpUnitAssembler<unknown>, first: Buffer, rest: Buffer, n: number): number {
  let most = 0;
  for (let i = 0; i < n; i++) {
    expect(d.push(i === 0 ? first : rest, i, 9000, false, 0)).toEqual([]);
    most = Math.max(most, d.heldBytes);
  }
  return most;
}

describe('a unit that never ends', () => {
  it('VP8: let go once past its byte bound (werift held every packet and scanned them all on each one)', () => {
    const d = new Vp8Depacketizer({ maxUnitBytes: 64 * 1024 });
    const first = Buffer.concat([Buffer.from([0x10]), vp8Frame(true, 0, 1_100)]);
    expect(neverEnding(d, first, vp8Middle, 20_000)).toBeLessThanOrEqual(64 * 1024 + 1_200);
    expect(d.heldBytes).toBe(0);
    // Its end drops it (counted once); the next frame is whole.
    expect(d.push(vp8Middle, 20_000, 9000, true, 0)).toEqual([]);
    expect(d.dropped).toBe(1);
    const [p] = vp8Packets(vp8Frame(true, 1), 20_001, 12_000, 1);
    const f = RtpPacket.deSerialize(p!);
    expect(d.push(f.payload, 20_001, 12_000, true, 5)).toMatchObject([{ isKeyframe: true, time: 5 }]);
  });

  it('H.264: let go once past its byte bound (the old depacketizer marked it broken and kept every NAL unit)', () => {
    const d = new H264Depacketizer({ maxUnitBytes: 64 * 1024 });
    expect(neverEnding(d, fuStart, fuMiddle, 20_000)).toBeLessThanOrEqual(64 * 1024 + 1_200);
    expect(d.heldBytes).toBe(0);
    expect(d.push(Buffer.from(idr(1, 200)), 20_000, 12_000, true, 0)).toMatchObject([{ keyframe: true }]);
    expect(d.dropped).toBe(1);
  });

  it('a flood of tiny packets breaks the unit at its packet bound, whatever its bytes', () => {
    const d = new Vp8Depacketizer({ maxUnitBytes: 1 << 30, maxUnitPackets: 100 });
    const tiny = Buffer.from([0x00, 1]);
    neverEnding(d, Buffer.from([0x10, 0x50]), tiny, 101);
    expect(d.heldBytes).toBe(0);
    d.push(tiny, 101, 9000, true, 0);
    expect(d.dropped).toBe(1);
  });

  it('RtpToWebm: an unended VP8 frame of 6,000 packets is dropped, and the stream starts at the next keyframe', () => {
    const chunks: Buffer[] = [];
    let requests = 0;
    const m = new RtpToWebm({ audio: false, onBytes: (b) => chunks.push(Buffer.from(b)), onNeedKeyframe: () => requests++, now: () => 0 });
    const rtp = (seq: number, ts: number, payload: Buffer, marker: boolean) =>
      new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc: VIDEO_SSRC, marker }), payload).serialize();
    for (let i = 0; i < 6_000; i++)
      m.push('video', rtp(i, 9000, i === 0 ? Buffer.concat([Buffer.from([0x10]), vp8Frame(true, 0, 1_100)]) : vp8Middle, false));
    m.push('video', rtp(6_000, 9000, vp8Middle, true));
    expect(m.started).toBe(false);
    expect(m.frames.dropped).toBe(1);
    expect(requests).toBeGreaterThan(0);
    for (const p of vp8Packets(vp8Frame(true, 1), 6_001, 12_000)) m.push('video', p);
    expect(m.started).toBe(true);
    expect(m.frames.video).toBe(1);
  });
});

describe('Vp8Depacketizer', () => {
  it('ends a frame whose marker was lost at the next timestamp (werift joined it to the next frame)', () => {
    const d = new Vp8Depacketizer({ maxUnitBytes: 1 << 20 });
    const [a] = vp8Packets(vp8Frame(true, 0), 1, 3000, 1).map((b) => RtpPacket.deSerialize(b));
    const [b] = vp8Packets(vp8Frame(false, 1), 2, 6000, 1).map((x) => RtpPacket.deSerialize(x));
    expect(d.push(a!.payload, 1, 3000, false, 0)).toEqual([]);
    const out = d.push(b!.payload, 2, 6000, true, 33);
    expect(out.map((f) => [f.isKeyframe, f.time, f.data.byteLength])).toEqual([
      [true, 0, vp8Frame(true, 0).byteLength],
      [false, 33, vp8Frame(false, 1).byteLength],
    ]);
  });

  it('reads every payload descriptor extension (RFC 7741 §4.2), T without L included', () => {
    expect(descriptorBytes(Buffer.from([0x10, 0x9d]))).toBe(1);
    // X, I with a 7-bit PictureID.
    expect(descriptorBytes(Buffer.from([0x90, 0x80, 0x05, 0x9d]))).toBe(3);
    // X, I with a 15-bit PictureID (M), L, T: Chromium's.
    expect(descriptorBytes(Buffer.from([0x90, 0xe0, 0x81, 0x02, 0x07, 0x40, 0x9d]))).toBe(6);
    // X, T only: one TID/Y/KEYIDX byte (werift skipped it only with L or K set).
    expect(descriptorBytes(Buffer.from([0x90, 0x20, 0x40, 0x9d]))).toBe(3);
    // Nothing after the descriptor.
    expect(descriptorBytes(Buffer.from([0x90, 0x80, 0x05]))).toBeUndefined();
    expect(descriptorBytes(Buffer.from([0x10]))).toBeUndefined();
  });
});
