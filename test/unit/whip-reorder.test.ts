// A WHIP track's reorder buffer: packets back in order, a hole given up past the wait, and what it holds (and so what a
// release costs) bounded by how far ahead a packet may be, whatever a publisher sends.
import { describe, expect, it } from 'vitest';
import { ReorderBuffer, type ReorderOutput, type SequencedPacket } from '../../node-app/whip/reorder-buffer.js';
import { RtpToWebm } from '../../node-app/whip/rtp-to-webm.js';
import { videoStream, vp8Frame, vp8Packets } from '../helpers/rtp-fixtures.js';

const pkt = (seq: number, timestamp: number): SequencedPacket => ({ header: { sequenceNumber: seq & 0xffff, timestamp: timestamp >>> 0 } });
/** 90 kHz, a 150-ms wait (13,500 ticks), 512 packets. */
const buffer = () => new ReorderBuffer<SequencedPacket>(90_000, { latencyMs: 150, maxPackets: 512 });
const seqs = (out: ReorderOutput<SequencedPacket>[]) => out.map((o) => (o.rtp ? o.rtp.header.sequenceNumber : 'lost'));

describe('ReorderBuffer', () => {
  it('passes packets in order at once, puts swapped ones back in order, drops late and repeated ones', () => {
    const b = buffer();
    expect(seqs(b.push(pkt(10, 0)))).toEqual([10]);
    expect(seqs(b.push(pkt(11, 0)))).toEqual([11]);
    expect(seqs(b.push(pkt(13, 0)))).toEqual([]);
    expect(seqs(b.push(pkt(12, 0)))).toEqual([12, 13]);
    expect(seqs(b.push(pkt(12, 0)))).toEqual([]);
    expect(seqs(b.push(pkt(5, 0)))).toEqual([]);
    expect(b.size).toBe(0);
  });

  it('follows the numbering through 65535 to 0', () => {
    const b = buffer();
    expect(seqs(b.push(pkt(65534, 0)))).toEqual([65534]);
    expect(seqs(b.push(pkt(0, 0)))).toEqual([]);
    expect(seqs(b.push(pkt(65535, 0)))).toEqual([65535, 0]);
    expect(seqs(b.push(pkt(1, 0)))).toEqual([1]);
  });

  it('gives a hole up once a packet arrives more than the wait after one held behind it', () => {
    const b = buffer();
    b.push(pkt(100, 0));
    // 101 is lost; 102..104 wait for it.
    expect(seqs([...b.push(pkt(103, 3000)), ...b.push(pkt(102, 3000)), ...b.push(pkt(104, 6000))])).toEqual([]);
    expect(b.size).toBe(3);
    // 13,500 ticks after 102 and 103: not yet past the wait.
    expect(seqs(b.push(pkt(106, 16_500)))).toEqual([]);
    // Past it: the hole goes, everything held up to the newest expired packet follows in order, then what joins it.
    expect(seqs(b.push(pkt(105, 19_501)))).toEqual(['lost', 102, 103, 104, 105, 106]);
    expect(b.push(pkt(107, 19_501))).toEqual([{ rtp: pkt(107, 19_501) }]);
  });

  it('starts the order again at a packet maxPackets or more ahead, at once, with what it held before it', () => {
    const b = buffer();
    b.push(pkt(0, 0));
    b.push(pkt(3, 0));
    b.push(pkt(2, 0));
    expect(seqs(b.push(pkt(512, 0)))).toEqual([]);
    expect(b.size).toBe(3);
    expect(seqs(b.push(pkt(514, 0)))).toEqual(['lost', 2, 3, 512, 514]);
    expect(seqs(b.push(pkt(515, 0)))).toEqual([515]);
    expect(b.size).toBe(0);
  });

  it('a publisher spreading packets over the sequence space never makes it hold more than maxPackets', () => {
    const b = buffer();
    let base = 0;
    let ts = 0;
    b.push(pkt(base, ts));
    let out = 0;
    let maxHeld = 0;
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 512; k++) {
        out += b.push(pkt(base + 2 + Math.floor((k * 32_000) / 512), ts)).filter((o) => o.rtp).length;
        maxHeld = Math.max(maxHeld, b.size);
      }
      ts += 90_000;
      base += 32_001;
      out += b.push(pkt(base, ts)).filter((o) => o.rtp).length;
    }
    expect(maxHeld).toBeLessThan(512);
    expect(out).toBeGreaterThan(0);
  });
});

describe('RtpToWebm with a sequence jump', () => {
  it('a keyframe far ahead of the numbering (a publisher that restarted it) is written at once, not held for the wait', () => {
    const keyframes: number[] = [];
    let clock = 0;
    const m = new RtpToWebm({ audio: false, onBytes: () => undefined, onNeedKeyframe: () => keyframes.push(clock), now: () => clock });
    for (const p of videoStream(10).flat()) m.push('video', p);
    const before = m.frames.video;
    expect(before).toBe(10);
    // Two keyframes 30,000 sequence numbers on, 1/30 s apart. The first is dropped (the frame after a hole is: its
    // start may be what was lost); the second is written as it arrives. Before, werift's jitter buffer held both (and
    // every packet after them) until a packet 150 ms of RTP time newer came: 30,000 steps to let go of them.
    const seq = 100 + 20 + 30_000;
    for (const [i, p] of [...vp8Packets(vp8Frame(true, 10), seq, 35_000), ...vp8Packets(vp8Frame(true, 11), seq + 2, 38_000)].entries()) {
      if (i % 2 === 0) clock += 17;
      m.push('video', p);
    }
    expect(m.frames.video).toBe(before + 1);
  });
});
