// Readers waiting at a live stream's newest byte: each is woken as soon as the stream grows or ends, or at
// its timeout — so a live viewer gets a chunk when it is written, not up to a poll interval later.

export class EdgeWaiters {
  readonly #waiting = new Set<() => void>();

  /** Readers waiting now (one per live session at the edge; sessions are bounded by the server's slots). */
  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves at the next `wakeAll()`, or after `timeoutMs` at the latest. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiting.add(done);
    });
  }

  wakeAll(): void {
    for (const done of [...this.#waiting]) done();
  }
}
