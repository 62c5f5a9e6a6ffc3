// Turns media frames (which may repeat or, after a seek, be stale) into one in-order byte stream.

export type Accepted =
  /** New bytes starting exactly at the previous `expected`. */
  | { kind: 'data'; offset: number; bytes: Uint8Array }
  /** Nothing new (a repeat, or a stale frame while a seek is pending). */
  | { kind: 'drop' }
  /** Bytes are missing before this frame: the sender must be asked to resend. */
  | { kind: 'gap'; expected: number; got: number };

/**
 * Accepts any frame that covers the next expected byte, trimming what was already
 * seen, so a resumed or re-sent range never plays twice. Frames are identified by
 * byte offset only: the same offset of the same asset is the same bytes.
 */
export class ByteCursor {
  #expected: number;
  #seekPending = false;
  /** Waiting to learn where the stream continues (a seek by time): every frame is dropped until `confirmAt`. */
  #awaiting = false;

  constructor(offset = 0) {
    this.#expected = offset;
  }

  /** The next byte the consumer needs (= bytes delivered when starting at 0). */
  get expected(): number {
    return this.#expected;
  }

  get seekPending(): boolean {
    return this.#seekPending || this.#awaiting;
  }

  /** Jump to `offset`; frames that do not cover it are dropped until `confirm()`. */
  seek(offset: number): void {
    this.#awaiting = false;
    this.#expected = offset;
    this.#seekPending = true;
  }

  /** The sender acknowledged the seek: from now on a frame past `expected` is a real gap. */
  confirm(): void {
    if (!this.#awaiting) this.#seekPending = false;
  }

  /** Jump to a position the sender will name (a seek by time): drop every frame until `confirmAt`. */
  awaitPosition(): void {
    this.#awaiting = true;
    this.#seekPending = true;
  }

  /** The sender named where the stream continues: bytes from `offset` on are accepted. */
  confirmAt(offset: number): void {
    this.#awaiting = false;
    this.#seekPending = false;
    this.#expected = offset;
  }

  accept(offset: number, payload: Uint8Array): Accepted {
    if (this.#awaiting) return { kind: 'drop' };
    const end = offset + payload.byteLength;
    if (end <= this.#expected) return { kind: 'drop' };
    if (offset > this.#expected) {
      return this.#seekPending ? { kind: 'drop' } : { kind: 'gap', expected: this.#expected, got: offset };
    }
    const bytes = offset === this.#expected ? payload : payload.subarray(this.#expected - offset);
    const at = this.#expected;
    this.#expected = end;
    return { kind: 'data', offset: at, bytes };
  }
}
