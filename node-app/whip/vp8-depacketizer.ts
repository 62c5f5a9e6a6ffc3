// VP8 RTP (RFC 7741) to frames: the payload descriptor stripped, a frame's partitions joined; a gap or a bound drops the frame.
import { Buffer } from 'node:buffer';
import { RtpUnitAssembler } from './rtp-units.js';

/** One VP8 frame as the muxer takes it. */
export interface Vp8Frame {
  data: Buffer;
  /** The frame tag's key-frame flag (RFC 6386 §9.1: bit 0 clear). */
  isKeyframe: boolean;
  /** Caller's time of the frame's first packet (ms on the muxer's clock). */
  time: number;
}

/**
 * Fed one VP8 stream's RTP payloads in sequence order (after the jitter buffer), returns the frames they
 * complete; where a frame ends and what drops it is RtpUnitAssembler's. Replaces werift's DepacketizeBase,
 * which held every packet until a marker bit came and scanned all it held on each packet: a publisher that
 * never set the marker grew the server's memory without bound and took it quadratic CPU (30,000 packets,
 * 36 MB: 207 s of one core, the media server's event loop blocked until the hub dropped it).
 */
export class Vp8Depacketizer extends RtpUnitAssembler<Vp8Frame> {
  #parts: Uint8Array[] = [];
  #keyframe = false;

  protected take(p: Uint8Array): void {
    const at = descriptorBytes(p);
    if (at === undefined) return this.break();
    // The first partition's start (S set, PID 0) begins with the frame tag.
    if ((p[0]! & 0x17) === 0x10) this.#keyframe = (p[at]! & 0x01) === 0;
    this.#parts.push(p.subarray(at));
    this.held(p.byteLength - at);
  }

  protected finish(_rtpTimestamp: number, time: number): Vp8Frame | undefined {
    if (this.#parts.length === 0) return undefined;
    return { data: Buffer.concat(this.#parts), isKeyframe: this.#keyframe, time };
  }

  protected clear(): void {
    this.#parts = [];
    this.#keyframe = false;
  }
}

/** The length of a VP8 payload descriptor (RFC 7741 §4.2); undefined when the payload has none or nothing after it. */
export function descriptorBytes(p: Uint8Array): number | undefined {
  let at = 1;
  if (p.byteLength >= 2 && (p[0]! & 0x80) !== 0) {
    const x = p[at++]!;
    if (x & 0x80) at += p.byteLength > at && p[at]! & 0x80 ? 2 : 1; // I: PictureID, 15 bits when M is set
    if (x & 0x40) at++; // L: TL0PICIDX
    if (x & 0x30) at++; // T or K: TID/Y/KEYIDX
  }
  return at < p.byteLength ? at : undefined;
}
