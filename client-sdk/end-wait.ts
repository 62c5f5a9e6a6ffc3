// What end() returns: the promise of the publish's result, settled once (stored, failed or closed), and its deadline.
import type { PublishError, PublishResult } from './publisher-types.js';

interface Waiter {
  resolve: (r: PublishResult) => void;
  reject: (e: PublishError) => void;
}

export class EndWait {
  #waiter: Waiter | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** end() waits for the result. */
  get waiting(): boolean {
    return this.#waiter !== null;
  }

  /** The promise end() returns; `timedOut` runs after `timeoutMs` unless the deadline was stopped first. */
  begin(timeoutMs: number, timedOut: () => void): Promise<PublishResult> {
    const result = new Promise<PublishResult>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    this.#timer = setTimeout(timedOut, timeoutMs);
    return result;
  }

  /** Stops the deadline. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /** Ends the wait and its deadline: the waiter, to resolve with the result (null when none waits). */
  take(): Waiter | null {
    const w = this.#waiter;
    this.#waiter = null;
    clearTimeout(this.#timer);
    return w;
  }

  /** Fails the wait, when one is pending. */
  reject(err: PublishError): void {
    this.#waiter?.reject(err);
    this.#waiter = null;
  }
}
