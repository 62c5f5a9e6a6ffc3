// The bytes before a growing stream's first Cluster, kept (bounded) until it shows, then probed for the Tracks.
import { probeWebm, type WebmProbe } from '../storage/webm-probe.js';

/** Init segments longer than this are not kept for reading the Tracks (no keyframe index then). */
export const MAX_INIT_BYTES = 256 * 1024;

/** Grows its buffer as the head arrives (from 4 KB, doubling, never past MAX_INIT_BYTES). */
export class InitBytes {
  #head: Uint8Array | null = new Uint8Array(4096);
  #headBytes = 0;

  /** Still keeping bytes (no Cluster shown, not dropped). */
  get keeping(): boolean {
    return this.#head !== null;
  }

  /** Keeps the stream's first MAX_INIT_BYTES bytes (at most) until the first Cluster shows. */
  keep(bytes: Uint8Array): void {
    const head = this.#head;
    if (!head) return;
    const chunk = bytes.subarray(0, MAX_INIT_BYTES - this.#headBytes);
    const need = this.#headBytes + chunk.byteLength;
    let into = head;
    if (need > head.byteLength) {
      into = new Uint8Array(Math.min(MAX_INIT_BYTES, Math.max(need, head.byteLength * 2)));
      into.set(head.subarray(0, this.#headBytes));
      this.#head = into;
    }
    into.set(chunk, this.#headBytes);
    this.#headBytes = need;
  }

  /** The first Cluster starts at `at`: the bytes before it probed (once; the bytes are let go), if whole. */
  probe(at: number): WebmProbe | undefined {
    const head = this.#head;
    this.#head = null;
    if (!head) return undefined;
    const probe = probeWebm(head.subarray(0, Math.min(at, this.#headBytes)));
    return probe.complete ? probe : undefined;
  }

  /** Lets the bytes go (the walk stopped). */
  drop(): void {
    this.#head = null;
  }
}
