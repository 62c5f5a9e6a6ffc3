// One broadcast's recording: a MediaRecorder whose chunks are handed on in recording order, and its end.
import { RECORDER_TIMESLICE_MS } from './broadcast-recorder.js';

export interface RecordingOptions {
  /** Whether a new chunk is still wanted (checked when the recorder hands it over). */
  wanted(): boolean;
  /** Takes a chunk's bytes, in recording order. */
  push(bytes: Uint8Array): void;
  /** The recorder failed, with the browser's message. */
  onError(message: string): void;
  /** The recorder stopped: by stop(), or because every track ended (the camera was unplugged). */
  onStop(): void;
}

export class Recording {
  readonly #recorder: MediaRecorder;
  /** Chunks reach `push` in recording order, whatever order their bytes become readable in. */
  #chain: Promise<void> = Promise.resolve();

  constructor(recorder: MediaRecorder, o: RecordingOptions) {
    this.#recorder = recorder;
    recorder.addEventListener('dataavailable', (e) => {
      if (e.data.size === 0 || !o.wanted()) return;
      const blob = e.data;
      this.#chain = this.#chain.then(async () => o.push(new Uint8Array(await blob.arrayBuffer())));
    });
    recorder.addEventListener('error', (e) => {
      o.onError((e as Event & { error?: DOMException }).error?.message ?? 'the recorder stopped');
    });
    recorder.addEventListener('stop', () => o.onStop());
  }

  start(): void {
    this.#recorder.start(RECORDER_TIMESLICE_MS);
  }

  /** Stops recording; resolves once the recorder has handed over its last chunk (which comes before `stop`). */
  async stop(): Promise<void> {
    const recorder = this.#recorder;
    if (recorder.state === 'inactive') return;
    await new Promise<void>((resolve) => {
      recorder.addEventListener('stop', () => resolve(), { once: true });
      recorder.stop();
    });
  }

  /** Resolves when every chunk handed over so far has been pushed. */
  drained(): Promise<void> {
    return this.#chain;
  }

  /** Stops recording now, without waiting for the last chunk. */
  abort(): void {
    if (this.#recorder.state === 'inactive') return;
    try {
      this.#recorder.stop();
    } catch {
      // Already stopped.
    }
  }
}
