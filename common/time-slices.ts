// Work that arrives in bursts, run in order but in slices, so the event loop gets a turn between them: a burst of
// hub events (25 viewers' `session-open`s in one socket read, each making a WebRTC peer) otherwise ran back to back
// for seconds on a loaded machine, and the server's heartbeat timer, due every 300 ms, waited behind it until the
// hub removed the server as silent (fault row 10's failures in CI).

/** Work one slice may take before the loop gets a turn (timers, I/O). */
export const SLICE_MS = 10;
/** Tasks held at once; past this a task is refused (its `refused` runs at once, in place of it). */
export const MAX_QUEUED_TASKS = 100_000;

export interface SlicedTask {
  run: () => void;
  /** Runs instead of `run` when the queue is full (e.g. answers an ack with an error). */
  refused?: () => void;
}

export interface TimeSlicerOptions {
  /** `setImmediate` in Node: runs after the loop's pending I/O, before its next timers. */
  turn: (run: () => void) => void;
  now?: () => number;
  sliceMs?: number;
  maxQueued?: number;
  /** A task threw: the rest still run. */
  onError: (err: unknown) => void;
}

/**
 * A FIFO that runs each task at once while the current slice has time, and otherwise on a later turn of the loop.
 * Tasks pushed back to back in one turn share a slice, so a burst of any length is cut into slices of
 * `sliceMs`; a lone task runs synchronously (no added latency in the common case).
 */
export class TimeSlicer {
  readonly #o: Required<Omit<TimeSlicerOptions, 'now'>> & { now: () => number };
  readonly #queue: SlicedTask[] = [];
  #head = 0;
  /** When the current slice began; undefined once the loop turned. */
  #sliceStart: number | undefined;
  /** A turn is awaited: the queue drains then. */
  #waiting = false;
  /** The queue is being drained (a task that pushes another does not drain it again from inside). */
  #draining = false;

  constructor(o: TimeSlicerOptions) {
    this.#o = { sliceMs: SLICE_MS, maxQueued: MAX_QUEUED_TASKS, now: () => performance.now(), ...o };
  }

  /** Tasks waiting for a turn. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  push(task: SlicedTask): void {
    if (this.queued >= this.#o.maxQueued) return this.#call(task.refused ?? (() => {}));
    this.#queue.push(task);
    if (!this.#waiting && !this.#draining) this.#drain();
  }

  #drain(): void {
    this.#draining = true;
    try {
      this.#drainSlice();
    } finally {
      this.#draining = false;
    }
  }

  #drainSlice(): void {
    if (this.#sliceStart === undefined) {
      this.#sliceStart = this.#o.now();
      // The slice ends when the loop turns, whether or not it ran out.
      this.#o.turn(() => {
        this.#sliceStart = undefined;
      });
    }
    while (this.queued > 0) {
      if (this.#o.now() - this.#sliceStart >= this.#o.sliceMs) {
        this.#waiting = true;
        this.#o.turn(() => {
          this.#waiting = false;
          this.#sliceStart = undefined;
          this.#drain();
        });
        return;
      }
      const task = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as SlicedTask;
      if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#call(task.run);
    }
  }

  #call(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.#o.onError(err);
    }
  }
}
