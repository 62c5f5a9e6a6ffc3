// The newest byte offsets of a growing stream (ascending), in a fixed ring: bounded memory, no allocation per offset.

/**
 * Keeps the last `capacity` offsets pushed (each at least the one before) in a preallocated
 * Float64Array (offsets pass 2^31 in long streams). A push overwrites the oldest one.
 */
export class OffsetRing {
  readonly #slots: Float64Array;
  /** Index the next push writes. */
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    this.#slots = new Float64Array(capacity);
  }

  /** Offsets held (at most the capacity). */
  get length(): number {
    return this.#count;
  }

  push(offset: number): void {
    this.#slots[this.#next] = offset;
    this.#next = (this.#next + 1) % this.#slots.length;
    if (this.#count < this.#slots.length) this.#count++;
  }

  /** The newest offset held that is at or before `limit`, if any. */
  lastAtOrBefore(limit: number): number | undefined {
    const cap = this.#slots.length;
    for (let i = 1; i <= this.#count; i++) {
      const v = this.#slots[(this.#next - i + cap) % cap]!;
      if (v <= limit) return v;
    }
    return undefined;
  }

  /** The offsets held, oldest first (a copy). */
  toArray(): number[] {
    const cap = this.#slots.length;
    const out: number[] = [];
    for (let i = this.#count; i >= 1; i--) out.push(this.#slots[(this.#next - i + cap) % cap]!);
    return out;
  }
}
