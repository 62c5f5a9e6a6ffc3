// Tells a publisher that floods the ingest channel with tiny chunks from one that sends media.

/** Chunks per second any publisher may send, whatever their size. */
export const BASE_CHUNKS_PER_S = 1_000;
/** ...plus one chunk per this many payload bytes received in the same second. */
export const BYTES_PER_EXTRA_CHUNK = 256;
const WINDOW_MS = 1_000;

/**
 * Counts chunks per one-second window. A real MediaRecorder at 100 ms slices
 * sends ~10 chunks a second, `baton publish --fast` full 64 KiB frames, and a
 * publisher re-sending its buffer after a failover sends its recorded chunks
 * back to back: chunks that average ≥ 256 B pay for themselves and are never
 * counted against the base. A flood of tiny chunks earns nothing and is over
 * the bound within a second. Pure: the caller passes `now`.
 */
export class ChunkFloodMeter {
  #windowStart = -Infinity;
  #chunks = 0;
  #bytes = 0;

  /** Count one chunk of `bytes` at `now` (ms); true when the window is over its allowance. */
  record(bytes: number, now: number): boolean {
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#chunks = 0;
      this.#bytes = 0;
    }
    this.#chunks++;
    this.#bytes += bytes;
    return this.#chunks > BASE_CHUNKS_PER_S + Math.floor(this.#bytes / BYTES_PER_EXTRA_CHUNK);
  }
}
