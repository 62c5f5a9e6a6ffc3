// Streams finalized on this server moments ago, held (their writer and file open) so their own publisher may carry
// them on: OBS sends DELETE and then a new POST when it reconnects after a lost connection.

/**
 * How long a finalized stream is held, ms. Longer than the hub's window for carrying one on (WHIP_RESUME_WINDOW_MS),
 * so a reopen the hub grants finds the copy still held.
 */
export const FINISHED_KEPT_MS = 45_000;
/** Finished streams held at once (each keeps its file open); past this the oldest is let go. */
export const MAX_FINISHED_KEPT = 64;

/** What is held of one finished stream: let go closes it. */
export interface Finished {
  letGo(): Promise<void>;
}

/** At most `max` finished streams by id, each for `keptMs`; the oldest is let go first. */
export class FinishedStreams<T extends Finished> {
  readonly #held = new Map<string, { item: T; timer: ReturnType<typeof setTimeout> }>();
  readonly #max: number;
  readonly #keptMs: number;

  constructor(max = MAX_FINISHED_KEPT, keptMs = FINISHED_KEPT_MS) {
    this.#max = max;
    this.#keptMs = keptMs;
  }

  get size(): number {
    return this.#held.size;
  }

  get(id: string): T | undefined {
    return this.#held.get(id)?.item;
  }

  /** Holds `item` under `id` (one held before under it is let go). */
  hold(id: string, item: T): void {
    void this.letGo(id);
    while (this.#held.size >= this.#max) void this.letGo(this.#held.keys().next().value!);
    const timer = setTimeout(() => void this.letGo(id), this.#keptMs);
    timer.unref?.();
    this.#held.set(id, { item, timer });
  }

  /** No longer held, and not let go: the caller carries it on. */
  take(id: string): T | undefined {
    const h = this.#held.get(id);
    if (!h) return undefined;
    clearTimeout(h.timer);
    this.#held.delete(id);
    return h.item;
  }

  /** Lets the one held under `id` go (closed), if any. */
  letGo(id: string): Promise<void> {
    return this.take(id)?.letGo() ?? Promise.resolve();
  }

  /** Lets every one go. */
  clear(): Promise<void> {
    return Promise.all([...this.#held.keys()].map((id) => this.letGo(id))).then(() => undefined);
  }
}
