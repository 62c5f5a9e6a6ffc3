// The bytes an MSE sink has received and not yet appended, and the back-pressure it asks of the source over them.

/** Past this many queued bytes the source is asked to pause (bytes). */
export const QUEUE_HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** Below this many queued bytes a paused source is asked to resume (bytes). */
export const QUEUE_LOW_WATER_BYTES = 2 * 1024 * 1024;

/**
 * Chunks in arrival order, taken coalesced into appends. Calls `onBackpressure(true)` once the queue
 * passes QUEUE_HIGH_WATER_BYTES and `onBackpressure(false)` once a take drains it below
 * QUEUE_LOW_WATER_BYTES (or `release`): a gap between the two marks keeps the calls few.
 */
export class AppendQueue {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #full = false;
  readonly #onBackpressure: (full: boolean) => void;

  constructor(onBackpressure: (full: boolean) => void) {
    this.#onBackpressure = onBackpressure;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.#chunks.length === 0;
  }

  /** Queues the next bytes of the stream. */
  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#bytes += bytes.byteLength;
    if (!this.#full && this.#bytes > QUEUE_HIGH_WATER_BYTES) {
      this.#full = true;
      this.#onBackpressure(true);
    }
  }

  /** Coalesces queued chunks into one append of at most `max` bytes (at least one chunk). */
  take(max: number): Uint8Array<ArrayBuffer> {
    let size = 0;
    let count = 0;
    for (const c of this.#chunks) {
      if (count > 0 && size + c.byteLength > max) break;
      size += c.byteLength;
      count += 1;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of this.#chunks.splice(0, count)) {
      out.set(c, at);
      at += c.byteLength;
    }
    this.#bytes -= size;
    if (this.#full && this.#bytes < QUEUE_LOW_WATER_BYTES) {
      this.#full = false;
      this.#onBackpressure(false);
    }
    return out;
  }

  /** Puts back, first in line, what `take` gave for an append the browser refused (back-pressure unchanged). */
  putBack(chunk: Uint8Array): void {
    this.#chunks.unshift(chunk);
    this.#bytes += chunk.byteLength;
  }

  /** Drops every queued chunk; a paused source stays paused until `release` or a take below low water. */
  clear(): void {
    this.#chunks = [];
    this.#bytes = 0;
  }

  /** Lets a paused source send again. */
  release(): void {
    if (!this.#full) return;
    this.#full = false;
    this.#onBackpressure(false);
  }
}
