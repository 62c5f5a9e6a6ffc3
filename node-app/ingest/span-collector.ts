// A few bytes at a known offset of a growing stream, gathered from the chunks as they pass (the bytes may span several).

/**
 * Gathers into a fixed buffer, so a header read across chunk edges costs no allocation
 * and the chunks themselves are not kept.
 */
export class SpanCollector {
  /** The bytes gathered so far (the first `got` of them). */
  readonly bytes: Uint8Array;
  #at = 0;
  #len = 0;
  #got = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Bytes wanted in all. */
  get length(): number {
    return this.#len;
  }

  /** Bytes gathered so far. */
  get got(): number {
    return this.#got;
  }

  /** Starts gathering `len` bytes (at most the capacity) from absolute offset `at`. */
  begin(at: number, len: number): void {
    this.#at = at;
    this.#len = len;
    this.#got = 0;
  }

  /** Takes what it still wants from `chunk` (which starts at absolute offset `start`); returns the new count. */
  fill(chunk: Uint8Array, start: number): number {
    const got = this.#got;
    const want = this.#at + got;
    const end = start + chunk.byteLength;
    if (want < start || want >= end || got >= this.#len) return got;
    const n = Math.min(this.#len - got, end - want);
    for (let i = 0; i < n; i++) this.bytes[got + i] = chunk[want - start + i]!;
    this.#got = got + n;
    return this.#got;
  }
}
