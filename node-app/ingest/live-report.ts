// A stream's `live` entry in the state table: reported when the stream starts, then at most once per
// LIVE_REPORT_INTERVAL_MS while it grows; apart from the manager because it is a rate limit with its own timer.
import type { LiveInfo, OwnDelta } from '../../signaling/protocol/types.js';
import { ownerHash } from '../../signaling/stream-owners.js';
import type { LiveWriter } from './live-writer.js';

/** A growing stream's `live` entry is re-reported at most this often. */
export const LIVE_REPORT_INTERVAL_MS = 1_000;

/** The `live` entry for a stream: what it is, how far it got, and who owns it (the hash of its secret, never the secret). */
export function liveInfoOf(writer: LiveWriter, secret: string, peer: string | undefined): LiveInfo {
  const info: LiveInfo = {
    id: writer.streamId,
    bytes: writer.bytes,
    live: writer.live,
    mime: writer.mime,
    startedAtMs: writer.startedAtMs,
    owner: ownerHash(secret),
  };
  if (peer) info.peer = peer;
  return info;
}

export interface LiveReporterOptions {
  writer: LiveWriter;
  /** The entry to send now. */
  info: () => LiveInfo;
  /** Whether the stream is still the one its manager holds (a replaced one reports nothing). */
  current: () => boolean;
  /** Sends state-table deltas about this server. */
  report: (deltas: OwnDelta[]) => void;
}

/** Reports one stream's `live` entry, throttled: `now()` sends at once, `schedule()` sends at most once per interval. */
export class LiveReporter {
  readonly #o: LiveReporterOptions;
  #lastReportAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: LiveReporterOptions) {
    this.#o = opts;
  }

  now(): void {
    this.#lastReportAt = Date.now();
    this.#o.report([{ type: 'live', stream: this.#o.info() }]);
  }

  schedule(): void {
    if (this.#timer || !this.#o.writer.live) return;
    const wait = Math.max(0, this.#lastReportAt + LIVE_REPORT_INTERVAL_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#o.writer.live && this.#o.current()) this.now();
    }, wait);
    this.#timer.unref?.();
  }

  /** Cancels a scheduled report. */
  stop(): void {
    clearTimeout(this.#timer);
  }
}
