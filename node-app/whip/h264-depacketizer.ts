// H.264 RTP (RFC 6184, packetization modes 0 and 1) to access units: single NAL units, STAP-A, FU-A; a gap drops the unit.

import { Buffer } from 'node:buffer';

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

export interface H264DepacketizerOptions {
  /** A unit larger than this is dropped as broken, bytes. */
  maxUnitBytes: number;
}

/**
 * Fed one video stream's RTP payloads in sequence order (after the jitter buffer),
 * returns the access units they complete. A unit ends at the marker bit or, when the
 * marker was lost, at the next timestamp. A sequence gap, a FU-A without its start
 * or end, a malformed STAP-A or an interleaved-mode packet (STAP-B, MTAP, FU-B: mode 2
 * is never negotiated) breaks the unit: it is dropped whole and counted in `dropped`,
 * so the caller never stores a picture with missing slices.
 */
export class H264Depacketizer {
  readonly #max: number;
  #nalus: Uint8Array[] = [];
  #bytes = 0;
  /** FU-A fragments of the NAL unit in progress (its rebuilt header first). */
  #fu: Uint8Array[] | null = null;
  #broken = false;
  #open = false;
  #timestamp = 0;
  #timeMs = 0;
  #nextSeq: number | undefined;
  dropped = 0;

  constructor(opts: H264DepacketizerOptions) {
    this.#max = opts.maxUnitBytes;
  }

  push(payload: Uint8Array, seq: number, rtpTimestamp: number, marker: boolean, timeMs: number): AccessUnit[] {
    const out: AccessUnit[] = [];
    const gap = this.#nextSeq !== undefined && seq !== this.#nextSeq;
    this.#nextSeq = (seq + 1) & 0xffff;
    // The missing packet may have ended the open unit or started this one: both are dropped.
    if (gap) this.#broken = true;
    if (this.#open && rtpTimestamp !== this.#timestamp) this.#flush(out);
    if (gap) {
      this.#broken = true;
      this.#fu = null;
    }
    if (!this.#open) {
      this.#open = true;
      this.#timestamp = rtpTimestamp;
      this.#timeMs = timeMs;
    }
    this.#payload(payload);
    if (this.#bytes > this.#max) this.#broken = true;
    if (marker) this.#flush(out);
    return out;
  }

  #payload(p: Uint8Array): void {
    if (p.byteLength < 1) return void (this.#broken = true);
    const type = p[0]! & 0x1f;
    if (type >= 1 && type <= 23) return this.#add(p);
    if (type === NalType.stapA) {
      const nalus: Uint8Array[] = [];
      for (let at = 1; at < p.byteLength; ) {
        if (at + 2 > p.byteLength) return void (this.#broken = true);
        const size = (p[at]! << 8) | p[at + 1]!;
        at += 2;
        if (size === 0 || at + size > p.byteLength) return void (this.#broken = true);
        nalus.push(p.subarray(at, at + size));
        at += size;
      }
      for (const n of nalus) this.#add(n);
      return;
    }
    if (type === NalType.fuA) {
      if (p.byteLength < 3) return void (this.#broken = true);
      const start = (p[1]! & 0x80) !== 0;
      const end = (p[1]! & 0x40) !== 0;
      if (start) {
        if (this.#fu) this.#broken = true; // the previous fragment never ended
        this.#fu = [Uint8Array.of((p[0]! & 0xe0) | (p[1]! & 0x1f))];
      } else if (!this.#fu) {
        return void (this.#broken = true);
      }
      this.#fu.push(p.subarray(2));
      this.#bytes += p.byteLength - 2;
      if (end) {
        const nal = Buffer.concat(this.#fu);
        this.#fu = null;
        this.#bytes -= nal.byteLength - 1;
        this.#add(nal);
      }
      return;
    }
    // 0, 25–27, 29–31: reserved or interleaved mode only.
    this.#broken = true;
  }

  #add(nal: Uint8Array): void {
    this.#nalus.push(nal);
    this.#bytes += nal.byteLength;
  }

  #flush(out: AccessUnit[]): void {
    if (this.#open) {
      if (this.#broken || this.#fu) this.dropped++;
      else if (this.#nalus.length > 0) {
        out.push({
          nalus: this.#nalus,
          keyframe: this.#nalus.some((n) => (n[0]! & 0x1f) === NalType.idr),
          rtpTimestamp: this.#timestamp,
          timeMs: this.#timeMs,
        });
      }
    }
    this.#nalus = [];
    this.#bytes = 0;
    this.#fu = null;
    this.#broken = false;
    this.#open = false;
  }
}
