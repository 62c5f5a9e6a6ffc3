// A live stream's recent bytes in memory (chunks accepted but not written, blocks written but kept): live viewers
// read the edge without touching the disk. Apart from the writer because it is pure bookkeeping, bounded on its own.

/** Recent bytes kept in memory, so live viewers read the edge without touching the disk. */
export const TAIL_BYTES = 8 * 1024 * 1024;
/**
 * Written blocks kept in the tail at most, whatever their size: each flush adds one,
 * so this is minutes of stream at the fsync interval, and a bound on per-entry overhead.
 */
export const MAX_TAIL_ENTRIES = 1024;
/**
 * Accepted chunks waiting for the next flush at most; past this they are copied into
 * one buffer, so tiny chunks cost their bytes and not ~300 B of bookkeeping each.
 */
export const MAX_PENDING_CHUNKS = 1024;

interface TailChunk {
  offset: number;
  bytes: Uint8Array;
}

/** Accepted bytes waiting to be written: one chunk, or several after a compaction. */
export interface PendingBlock extends TailChunk {
  /** Sequence number of the last chunk in `bytes` (several after a compaction). */
  lastSeq: number;
}

/**
 * The bytes from `start` to the stream's end: written blocks (one per flush, oldest
 * first) followed by accepted chunks not written yet. Blocks leave from the front once
 * they are on disk and over the byte budget or MAX_TAIL_ENTRIES.
 */
export class WriteTail {
  readonly #budgetBytes: number;
  /** Written blocks (one per flush), oldest first. */
  readonly #tail: TailChunk[] = [];
  /** Accepted chunks not written yet, in order, after the tail. */
  #pending: PendingBlock[] = [];
  #start = 0;
  #total = 0;

  constructor(budgetBytes = TAIL_BYTES) {
    this.#budgetBytes = budgetBytes;
  }

  /** The first byte held in memory; everything below it is on disk. */
  get start(): number {
    return this.#start;
  }

  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /** Adds accepted chunk `seq` (its bytes follow the previous chunk's). */
  accept(seq: number, offset: number, bytes: Uint8Array): void {
    this.#pending.push({ offset, bytes, lastSeq: seq });
    this.#total += bytes.byteLength;
    if (this.#pending.length > MAX_PENDING_CHUNKS) this.#pending = [coalesce(this.#pending)];
  }

  /**
   * Every pending chunk as one block, to be written now. The block joins the written
   * blocks at once: readers of these bytes find them in memory while the write runs.
   */
  takePending(): PendingBlock {
    const block = coalesce(this.#pending);
    this.#pending = [];
    this.#tail.push({ offset: block.offset, bytes: block.bytes });
    return block;
  }

  /** Bytes `offset` to `end` (both at or above `start`). */
  read(offset: number, end: number): Uint8Array {
    const out = new Uint8Array(end - offset);
    for (const c of [...this.#tail, ...this.#pending]) {
      const cEnd = c.offset + c.bytes.byteLength;
      if (cEnd <= offset) continue;
      if (c.offset >= end) break;
      const from = Math.max(offset, c.offset);
      const to = Math.min(end, cEnd);
      out.set(c.bytes.subarray(from - c.offset, to - c.offset), from - offset);
    }
    return out;
  }

  /** Drops the oldest blocks already on disk (below `diskBytes`) beyond the byte budget or MAX_TAIL_ENTRIES. */
  trim(diskBytes: number): void {
    while (this.#tail.length > 1) {
      const first = this.#tail[0]!;
      const end = first.offset + first.bytes.byteLength;
      if (end > diskBytes || (this.#tail.length <= MAX_TAIL_ENTRIES && this.#total - first.bytes.byteLength < this.#budgetBytes)) break;
      this.#tail.shift();
      this.#total -= first.bytes.byteLength;
      this.#start = end;
    }
  }
}

/** One chunk holding `chunks` (consecutive, in order): the only copy tiny chunks ever get. */
function coalesce(chunks: PendingBlock[]): PendingBlock {
  const last = chunks[chunks.length - 1]!;
  if (chunks.length === 1) return last;
  return { offset: chunks[0]!.offset, bytes: Buffer.concat(chunks.map((c) => c.bytes)), lastSeq: last.lastSeq };
}
