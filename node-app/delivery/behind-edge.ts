// Pacing for a session of a live stream while it reads far behind the stream's edge (a resume or a seek back, or the
// stream ended under it); near the edge the stream's own growth paces it.
import type { ByteSource } from '../contracts.js';
import { Pacer, pacingFor } from './pacer.js';

/**
 * A live stream is sent unpaced (the edge paces it: a viewer there gets bytes as the publisher sends them), but a
 * session may ask for any offset (`watch` or `play`), and the edge does not pace what lies behind it: before, one
 * anonymous viewer asking a two-hour broadcast from byte 1 got every byte of it at the link's rate, again at each
 * `play`, where a stored asset is paced at 1.5× its bitrate. Behind the edge by more than the pacing's lead (10 s at
 * the stream's average bitrate since its publish started: the cluster's clock, not the publisher's Timecodes, which
 * could make it tiny and stall every late joiner), such a session is paced as a stored asset of that bitrate is: a
 * burst (3 s of media, 1 to 8 MiB), then 1.5× the bitrate. A late joiner starts at most one keyframe interval behind
 * the edge (live-source.ts) and is not slowed; a session whose stream ended is paced the same way by its final size.
 */
export class BehindEdgePacing {
  readonly #source: ByteSource;
  readonly #now: () => number;
  /** The run while the session is behind; undefined near the edge (a new run when it falls behind again). */
  #pacer: Pacer | undefined;
  /** A seek is pending: the next run starts as it asked (a fresh burst, or a seek's grant). */
  #seekBurst: boolean | undefined;

  /** `now`: the session's clock, which its pacing counts. */
  constructor(source: ByteSource, now: () => number) {
    this.#source = source;
    this.#now = now;
  }

  /** Ms until `want` more bytes may go to a session whose next byte is `next` of `size` (0: now). */
  delayMs(next: number, size: number, want: number): number {
    const config = pacingFor(this.#source.averageBps?.());
    if (!config || size - next <= config.leadBytes) {
      this.#pacer = undefined;
      return 0;
    }
    if (!this.#pacer) {
      this.#pacer = new Pacer(config, this.#now);
      if (this.#seekBurst === false) this.#pacer.seek();
      else this.#pacer.restart();
      this.#seekBurst = undefined;
    }
    return this.#pacer.delayMs(want);
  }

  record(bytes: number): void {
    this.#pacer?.record(bytes);
  }

  /** The session moved (`play`): its next run behind the edge starts with a fresh burst only when `burst`. */
  seek(burst: boolean): void {
    this.#pacer = undefined;
    this.#seekBurst = burst;
  }

  pause(): void {
    this.#pacer?.pause();
  }

  resume(): void {
    this.#pacer?.resume();
  }
}
