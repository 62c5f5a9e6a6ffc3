// A Cluster's start time, read from its first child (a Timecode) as that child's bytes arrive.
import { HeaderRead, type HeaderSlot, readHeaderInto } from './ebml-stream.js';
import { SpanCollector } from './span-collector.js';

/** A Cluster's Timecode as its first child: id 0xE7 (1 byte), a size vint (up to 8), at most 8 bytes of value. */
const TIMECODE_ID = 0xe7;
const MAX_TIMECODE_BYTES = 17;
const DEFAULT_TIMECODE_SCALE_NS = 1_000_000;

/**
 * Reads one Cluster's Timecode at a time; a Cluster whose first child is not a plain
 * Timecode has no time (the read just ends).
 */
export class ClusterTimecode {
  /** Nanoseconds a Timecode tick lasts (the Info's TimecodeScale; 1 ms unless it says otherwise). */
  scaleNs = DEFAULT_TIMECODE_SCALE_NS;
  #active = false;
  readonly #span = new SpanCollector(MAX_TIMECODE_BYTES);
  readonly #head: HeaderSlot = { id: 0, size: 0, headerBytes: 0 };

  /** A Timecode is being collected. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Starts reading the Timecode at `dataStart` (a Cluster's data start), from `chunk` (starting at
   * absolute offset `start`) and later chunks; returns its time in ms of media time once whole.
   */
  begin(dataStart: number, chunk: Uint8Array, start: number): number | undefined {
    this.#active = true;
    this.#span.begin(dataStart, MAX_TIMECODE_BYTES);
    return this.fill(chunk, start);
  }

  /** Bytes `chunk` (starting at absolute offset `start`) for the Timecode being collected; its ms once whole. */
  fill(chunk: Uint8Array, start: number): number | undefined {
    const before = this.#span.got;
    const got = this.#span.fill(chunk, start);
    if (got === before) return undefined;
    const h = this.#head;
    const bytes = this.#span.bytes;
    const read = readHeaderInto(bytes, 0, got, h);
    if (read === HeaderRead.short) return undefined;
    if (read === HeaderRead.bad || h.id !== TIMECODE_ID || h.size <= 0 || h.size > 8) {
      this.#active = false;
      return undefined;
    }
    if (got < h.headerBytes + h.size) return undefined;
    this.#active = false;
    let ticks = 0;
    for (let i = h.headerBytes; i < h.headerBytes + h.size; i++) ticks = ticks * 256 + bytes[i]!;
    return (ticks * this.scaleNs) / 1e6;
  }

  /** Stops reading (the walk stopped). */
  cancel(): void {
    this.#active = false;
  }
}
