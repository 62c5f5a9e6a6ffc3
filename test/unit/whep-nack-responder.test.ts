// WHEP's NACK answers: generic NACK FCI (PID + bitmask) parsing, the per-track history ring, the per-RTCP cap, the
// session's byte budget on a fake clock, and the same RTCP packet handed twice.
import { describe, expect, it } from 'vitest';
import {
  MAX_NACKED_PER_RTCP,
  MAX_RESENDS_PER_RTCP,
  NACK_LOOKUPS_PER_S,
  NackResponder,
  nackedSequenceNumbers,
  ResendBudget,
  RtcpRepeats,
} from '../../node-app/whep/nack-responder.js';
import { RtpPacketizer } from '../../node-app/whep/rtp-packetizer.js';
import { genericNack } from '../helpers/whep-rtp-player.js';

const SSRC = 0xabcdef01;
const seqOf = (p: Buffer) => p.readUInt16BE(2);

function track(o: { historyPackets?: number; bytesPerS?: number; lookups?: boolean } = {}) {
  let now = 0;
  const resent: Buffer[] = [];
  const budget = new ResendBudget(o.bytesPerS ?? 1_000_000, () => now);
  const lookups = o.lookups ? new ResendBudget(NACK_LOOKUPS_PER_S, () => now) : undefined;
  const nack = new NackResponder({ ssrc: SSRC, budget, lookups, resend: (p) => resent.push(p), historyPackets: o.historyPackets });
  const rtp = new RtpPacketizer({ codec: 'opus', payloadType: 111, clockRateHz: 48_000, ssrc: SSRC });
  const send = (n: number, bytes = 100) => {
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) for (const p of rtp.packetize(Buffer.alloc(bytes, i), i / 50)) nack.sent(p), out.push(p);
    return out;
  };
  return { nack, resent, send, tick: (ms: number) => (now += ms) };
}

describe('nackedSequenceNumbers', () => {
  it('reads PIDs and their bitmasks, across the 16-bit wrap, from the NACKs for one SSRC in compound RTCP', () => {
    const rr = Buffer.from([0x81, 201, 0, 7, ...new Array(28).fill(0)]);
    const nack = genericNack(1, SSRC, [0xfffe, 0xffff, 0, 15, 40]);
    const other = genericNack(1, SSRC + 1, [7]);
    expect(nack.readUInt16BE(2)).toBe(2 + 3); // three FCI entries: 0xfffe with bits for 0xffff and 0; 15; 40
    expect(nackedSequenceNumbers(Buffer.concat([rr, other, nack]), SSRC)).toEqual({
      nacks: 1,
      seqs: [0xfffe, 0xffff, 0, 15, 40],
      unread: 0,
    });
    expect(nackedSequenceNumbers(Buffer.concat([rr, other]), SSRC)).toBeUndefined();
    // A length running past the end stops the walk; a non-v2 header too.
    expect(nackedSequenceNumbers(nack.subarray(0, nack.length - 1), SSRC)).toBeUndefined();
    expect(nackedSequenceNumbers(Buffer.from([0x41, 205, 0, 2, 0, 0, 0, 1, 0xab, 0xcd, 0xef, 1]), SSRC)).toBeUndefined();
  });
});

/** One NACK with `entries` FCI entries, each a PID and all 16 bits after it: 17 sequence numbers an entry. */
function wideNack(entries: number, pid = 0): Buffer {
  const b = Buffer.alloc(12 + 4 * entries);
  b[0] = 0x81;
  b[1] = 205;
  b.writeUInt16BE(2 + entries, 2);
  b.writeUInt32BE(1, 4);
  b.writeUInt32BE(SSRC, 8);
  for (let i = 0; i < entries; i++) {
    b.writeUInt16BE((pid + 17 * i) & 0xffff, 12 + 4 * i);
    b.writeUInt16BE(0xffff, 14 + 4 * i);
  }
  return b;
}

describe('NACK entries read', () => {
  it('reads the first `limit` sequence numbers of a NACK and only counts the rest', () => {
    const asked = nackedSequenceNumbers(wideNack(372), SSRC, 100)!;
    expect(asked.seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(asked.unread).toBe(372 * 17 - 100);
  });

  it('looks up at most MAX_NACKED_PER_RTCP of one RTCP packet (a 1,500-byte NACK asks for 6,324)', () => {
    const t = track();
    t.send(600);
    // Before, each of the 6,324 was looked up: 1.7 ms of the server's thread for one packet a player may send at will.
    const n = t.nack.received(wideNack(372))!;
    expect(n.resent + n.unavailable).toBeLessThanOrEqual(MAX_NACKED_PER_RTCP);
    expect(n.resent + n.unavailable + n.refused).toBe(372 * 17);
  });

  it("looks up at most NACK_LOOKUPS_PER_S of a session's NACKs a second, refilled as time passes", () => {
    const t = track({ lookups: true });
    t.send(600);
    const looked = () => {
      const n = t.nack.received(wideNack(372))!;
      return n.resent + n.unavailable;
    };
    let total = 0;
    for (let i = 0; i < 20; i++) total += looked();
    expect(total).toBe(NACK_LOOKUPS_PER_S);
    expect(looked()).toBe(0);
    t.tick(50);
    expect(looked()).toBe(Math.floor(NACK_LOOKUPS_PER_S / 20));
  });
});

describe('NackResponder', () => {
  it('resends a held packet as it was sent, and nothing for one the ring has overwritten', () => {
    const t = track({ historyPackets: 8 });
    const sent = t.send(12);
    expect(t.nack.received(genericNack(1, SSRC, [seqOf(sent[11]!), seqOf(sent[3]!), seqOf(sent[4]!)]))).toEqual({
      nacks: 1,
      resent: 2,
      unavailable: 1,
      refused: 0,
    });
    expect(t.resent).toEqual([sent[11], sent[4]]);
  });

  it('resends at most MAX_RESENDS_PER_RTCP packets for one RTCP packet', () => {
    const t = track();
    const sent = t.send(200);
    expect(t.nack.received(genericNack(1, SSRC, sent.map(seqOf)))).toMatchObject({
      resent: MAX_RESENDS_PER_RTCP,
      refused: 200 - MAX_RESENDS_PER_RTCP,
    });
  });

  it("stays within the session's bytes a second, refilled as time passes", () => {
    const t = track({ bytesPerS: 1_000 });
    const sent = t.send(20, 88); // 100-byte packets
    const all = genericNack(1, SSRC, sent.map(seqOf));
    expect(t.nack.received(all)).toMatchObject({ resent: 10, refused: 10 });
    expect(t.nack.received(all)).toMatchObject({ resent: 0, refused: 20 });
    t.tick(500);
    expect(t.nack.received(all)).toMatchObject({ resent: 5, refused: 15 });
    t.tick(60_000); // the bucket holds one second's worth, not what a long quiet spell would add up to
    expect(t.nack.received(all)).toMatchObject({ resent: 10, refused: 10 });
  });
});

describe('RtcpRepeats', () => {
  it('takes the same packet handed again at once for a repeat, and a later or different one for new', () => {
    const r = new RtcpRepeats();
    const a = genericNack(1, SSRC, [5]);
    expect(r.again(a, 0)).toBe(false);
    expect(r.again(Buffer.from(a), 1)).toBe(true);
    expect(r.again(a, 51)).toBe(false);
    expect(r.again(genericNack(1, SSRC, [6]), 52)).toBe(false);
  });
});
