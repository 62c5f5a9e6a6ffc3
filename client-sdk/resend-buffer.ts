// A publisher's resend buffer: the stream's chunks, framed once, kept until every
// upload acknowledged them and the buffer is over its byte capacity, so a server that
// joins late (a replacement) can be filled from chunk 0 while the stream so far fits.
import { MAX_CHUNK_PAYLOAD_BYTES, encodeChunk } from '../signaling/protocol/ingest-frames.js';

export interface Frame {
  seq: number;
  /** Stream offset of its first byte. */
  offset: number;
  /** Stream bytes in it (the encoded frame adds a header). */
  size: number;
  encoded: Uint8Array;
}

export class ResendBuffer {
  /** Bytes kept at most once every upload acknowledged them. */
  readonly capacity: number;
  #frames: Frame[] = [];
  #bufferedBytes = 0;
  #nextSeq = 0;
  #bytes = 0;
  #roomWaiters: Array<() => void> = [];
  readonly #startSeq: number;
  /** Stream bytes before `#startSeq` (a copy continued from a server's: `startAt.bytes`). */
  readonly #startBytes: number;
  /** Stream offset of every chunk pushed (by `seq - #startSeq`), when the stream can be read again; null otherwise. */
  readonly #offsets: number[] | null;

  /**
   * `startAt`: continue a copy a server already holds (the first chunk gets this sequence number and offset).
   * `rereadable`: the stream's bytes can be read again (a file): chunks dropped from memory stay resendable
   * (`frameAt`), at the cost of one offset per chunk. With both, the chunks before `startAt` are resendable too, read
   * from the copy continued (a new server is filled from byte 0): their first offsets are not known here, so those
   * `startAt.seq` chunks split its `startAt.bytes` evenly (a server checks only that each chunk starts where the one
   * before ended; the even split's chunks are no larger than the largest of the copy's own).
   */
  constructor(capacityBytes: number, startAt?: { seq: number; bytes: number }, rereadable = false) {
    this.capacity = capacityBytes;
    this.#nextSeq = this.#startSeq = startAt?.seq ?? 0;
    this.#bytes = this.#startBytes = startAt?.bytes ?? 0;
    this.#offsets = rereadable ? [] : null;
  }

  /** Stream bytes pushed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Stream bytes held for resending. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Sequence number the next chunk will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** The oldest chunk still held (= `nextSeq` when empty): a server needing older ones cannot be filled. */
  get firstSeq(): number {
    return this.#frames[0]?.seq ?? this.#nextSeq;
  }

  /** The oldest chunk a server can still be sent: chunk 0 when the stream can be read again, else `firstSeq`. */
  get resendFrom(): number {
    return this.#offsets ? 0 : this.firstSeq;
  }

  /** The first chunk pushed here: where the copy continued (`startAt`) ends, 0 for a new stream. */
  get startSeq(): number {
    return this.#startSeq;
  }

  /** Frames `chunk` (split at the largest payload a frame carries) and keeps it. */
  push(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.byteLength; at += MAX_CHUNK_PAYLOAD_BYTES) {
      const payload = chunk.subarray(at, Math.min(chunk.byteLength, at + MAX_CHUNK_PAYLOAD_BYTES));
      this.#offsets?.push(this.#bytes);
      this.#frames.push({
        seq: this.#nextSeq,
        offset: this.#bytes,
        size: payload.byteLength,
        encoded: encodeChunk(this.#nextSeq, this.#bytes, payload),
      });
      this.#nextSeq++;
      this.#bytes += payload.byteLength;
      this.#bufferedBytes += payload.byteLength;
    }
  }

  /** The frame of `seq`, if still held. */
  frame(seq: number): Frame | undefined {
    return this.#frames[seq - this.firstSeq];
  }

  /** Stream offset at which chunk `seq` starts (`bytes` for the next one); undefined if no longer held or known. */
  offsetOf(seq: number): number | undefined {
    if (seq === this.#nextSeq) return this.#bytes;
    const held = this.frame(seq)?.offset;
    if (held !== undefined || !this.#offsets || !Number.isInteger(seq) || seq < 0 || seq >= this.#nextSeq) return held;
    if (seq >= this.#startSeq) return this.#offsets[seq - this.#startSeq];
    // Before startAt: the even split (exact in integers while startSeq² < 2⁵³, ≈ 9·10⁷ chunks).
    const n = this.#startSeq;
    return seq * Math.floor(this.#startBytes / n) + Math.floor((seq * (this.#startBytes % n)) / n);
  }

  /**
   * The frame of `seq`: held, or, when the stream can be read again, made anew from `read(offset, length)`;
   * undefined when neither (or when the read comes back short).
   */
  async frameAt(seq: number, read: (offset: number, length: number) => Promise<Uint8Array>): Promise<Frame | undefined> {
    const held = this.frame(seq);
    const offset = this.offsetOf(seq);
    if (held || offset === undefined || seq >= this.#nextSeq) return held;
    const size = (this.offsetOf(seq + 1) ?? this.#bytes) - offset;
    const payload = await read(offset, size);
    if (payload.byteLength !== size) return undefined;
    return { seq, offset, size, encoded: encodeChunk(seq, offset, payload) };
  }

  /**
   * Drops frames up to `ackedFloor` (the lowest sequence every live upload acknowledged)
   * while the buffer is over capacity; wakes `waitForRoom` once it is not (or when `release`).
   */
  trim(ackedFloor: number, release = false): void {
    let drop = 0;
    let bytes = this.#bufferedBytes;
    while (drop < this.#frames.length && bytes > this.capacity && this.#frames[drop]!.seq <= ackedFloor)
      bytes -= this.#frames[drop++]!.size;
    if (drop > 0) {
      this.#frames = this.#frames.slice(drop);
      this.#bufferedBytes = bytes;
    }
    if (this.#bufferedBytes <= this.capacity || release) for (const w of this.#roomWaiters.splice(0)) w();
  }

  /** Resolves the next time `trim` finds room (or `clear` runs). */
  waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Forget every frame and wake every waiter. */
  clear(): void {
    this.#frames = [];
    this.#bufferedBytes = 0;
    for (const w of this.#roomWaiters.splice(0)) w();
  }
}
