// The bytes a header walk reads during one push: the start of a header kept from the pushes before, then the chunk.
import { concatBytes } from '../../common/ebml-header.js';
import { HeaderRead, type HeaderSlot, readHeaderInto } from './ebml-stream.js';

/** Longest element header: a 4-byte id and an 8-byte size. */
const MAX_HEADER_BYTES = 12;
const NO_BYTES = new Uint8Array(0);

/**
 * Keeps fewer bytes than a header's between pushes, never a chunk: a walk that skips
 * payloads costs a few bytes of memory whatever the chunk sizes.
 */
export class HeaderWindow {
  /** The bytes being walked during a push (the bytes kept from earlier pushes, then the chunk), from absolute offset `at`. */
  bytes: Uint8Array = NO_BYTES;
  at = 0;
  /** Unparsed bytes kept between pushes: fewer than a header's (#keptLen of them). */
  readonly #keep = new Uint8Array(MAX_HEADER_BYTES);
  #keptLen = 0;

  /** Bytes kept from the pushes before: the start of a header not read yet. */
  get kept(): number {
    return this.#keptLen;
  }

  /** A push of `chunk` (from absolute offset `start`): the window is the bytes kept, which lie just before it, then the chunk. */
  open(chunk: Uint8Array, start: number): void {
    if (this.#keptLen > 0) {
      this.bytes = concatBytes(this.#keep.subarray(0, this.#keptLen), chunk);
      this.at = start - this.#keptLen;
    } else {
      this.bytes = chunk;
      this.at = start;
    }
    this.#keptLen = 0;
  }

  /**
   * Reads the header at absolute offset `pos` into `h`. A header still short although a longest
   * header's bytes of the stream are there (`available`, from `pos`) is bad.
   */
  read(pos: number, available: number, h: HeaderSlot): HeaderRead {
    const read = readHeaderInto(this.bytes, pos - this.at, this.bytes.byteLength, h);
    return read === HeaderRead.short && available >= MAX_HEADER_BYTES ? HeaderRead.bad : read;
  }

  /** The push ends: the bytes from `keepFrom` on (part of a header) are kept when it is given; the chunk is let go. */
  close(keepFrom: number | undefined): void {
    if (keepFrom !== undefined) {
      const from = keepFrom - this.at;
      this.#keptLen = this.bytes.byteLength - from;
      for (let i = 0; i < this.#keptLen; i++) this.#keep[i] = this.bytes[from + i]!;
    }
    this.bytes = NO_BYTES;
  }

  /** Forgets the bytes kept (the walk stopped). */
  drop(): void {
    this.#keptLen = 0;
  }
}
