// The peers bench's "frames late" rule (bench/peers/late.ts): one schedule per stream, set by its earliest frame.
import { describe, expect, it } from 'vitest';
import { LATE_AFTER_MS, LateFrames, RtpVideoFrames, lateShare } from '../../bench/peers/late.js';

/** An RTP packet: version 2, the marker bit as given, a 90 kHz timestamp. */
function rtp(ts: number, marker: boolean, payloadType = 96): Uint8Array {
  const b = new Uint8Array(20);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | payloadType;
  new DataView(b.buffer).setUint32(4, ts >>> 0);
  return b;
}

describe('frames late', () => {
  it('a frame is late past LATE_AFTER_MS behind the schedule the earliest frame set, on time within it', () => {
    const l = new LateFrames();
    l.frame(0, 1_000);
    l.frame(33, 1_033 + LATE_AFTER_MS); // exactly at the budget: on time
    l.frame(66, 1_066 + LATE_AFTER_MS + 1); // 1 ms past it: late
    l.frame(100, 1_050); // early: the schedule moves earlier, and this frame is on time
    l.frame(133, 1_083 + LATE_AFTER_MS + 1); // on time by the old schedule, late by the new one
    expect(l.count()).toEqual({ frames: 5, late: 2 });
  });

  it('counts an HLS segment’s frames together', () => {
    const l = new LateFrames();
    l.frame(0, 0, 30);
    l.frame(1_000, 2_000, 30);
    expect(lateShare([l.count()])).toEqual({ frames: 60, late: 30, share: 0.5 });
  });

  it('RTP: one frame per timestamp at its marker packet; RTCP, packets inside a frame and resends are not frames', () => {
    const l = new LateFrames();
    const v = new RtpVideoFrames(l);
    v.packet(rtp(90_000, false), 0);
    v.packet(rtp(90_000, true), 0);
    v.packet(rtp(90_000, true), 5); // the marker packet resent
    const sr = rtp(0, false);
    sr[1] = 200; // an RTCP sender report on the same track
    v.packet(sr, 10);
    v.packet(rtp(90_000 + 9_000, true), 100); // 100 ms of media later, on time
    v.packet(rtp(90_000 + 18_000, true), 200 + LATE_AFTER_MS + 1); // 200 ms of media, arrived 201 ms behind it
    expect(l.count()).toEqual({ frames: 3, late: 1 });
  });

  it('RTP: a frame resent after newer frames (a NACK answered) is not counted again', () => {
    const l = new LateFrames();
    const v = new RtpVideoFrames(l);
    v.packet(rtp(0, true), 0);
    v.packet(rtp(3_000, true), 33);
    v.packet(rtp(6_000, true), 66);
    v.packet(rtp(3_000, true), 400); // the second frame's marker packet resent, well after it
    v.packet(rtp(0, true), 410);
    v.packet(rtp(9_000, true), 100);
    expect(l.count()).toEqual({ frames: 4, late: 0 });
  });

  it('RTP timestamps that wrap past 2^32 keep counting forward', () => {
    const l = new LateFrames();
    const v = new RtpVideoFrames(l);
    v.packet(rtp(0xffff_ffff - 8_999, true), 0);
    v.packet(rtp(0, true), 100); // 9,000 ticks = 100 ms later
    v.packet(rtp(9_000, true), 200);
    expect(l.count()).toEqual({ frames: 3, late: 0 });
  });

  it('no frame is not "none late": the share is 1', () => {
    expect(lateShare([{ frames: 0, late: 0 }]).share).toBe(1);
  });
});
