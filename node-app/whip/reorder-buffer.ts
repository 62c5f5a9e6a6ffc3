// One WHIP track's RTP packets back in sequence order: held while a hole may still fill, let go as lost past a wait.

/** What the buffer reads of a packet (werift's RtpPacket has it). */
export interface SequencedPacket {
  header: { sequenceNumber: number; timestamp: number };
}

export interface ReorderOutput<P> {
  /** A packet, in sequence order. */
  rtp?: P;
  /** Packets from `from` to `to` (sequence numbers, inclusive) are given up as lost; the packets after them follow. */
  isPacketLost?: { from: number; to: number };
}

export interface ReorderOptions {
  /** How long a hole is waited for, in the RTP time of the packets that arrive meanwhile, ms. */
  latencyMs: number;
  /** Packets held at most: a packet this far or further ahead of the one expected restarts the order from it. */
  maxPackets: number;
}

/**
 * Replaces werift's JitterBufferBase, whose release walked sequence numbers one by one from where it stood to the
 * newest packet let go (up to 65,535 steps) and counted what it held at each step: a publisher that sent 512 packets
 * spread half the sequence space ahead, then one a second later, took 800 ms of the media server's single thread per
 * round (1.6 ms a packet, a few hundred kbit/s; found by review attack30). Here a packet is held only while it is
 * fewer than `maxPackets` ahead of the one expected, so each release sorts at most that many, and a packet that is
 * further ahead (a sender that restarted its numbering) starts the order again at once.
 */
export class ReorderBuffer<P extends SequencedPacket> {
  readonly #waitTicks: number;
  readonly #max: number;
  /** The sequence number expected next; undefined before the first packet. */
  #next: number | undefined;
  /** Packets ahead of #next, by sequence number (each within #max of it). */
  readonly #held = new Map<number, P>();

  constructor(clockRateHz: number, o: ReorderOptions) {
    this.#waitTicks = (o.latencyMs * clockRateHz) / 1000;
    this.#max = o.maxPackets;
  }

  /** Packets held now. */
  get size(): number {
    return this.#held.size;
  }

  /** One packet as it arrived; returns what can go on, in order. A packet behind the one expected (late, or again) is dropped. */
  push(rtp: P): ReorderOutput<P>[] {
    const seq = rtp.header.sequenceNumber;
    const out: ReorderOutput<P>[] = [];
    if (this.#next === undefined) {
      this.#next = (seq + 1) & 0xffff;
      return [{ rtp }];
    }
    const ahead = (seq - this.#next) & 0xffff;
    if (ahead >= 0x8000) return out;
    if (ahead >= this.#max) {
      // Too far ahead to wait for what lies between: given up, and the order starts again here.
      out.push({ isPacketLost: { from: this.#next, to: (seq - 1) & 0xffff } });
      for (const p of this.#inOrder(this.#held.values())) out.push({ rtp: p });
      this.#held.clear();
      this.#next = (seq + 1) & 0xffff;
      out.push({ rtp });
      return out;
    }
    if (ahead === 0) {
      out.push({ rtp });
      this.#next = (seq + 1) & 0xffff;
      this.#drain(out);
    } else this.#held.set(seq, rtp);
    this.#expire(rtp.header.timestamp, out);
    return out;
  }

  /** Lets go of the held packets that follow #next without a hole. */
  #drain(out: ReorderOutput<P>[]): void {
    for (let p = this.#held.get(this.#next!); p !== undefined; p = this.#held.get(this.#next!)) {
      this.#held.delete(this.#next!);
      out.push({ rtp: p });
      this.#next = (this.#next! + 1) & 0xffff;
    }
  }

  /**
   * A held packet older than the wait (its RTP time `waitTicks` or more before `timestamp`, the newest packet's): the
   * hole before it is given up; it and every held packet before it go on, in order.
   */
  #expire(timestamp: number, out: ReorderOutput<P>[]): void {
    let last: number | undefined;
    for (const [seq, p] of this.#held) {
      const age = (timestamp - p.header.timestamp) >>> 0;
      if (age < 0x80000000 && age > this.#waitTicks && (last === undefined || this.#ahead(seq) > this.#ahead(last))) last = seq;
    }
    if (last === undefined) return;
    out.push({ isPacketLost: { from: this.#next!, to: (last - 1) & 0xffff } });
    const upTo = this.#ahead(last);
    const going = [...this.#held.values()].filter((p) => this.#ahead(p.header.sequenceNumber) <= upTo);
    for (const p of this.#inOrder(going)) {
      this.#held.delete(p.header.sequenceNumber);
      out.push({ rtp: p });
    }
    this.#next = (last + 1) & 0xffff;
    this.#drain(out);
  }

  #ahead(seq: number): number {
    return (seq - this.#next!) & 0xffff;
  }

  #inOrder(packets: Iterable<P>): P[] {
    return [...packets].sort((a, b) => this.#ahead(a.header.sequenceNumber) - this.#ahead(b.header.sequenceNumber));
  }
}
