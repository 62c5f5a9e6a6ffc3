// The answer to the offer that came with a session-open: taken for the open's ack (one relay round trip saved)
// when the peer makes it in time, else left to the relay like any signal.
export type Answer = Record<string, unknown>;

export class AnswerCapture {
  #take: ((data: unknown) => boolean) | null = null;

  /** A signal the peer made: true when it is the answer being waited for (it goes in the ack, not the relay). */
  took(data: unknown): boolean {
    return this.#take?.(data) ?? false;
  }

  /**
   * Feeds the offer (`signal`) and resolves with the answer when the peer makes it within `waitMs`,
   * else with null; at once with null when the session closed meanwhile.
   */
  wait(waitMs: number, signal: () => void, closed: () => boolean): Promise<Answer | null> {
    return new Promise((resolve) => {
      const done = (answer: Answer | null): void => {
        clearTimeout(timer);
        this.#take = null;
        resolve(answer);
      };
      const timer = setTimeout(() => done(null), waitMs);
      this.#take = (data) => {
        const d = data as { type?: unknown } | null;
        if (d?.type !== 'answer') return false;
        done(d as Answer);
        return true;
      };
      signal();
      if (closed()) done(null);
    });
  }
}
