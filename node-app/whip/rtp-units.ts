// One video stream's RTP payloads (in sequence order) to whole units — frames, access units — with what a unit may hold bounded.

/**
 * Packets one unit may span. A 4 MiB keyframe (MAX_FRAME_BYTES) at a 1,200-byte MTU is ≈ 3,500
 * packets; past this the unit is dropped, whatever its bytes (a flood of tiny packets).
 */
export const MAX_UNIT_PACKETS = 8_192;

export interface RtpUnitLimits {
  /** A unit holding more than this is dropped as broken, bytes. */
  maxUnitBytes: number;
  /** A unit spanning more packets than this is dropped as broken (default MAX_UNIT_PACKETS). */
  maxUnitPackets?: number;
}

/**
 * The framing every video codec's depacketizer shares. A unit ends at the marker bit or, when the
 * marker was lost, at the next timestamp. A sequence gap, a payload the codec part refuses, or a
 * unit past its bounds breaks it: what it held is let go at once, nothing more of it is kept, and
 * at its end it is counted in `dropped` — so a sender that never sets the marker (nor moves the
 * timestamp) costs a bounded amount of memory and a constant time per packet, and the caller never
 * stores a picture with missing parts.
 */
export abstract class RtpUnitAssembler<U> {
  readonly #maxBytes: number;
  readonly #maxPackets: number;
  #bytes = 0;
  #packets = 0;
  #broken = false;
  #open = false;
  #timestamp = 0;
  #timeMs = 0;
  #nextSeq: number | undefined;
  /** Units dropped as broken. */
  dropped = 0;

  constructor(limits: RtpUnitLimits) {
    this.#maxBytes = limits.maxUnitBytes;
    this.#maxPackets = limits.maxUnitPackets ?? MAX_UNIT_PACKETS;
  }

  /** One packet's payload; returns the units it completes. `timeMs`: the caller's time of the packet. */
  push(payload: Uint8Array, seq: number, rtpTimestamp: number, marker: boolean, timeMs: number): U[] {
    const out: U[] = [];
    const gap = this.#nextSeq !== undefined && seq !== this.#nextSeq;
    this.#nextSeq = (seq + 1) & 0xffff;
    // The missing packet may have ended the open unit or started this one: both are dropped.
    if (gap) this.#broken = true;
    if (this.#open && rtpTimestamp !== this.#timestamp) this.#flush(out);
    if (gap) this.break();
    if (!this.#open) {
      this.#open = true;
      this.#timestamp = rtpTimestamp;
      this.#timeMs = timeMs;
    }
    if (!this.#broken) this.take(payload);
    if (++this.#packets > this.#maxPackets || this.#bytes > this.#maxBytes) this.break();
    if (marker) this.#flush(out);
    return out;
  }

  /** Bytes kept for the unit in progress (0 once it broke). */
  get heldBytes(): number {
    return this.#bytes;
  }

  /** The codec's part: reads one payload of an unbroken unit, keeps what it needs, and counts it with `held`. */
  protected abstract take(payload: Uint8Array): void;
  /** The unit the kept parts make at its end; 'incomplete' when they do not make one (it is dropped). */
  protected abstract finish(rtpTimestamp: number, timeMs: number): U | 'incomplete' | undefined;
  /** Lets go of every kept part. */
  protected abstract clear(): void;

  /** `n` more bytes kept for the open unit (negative: let go). */
  protected held(n: number): void {
    this.#bytes += n;
  }

  /** The open unit is broken: what it kept goes now, and it is dropped at its end. */
  protected break(): void {
    this.#broken = true;
    this.#bytes = 0;
    this.clear();
  }

  #flush(out: U[]): void {
    if (this.#open) {
      const unit = this.#broken ? 'incomplete' : this.finish(this.#timestamp, this.#timeMs);
      if (unit === 'incomplete') this.dropped++;
      else if (unit !== undefined) out.push(unit);
    }
    this.clear();
    this.#bytes = 0;
    this.#packets = 0;
    this.#broken = false;
    this.#open = false;
  }
}
