// RTP → WebM for WHIP: reordering, keyframe requests after a loss, audio held until video starts, Cues at the end.
import { describe, expect, it } from 'vitest';
import { MAX_KEYFRAME_GAP_MS, RtpToWebm, vp8Size } from '../../node-app/whip/rtp-to-webm.js';
import { opusPacket, videoStream, vp8Frame } from '../helpers/rtp-fixtures.js';

const CUES_ID = Buffer.from([0x1c, 0x53, 0xbb, 0x6b]);
const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);

function mux(audio = false) {
  const chunks: Buffer[] = [];
  let keyframeRequests = 0;
  let clock = 0;
  const m = new RtpToWebm({
    audio,
    onBytes: (b) => chunks.push(Buffer.from(b)),
    onNeedKeyframe: () => keyframeRequests++,
    now: () => clock,
  });
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
    frames
      .slice(0, 5)
      .flat()
      .forEach((p) => t.m.push('video', p));
    const before = t.m.frames.video;
    // Frame 5 loses its first packet; frames 6..19 are deltas that depend on it (466 ms: past the jitter buffer's wait).
    frames
      .slice(5, 20)
      .flat()
      .slice(1)
      .forEach((p) => t.m.push('video', p));
    expect(t.requests()).toBeGreaterThan(0);
    expect(t.m.frames.video).toBe(before);
    frames
      .slice(20)
      .flat()
      .forEach((p) => t.m.push('video', p));
    t.m.end();
    // Keyframe 20 and what follows are kept.
    expect(t.m.frames.video).toBe(before + 10);
    expect(t.m.frames.dropped).toBeGreaterThan(0);
  });

  it('asks a publisher that sends keyframes rarely (a browser) for one every MAX_KEYFRAME_GAP_MS, and one that sends them often never', () => {
    const frameMs = 1000 / 30; // videoStream: 3,000 ticks of 90 kHz per frame
    const gapFrames = Math.ceil(MAX_KEYFRAME_GAP_MS / frameMs);
    const rare = mux();
    const frames = videoStream(gapFrames * 3, 10_000);
    frames
      .slice(0, gapFrames - 1)
      .flat()
      .forEach((p) => rare.m.push('video', p));
    expect(rare.requests()).toBe(0);
    frames
      .slice(gapFrames - 1)
      .flat()
      .forEach((p) => rare.m.push('video', p));
    expect(rare.requests()).toBeGreaterThan(0);
    // Nothing is dropped for it: the frames are fine, only the next keyframe is far.
    expect(rare.m.frames.dropped).toBe(0);
    const often = mux();
    for (const p of videoStream(gapFrames * 3, 30).flat()) often.m.push('video', p);
    expect(often.requests()).toBe(0);
  });

  it('starts with a video keyframe: delta frames and audio before it are not written', () => {
    const t = mux(true);
    const frames = videoStream(12, 6);
    for (let i = 0; i < 10; i++) t.m.push('audio', opusPacket(10 + i, 960 * i));
    frames
      .slice(1, 6)
      .flat()
      .forEach((p) => t.m.push('video', p));
    expect(t.m.started).toBe(false);
    expect(t.out().byteLength).toBe(0);
    expect(t.requests()).toBeGreaterThan(0);
    frames
      .slice(6)
      .flat()
      .forEach((p) => t.m.push('video', p));
    for (let i = 10; i < 20; i++) t.m.push('audio', opusPacket(10 + i, 960 * i));
    t.m.end();
    expect(t.m.frames.video).toBe(6);
    expect(t.m.frames.audio).toBeGreaterThan(0);
    const out = t.out();
    // EBML header first, then a Cluster, and the Cues after the last Cluster.
    expect(out.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))).toBe(true);
    expect(out.lastIndexOf(CUES_ID)).toBeGreaterThan(out.lastIndexOf(CLUSTER_ID));
  });

  it('gives up the Cues of a stream with more Clusters than cue points it may keep', () => {
    const run = (maxCuePoints?: number) => {
      const chunks: Buffer[] = [];
      const m = new RtpToWebm({ audio: false, maxCuePoints, onBytes: (b) => chunks.push(Buffer.from(b)), onNeedKeyframe: () => undefined });
      // Every frame a keyframe: a Cluster (and a cue point) each.
      for (const p of videoStream(30, 1).flat()) m.push('video', p);
      m.end();
      return Buffer.concat(chunks);
    };
    const capped = run(5);
    expect(capped.indexOf(CLUSTER_ID)).toBeGreaterThan(0);
    expect(capped.indexOf(CUES_ID)).toBe(-1);
    // The same stream under the default keeps its Cues, after the last Cluster.
    const whole = run();
    expect(whole.lastIndexOf(CUES_ID)).toBeGreaterThan(whole.lastIndexOf(CLUSTER_ID));
    expect(capped.byteLength).toBeLessThan(whole.byteLength);
  });

  it('ignores what is not RTP, and anything after end()', () => {
    const t = mux();
    t.m.push('video', Buffer.from('not rtp at all'));
    t.m.push('video', Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])); // an RTCP sender report's first bytes
    expect(t.out().byteLength).toBe(0);
    videoStream(3)
      .flat()
      .forEach((p) => t.m.push('video', p));
    t.m.end();
    const n = t.out().byteLength;
    videoStream(3)
      .flat()
      .forEach((p) => t.m.push('video', p));
    expect(t.out().byteLength).toBe(n);
  });

  it('reads a keyframe size', () => {
    expect(vp8Size(vp8Frame(true, 0))).toEqual({ width: 320, height: 240 });
    expect(vp8Size(vp8Frame(false, 0))).toEqual({});
  });
});
