// RTP → WebM for WHIP: reordering, keyframe requests after a loss, audio held until video starts, Cues at the end.
import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift-rtp';
import { RtpToWebm, vp8Size } from '../../node-app/whip/rtp-to-webm.js';

const VIDEO_SSRC = 1111;
const AUDIO_SSRC = 2222;
const CUES_ID = Buffer.from([0x1c, 0x53, 0xbb, 0x6b]);
const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);

/** A VP8 frame (RFC 6386): keyframes carry the start code and 320×240. */
function vp8Frame(key: boolean, n: number): Buffer {
  const body = Buffer.alloc(40, n & 0xff);
  return key ? Buffer.concat([Buffer.from([0x50, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]), body]) : Buffer.concat([Buffer.from([0x51, 0, 0]), body]);
}

/** RTP for one VP8 frame split in `parts` packets (descriptor S bit on the first, marker on the last). */
function vp8Packets(frame: Buffer, seq: number, ts: number, parts = 2): Buffer[] {
  const size = Math.ceil(frame.byteLength / parts);
  const out: Buffer[] = [];
  for (let i = 0; i < parts; i++) {
    const payload = Buffer.concat([Buffer.from([i === 0 ? 0x10 : 0x00]), frame.subarray(i * size, (i + 1) * size)]);
    const header = new RtpHeader({ payloadType: 96, sequenceNumber: (seq + i) & 0xffff, timestamp: ts, ssrc: VIDEO_SSRC, marker: i === parts - 1 });
    out.push(new RtpPacket(header, payload).serialize());
  }
  return out;
}

function opusPacket(seq: number, ts: number): Buffer {
  return new RtpPacket(new RtpHeader({ payloadType: 97, sequenceNumber: seq, timestamp: ts, ssrc: AUDIO_SSRC, marker: false }), Buffer.from([0xfc, 1, 2, 3])).serialize();
}

/** Frames at 30 fps (3000 ticks); every `gop`-th is a keyframe. */
function videoStream(frames: number, gop = 10): Buffer[][] {
  return Array.from({ length: frames }, (_, i) => vp8Packets(vp8Frame(i % gop === 0, i), 100 + i * 2, 5000 + i * 3000));
}

function mux(audio = false) {
  const chunks: Buffer[] = [];
  let keyframeRequests = 0;
  let clock = 0;
  const m = new RtpToWebm({ audio, onBytes: (b) => chunks.push(Buffer.from(b)), onNeedKeyframe: () => keyframeRequests++, now: () => clock });
  return { m, out: () => Buffer.concat(chunks), requests: () => keyframeRequests, tick: (ms: number) => (clock += ms) };
}

describe('RtpToWebm', () => {
  it('writes the same WebM from reordered packets as from ordered ones', () => {
    const ordered = mux();
    const reordered = mux();
    const packets = videoStream(20).flat();
    for (const p of packets) ordered.m.push('video', p);
    // Swap neighbours: every pair after the first packet (which sets the jitter buffer's start) arrives in the wrong order.
    reordered.m.push('video', packets[0]!);
    for (let i = 1; i + 1 < packets.length; i += 2) {
      reordered.m.push('video', packets[i + 1]!);
      reordered.m.push('video', packets[i]!);
    }
    if (packets.length % 2 === 0) reordered.m.push('video', packets.at(-1)!);
    ordered.m.end();
    reordered.m.end();
    expect(ordered.m.frames.video).toBeGreaterThanOrEqual(19);
    expect(reordered.out().equals(ordered.out())).toBe(true);
    expect(reordered.requests()).toBe(0);
  });

  it('after a lost packet asks for a keyframe and drops delta frames until one arrives', () => {
    const t = mux();
    const frames = videoStream(30, 20);
    frames.slice(0, 5).flat().forEach((p) => t.m.push('video', p));
    const before = t.m.frames.video;
    // Frame 5 loses its first packet; frames 6..19 are deltas that depend on it (466 ms: past the jitter buffer's wait).
    frames.slice(5, 20).flat().slice(1).forEach((p) => t.m.push('video', p));
    expect(t.requests()).toBeGreaterThan(0);
    expect(t.m.frames.video).toBe(before);
    frames.slice(20).flat().forEach((p) => t.m.push('video', p));
    t.m.end();
    // Keyframe 20 and what follows are kept.
    expect(t.m.frames.video).toBe(before + 10);
    expect(t.m.frames.dropped).toBeGreaterThan(0);
  });

  it('starts with a video keyframe: delta frames and audio before it are not written', () => {
    const t = mux(true);
    const frames = videoStream(12, 6);
    for (let i = 0; i < 10; i++) t.m.push('audio', opusPacket(10 + i, 960 * i));
    frames.slice(1, 6).flat().forEach((p) => t.m.push('video', p));
    expect(t.m.started).toBe(false);
    expect(t.out().byteLength).toBe(0);
    expect(t.requests()).toBeGreaterThan(0);
    frames.slice(6).flat().forEach((p) => t.m.push('video', p));
    for (let i = 10; i < 20; i++) t.m.push('audio', opusPacket(10 + i, 960 * i));
    t.m.end();
    expect(t.m.frames.video).toBe(6);
    expect(t.m.frames.audio).toBeGreaterThan(0);
    const out = t.out();
    // EBML header first, then a Cluster, and the Cues after the last Cluster.
    expect(out.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))).toBe(true);
    expect(out.lastIndexOf(CUES_ID)).toBeGreaterThan(out.lastIndexOf(CLUSTER_ID));
  });

  it('ignores what is not RTP, and anything after end()', () => {
    const t = mux();
    t.m.push('video', Buffer.from('not rtp at all'));
    t.m.push('video', Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])); // an RTCP sender report's first bytes
    expect(t.out().byteLength).toBe(0);
    videoStream(3).flat().forEach((p) => t.m.push('video', p));
    t.m.end();
    const n = t.out().byteLength;
    videoStream(3).flat().forEach((p) => t.m.push('video', p));
    expect(t.out().byteLength).toBe(n);
  });

  it('reads a keyframe size', () => {
    expect(vp8Size(vp8Frame(true, 0))).toEqual({ width: 320, height: 240 });
    expect(vp8Size(vp8Frame(false, 0))).toEqual({});
  });
});
