// Encoded frames to RTP: VP8 (RFC 7741 payload descriptor, fragmented), H.264 (RFC 6184 mode 1: single NAL units and FU-A) and Opus (RFC 7587, one frame a packet); werift-rtp writes the headers.
import { randomInt } from 'node:crypto';
import { RtpHeader, RtpPacket } from 'werift-rtp';

/** Largest RTP payload, bytes: well under a 1,500-byte MTU after the IP, UDP, SRTP and RTP headers. */
export const MAX_RTP_PAYLOAD_BYTES = 1_100;

export interface PacketizerOptions {
  payloadType: number;
  clockRateHz: number;
  codec: 'vp8' | 'h264' | 'opus';
  ssrc?: number;
}

/**
 * One outgoing RTP stream. Sequence numbers and the timestamp origin start at random
 * values (RFC 3550 §5.1); `timestampS` is the frame's time in the file, so the RTP
 * clock follows the WebM block times.
 */
export class RtpPacketizer {
  readonly ssrc: number;
  readonly #o: PacketizerOptions;
  #seq = randomInt(0, 0x10000);
  readonly #origin = randomInt(0, 0x1_0000_0000);
  packets = 0;

  constructor(opts: PacketizerOptions) {
    this.#o = opts;
    this.ssrc = opts.ssrc ?? randomInt(1, 0x1_0000_0000);
  }

  get codec(): PacketizerOptions['codec'] {
    return this.#o.codec;
  }

  /** The RTP timestamp of a frame at `timestampS`. */
  rtpTime(timestampS: number): number {
    return (this.#origin + Math.round(timestampS * this.#o.clockRateHz)) % 0x1_0000_0000;
  }

  /** The serialized RTP packets of one H.264 access unit, given as its NAL units; the marker bit ends it. */
  packetizeNalus(nalus: Uint8Array[], timestampS: number): Buffer[] {
    if (this.#o.codec !== 'h264') throw new Error(`packetizeNalus is for H.264, not ${this.#o.codec}`);
    const timestamp = this.rtpTime(timestampS);
    const out: Buffer[] = [];
    const units = nalus.filter((n) => n.byteLength > 0);
    units.forEach((nal, i) => {
      const lastNal = i === units.length - 1;
      if (nal.byteLength <= MAX_RTP_PAYLOAD_BYTES) return void out.push(this.#packet(Buffer.from(nal), timestamp, lastNal));
      // FU-A: indicator keeps F and NRI with type 28; the header carries S/E and the NAL type; the NAL header byte itself is not sent.
      const indicator = (nal[0]! & 0xe0) | 28;
      const type = nal[0]! & 0x1f;
      const room = MAX_RTP_PAYLOAD_BYTES - 2;
      for (let at = 1; at < nal.byteLength; at += room) {
        const first = at === 1;
        const last = at + room >= nal.byteLength;
        const header = (first ? 0x80 : 0) | (last ? 0x40 : 0) | type;
        out.push(this.#packet(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(at, at + room)]), timestamp, last && lastNal));
      }
    });
    return out;
  }

  /** The serialized RTP packets of one frame (VP8 or Opus). */
  packetize(frame: Uint8Array, timestampS: number): Buffer[] {
    const timestamp = this.rtpTime(timestampS);
    if (this.#o.codec === 'h264') throw new Error('H.264 frames go through packetizeNalus');
    if (this.#o.codec === 'opus') return [this.#packet(Buffer.from(frame), timestamp, false)];
    const out: Buffer[] = [];
    const room = MAX_RTP_PAYLOAD_BYTES - 1;
    for (let at = 0; at < frame.byteLength || at === 0; at += room) {
      const last = at + room >= frame.byteLength;
      // VP8 payload descriptor: X=0, N=0, S=1 on a frame's first packet, partition id 0.
      const payload = Buffer.concat([Buffer.from([at === 0 ? 0x10 : 0x00]), frame.subarray(at, at + room)]);
      out.push(this.#packet(payload, timestamp, last));
      if (last) break;
    }
    return out;
  }

  #packet(payload: Buffer, timestamp: number, marker: boolean): Buffer {
    const header = new RtpHeader({ payloadType: this.#o.payloadType, sequenceNumber: this.#seq, timestamp, ssrc: this.ssrc, marker });
    this.#seq = (this.#seq + 1) & 0xffff;
    this.packets++;
    return new RtpPacket(header, payload).serialize();
  }
}

/** True when a (compound) RTCP packet from the player holds a Picture Loss Indication (PT 206, FMT 1). */
export function hasPli(rtcp: Uint8Array): boolean {
  let at = 0;
  while (at + 4 <= rtcp.byteLength) {
    const fmt = rtcp[at]! & 0x1f;
    const pt = rtcp[at + 1]!;
    if (rtcp[at]! >> 6 !== 2) return false;
    if (pt === 206 && fmt === 1) return true;
    at += (((rtcp[at + 2]! << 8) | rtcp[at + 3]!) + 1) * 4;
  }
  return false;
}
