// Cuts a ByteSource into full-size media frames: block-aligned reads, one read ahead, no extra copies.
import { BLOCK_BYTES, type ByteSource } from '../contracts.js';
import { MAX_MEDIA_PAYLOAD_BYTES, allocMediaFrame } from '../../signaling/protocol/frames.js';

/**
 * Blocks per source read. Two 64 KiB blocks halve the read calls of one-block reads;
 * with one read in flight and one frame's remainder, a session holds at most
 * ~320 KiB of media in memory besides what the channel has queued.
 */
export const READ_BLOCKS = 2;

export interface MediaFrameOut {
  /** The encoded frame, ready for the channel. */
  frame: Uint8Array;
  /** Offset of the first payload byte. */
  at: number;
  /** Payload bytes in the frame. */
  bytes: number;
}

export class FrameReader {
  readonly #source: ByteSource;
  /** Offset of the next frame's first byte; #queue holds the bytes from here on. */
  #next: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ahead: { at: number; read: Promise<Uint8Array> } | null = null;
  #epoch = 0;

  constructor(source: ByteSource, offset: number) {
    this.#source = source;
    this.#next = offset;
  }

  /** Where the next frame starts. */
  get offset(): number {
    return this.#next;
  }

  /** Forget what was read ahead and continue from `offset`. */
  seek(offset: number): void {
    this.#epoch++;
    this.#next = offset;
    this.#queue = [];
    this.#queued = 0;
    this.#ahead = null;
  }

  /**
   * The next frame (up to the `size` bytes available now), or null when nothing could
   * be read or a seek happened while reading. Read errors reject.
   */
  async next(size: number): Promise<MediaFrameOut | null> {
    const epoch = this.#epoch;
    while (this.#queued < MAX_MEDIA_PAYLOAD_BYTES) {
      const at = this.#next + this.#queued;
      if (at >= size) break;
      const bytes = await this.#read(at, size);
      if (epoch !== this.#epoch) return null;
      if (bytes.byteLength === 0) break;
      this.#queue.push(bytes);
      this.#queued += bytes.byteLength;
    }
    const n = Math.min(MAX_MEDIA_PAYLOAD_BYTES, this.#queued);
    if (n === 0) return null;
    const at = this.#next;
    const { frame, payload } = allocMediaFrame(at, n);
    let filled = 0;
    while (filled < n) {
      const head = this.#queue[0]!;
      const take = Math.min(head.byteLength, n - filled);
      payload.set(take === head.byteLength ? head : head.subarray(0, take), filled);
      filled += take;
      if (take === head.byteLength) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
    }
    this.#queued -= n;
    this.#next += n;
    // Start the following read now, so it overlaps with sending this frame.
    const following = this.#next + this.#queued;
    if (this.#queued < MAX_MEDIA_PAYLOAD_BYTES && following < size && !this.#ahead) this.#ahead = this.#start(following, size);
    return { frame, at, bytes: n };
  }

  #read(at: number, size: number): Promise<Uint8Array> {
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead && ahead.at === at) return ahead.read;
    return this.#start(at, size).read;
  }

  #start(at: number, size: number): { at: number; read: Promise<Uint8Array> } {
    // Reads end on a block boundary (what the cache stores), a few blocks at a time.
    const end = Math.min(size, (Math.floor(at / BLOCK_BYTES) + READ_BLOCKS) * BLOCK_BYTES);
    const read = this.#source.read(at, end - at);
    // A read-ahead dropped by a seek must not surface as an unhandled rejection.
    read.catch(() => undefined);
    return { at, read };
  }
}
