// WHEP's RTP out: VP8 frames fragmented with RFC 7741 descriptors that werift-rtp's depacketizer reassembles, RTP time from file time, PLI detection.
import { describe, expect, it } from 'vitest';
import { RtpPacket } from 'werift-rtp';
import extra from 'werift-rtp/extra';
import { hasPli, MAX_RTP_PAYLOAD_BYTES, RtpPacketizer } from '../../node-app/whep/rtp-packetizer.js';

const { DepacketizeBase } = extra;

describe('RtpPacketizer', () => {
  it('fragments a VP8 frame that a depacketizer reassembles byte for byte; the marker ends it', () => {
    const p = new RtpPacketizer({ codec: 'vp8', payloadType: 96, clockRateHz: 90_000 });
    const frame = Buffer.from(Array.from({ length: 5_000 }, (_, i) => (i * 7) & 0xff));
    frame.set([0x50, 0, 0, 0x9d, 0x01, 0x2a], 0); // a keyframe's start code
    const packets = p.packetize(frame, 2).map((b) => RtpPacket.deSerialize(b));
    expect(packets.length).toBe(Math.ceil(frame.byteLength / (MAX_RTP_PAYLOAD_BYTES - 1)));
    expect(packets.map((x) => x.header.marker)).toEqual(packets.map((_, i) => i === packets.length - 1));
    for (const [i, x] of packets.entries()) expect(x.header.sequenceNumber).toBe((packets[0]!.header.sequenceNumber + i) & 0xffff);
    expect(new Set(packets.map((x) => x.header.timestamp))).toEqual(new Set([p.rtpTime(2)]));
    const d = new DepacketizeBase('vp8', { isFinalPacketInSequence: (h) => h.marker });
    const out = packets.flatMap((rtp) => d.processInput({ rtp, time: 0 }).filter((o) => o.frame));
    expect(out).toHaveLength(1);
    expect(Buffer.compare(out[0]!.frame!.data, frame)).toBe(0);
  });

  it('puts one Opus frame in one packet, and spaces RTP time by the file time', () => {
    const p = new RtpPacketizer({ codec: 'opus', payloadType: 111, clockRateHz: 48_000 });
    const [a] = p.packetize(Buffer.from([0xfc, 1, 2]), 1);
    const [b] = p.packetize(Buffer.from([0xfc, 3, 4]), 1.02);
    expect(RtpPacket.deSerialize(a!).payload).toEqual(Buffer.from([0xfc, 1, 2]));
    expect((RtpPacket.deSerialize(b!).header.timestamp - RtpPacket.deSerialize(a!).header.timestamp + 2 ** 32) % 2 ** 32).toBe(960);
  });

  it('finds a PLI in compound RTCP, and nothing in a receiver report alone', () => {
    const rr = Buffer.from([0x81, 201, 0, 7, ...new Array(28).fill(0)]);
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(hasPli(rr)).toBe(false);
    expect(hasPli(Buffer.concat([rr, pli]))).toBe(true);
    expect(hasPli(Buffer.from([1, 2]))).toBe(false);
  });
});
