// The pace of one viewer's sends: one write outstanding at a time (the backpressure), and sleeps — pacing waits,
// live polls — that a seek, a resume or close cuts short. A pending write is cut short only by close.
import type { Peer } from '../webrtc/peer.js';

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

  /** Resolves when the peer accepts more (`done` runs first, whatever the outcome); rejects with the write's error. */
  write(peer: Peer, frame: Uint8Array, done: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pendingSince = this.#now();
      this.#wake = resolve;
      peer.write(frame, (err?: Error | null) => {
        if (this.#pendingSince !== null) this.#blockedMs += this.#now() - this.#pendingSince;
        this.#pendingSince = null;
        this.#wake = null;
        done();
        if (err) reject(err);
        else resolve();
      });
      this.#maxQueued = Math.max(this.#maxQueued, peer.bufferSize);
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
