// H.264 RTP (RFC 6184, packetization modes 0 and 1) to access units: single NAL units, STAP-A, FU-A; a gap drops the unit.

import { Buffer } from 'node:buffer';
import { RtpUnitAssembler } from './rtp-units.js';

/** NAL unit types Baton looks at (ITU-T H.264 table 7-1). */
export const NalType = { idr: 5, sei: 6, sps: 7, pps: 8, aud: 9, stapA: 24, fuA: 28 } as const;

/** One access unit: the NAL units (without start codes or length prefixes) that share an RTP timestamp. */
export interface AccessUnit {
  nalus: Uint8Array[];
  /** True when it holds an IDR slice: a decoder can start here (given SPS and PPS). */
  keyframe: boolean;
  rtpTimestamp: number;
  /** Caller's time of the unit's first packet (ms on the muxer's clock). */
  timeMs: number;
}

/**
 * Fed one video stream's RTP payloads in sequence order (after the jitter buffer),
 * returns the access units they complete (see RtpUnitAssembler for where a unit ends and
 * what breaks it). A FU-A without its start or end, a malformed STAP-A or an
 * interleaved-mode packet (STAP-B, MTAP, FU-B: mode 2 is never negotiated) breaks the
 * unit too: it is dropped whole and counted in `dropped`.
 */
export class H264Depacketizer extends RtpUnitAssembler<AccessUnit> {
  #nalus: Uint8Array[] = [];
  /** FU-A fragments of the NAL unit in progress (its rebuilt header first). */
  #fu: Uint8Array[] | null = null;

  protected take(p: Uint8Array): void {
    if (p.byteLength < 1) return this.break();
    const type = p[0]! & 0x1f;
    if (type >= 1 && type <= 23) return this.#add(p);
    if (type === NalType.stapA) {
      const nalus: Uint8Array[] = [];
      for (let at = 1; at < p.byteLength; ) {
        if (at + 2 > p.byteLength) return this.break();
        const size = (p[at]! << 8) | p[at + 1]!;
        at += 2;
        if (size === 0 || at + size > p.byteLength) return this.break();
        nalus.push(p.subarray(at, at + size));
        at += size;
      }
      for (const n of nalus) this.#add(n);
      return;
    }
    if (type === NalType.fuA) {
      if (p.byteLength < 3) return this.break();
      const start = (p[1]! & 0x80) !== 0;
      const end = (p[1]! & 0x40) !== 0;
      // A start while a fragment is open: the previous one never ended. A continuation without one: its start was never seen.
      if (start === (this.#fu !== null)) return this.break();
      this.#fu ??= [Uint8Array.of((p[0]! & 0xe0) | (p[1]! & 0x1f))];
      this.#fu.push(p.subarray(2));
      this.held(p.byteLength - 2);
      if (end) {
        const nal = Buffer.concat(this.#fu);
        this.#fu = null;
        this.held(-(nal.byteLength - 1));
        this.#add(nal);
      }
      return;
    }
    // 0, 25–27, 29–31: reserved or interleaved mode only.
    this.break();
  }

  protected finish(rtpTimestamp: number, timeMs: number): AccessUnit | 'incomplete' | undefined {
    if (this.#fu) return 'incomplete';
    if (this.#nalus.length === 0) return undefined;
    return { nalus: this.#nalus, keyframe: this.#nalus.some((n) => (n[0]! & 0x1f) === NalType.idr), rtpTimestamp, timeMs };
  }

  protected clear(): void {
    this.#nalus = [];
    this.#fu = null;
  }

  #add(nal: Uint8Array): void {
    this.#nalus.push(nal);
    this.held(nal.byteLength);
  }
}
