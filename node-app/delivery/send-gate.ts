// The pace of one viewer's sends: one write outstanding at a time (the backpressure), and sleeps — pacing waits,
// live polls — that a seek, a resume or close cuts short. A pending write is cut short only by close.
import type { Peer } from '../webrtc/peer.js';

/** simple-peer calls a write back once the channel's buffer is at or under this (its MAX_BUFFERED_AMOUNT). */
export const CHANNEL_LOW_BYTES = 64 * 1024;
/** How often a write held for a full channel looks whether it drained, ms. */
const DRAIN_POLL_MS = 10;

export class SendGate {
  readonly #now: () => number;
  #wake: (() => void) | null = null;
  #pendingSince: number | null = null;
  /** Ms spent with a write waiting on the viewer, completed writes only. */
  #blockedMs = 0;
  #maxQueued = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** When the write outstanding was made, or null when none is. */
  get writePendingSince(): number | null {
    return this.#pendingSince;
  }

  get blockedMs(): number {
    return this.#blockedMs;
  }

  /** The most bytes seen queued in the peer's send buffer right after a write. */
  get maxQueued(): number {
    return this.#maxQueued;
  }

  /**
   * Resolves when the peer accepts more (`done` runs first, whatever the outcome); rejects with the write's error.
   * A frame goes only onto a channel at or under CHANNEL_LOW_BYTES: simple-peer can call a write back on a stale
   * `bufferedamountlow` (the native event of an earlier dip, delivered after the channel filled again), which let
   * a third 64-KiB frame in (196,608 bytes queued, over MAX_QUEUED_BYTES, in CI).
   */
  write(peer: Peer, frame: Uint8Array, done: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pendingSince = this.#now();
      this.#wake = resolve;
      const send = (): void => {
        peer.write(frame, (err?: Error | null) => {
          if (this.#pendingSince !== null) this.#blockedMs += this.#now() - this.#pendingSince;
          this.#pendingSince = null;
          this.#wake = null;
          done();
          if (err) reject(err);
          else resolve();
        });
        this.#maxQueued = Math.max(this.#maxQueued, peer.bufferSize);
      };
      if (peer.bufferSize <= CHANNEL_LOW_BYTES) return send();
      const poll = setInterval(() => {
        // Closing woke the write: it is not sent.
        if (this.#wake !== resolve) return clearInterval(poll);
        if (peer.bufferSize > CHANNEL_LOW_BYTES) return;
        clearInterval(poll);
        send();
      }, DRAIN_POLL_MS);
    });
  }

  /** Sleeps `ms`, or until `until` settles (a live source grew) when that comes first. */
  sleep(ms: number, until?: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      let over = false;
      const end = (): void => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        if (this.#wake === end) this.#wake = null;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.#wake = end;
      until?.then(end, end);
    });
  }

  /** Cuts a sleep short; a pending write only when `closing` (one write outstanding is the backpressure). */
  wakeUp(closing: boolean): void {
    const wake = this.#wake;
    if (!wake || (this.#pendingSince !== null && !closing)) return;
    this.#wake = null;
    wake();
  }
}
