// One stream written on this server, as its IngestManager holds it: the writer, the publisher session feeding it, its
// readers, its `live` entry, its live poster and MIME probe, and the timer that abandons it once its publisher is gone.
import type { LiveInfo, OwnDelta } from '../../signaling/protocol/types.js';
import type { Sidecar } from '../storage/sidecar.js';
import { mimeFor, probeWebm } from '../storage/webm-probe.js';
import type { IngestSession } from './ingest-session.js';
import { LiveReporter, liveInfoOf } from './live-report.js';
import type { LiveWriter } from './live-writer.js';

/** A live stream's poster is asked for at most this many times (after each new keyframe Cluster). */
const LIVE_POSTER_ATTEMPTS = 3;

export interface IngestStreamOptions {
  writer: LiveWriter;
  /** The hub-minted ownership secret: only sessions opened with it may write this stream. */
  secret: string;
  /** The broadcaster's title and description (also in the sidecar beside the recording). */
  meta: Sidecar;
  /** Whether the stream is still the one its manager holds (a replaced one reports nothing). */
  current: () => boolean;
  /** Sends state-table deltas about this server. */
  report: (deltas: OwnDelta[]) => void;
  /** Asks for a poster from the growing file (IngestManagerOptions.poster). */
  poster?: (streamId: string, source: string, attempt: number) => void;
}

export class IngestStream {
  readonly #o: IngestStreamOptions;
  session: IngestSession | undefined;
  peer: string | undefined;
  readers = 0;
  readonly reporter: LiveReporter;
  abandonTimer: ReturnType<typeof setTimeout> | undefined;
  /** The MIME type was taken from the stream's own Tracks (not the publisher's word). */
  #mimeProbed = false;
  /** The poster's version token once one was made from the live file. */
  poster: string | undefined;
  /** Poster requests so far (a file read too early is asked for again, a few times). */
  #posterAttempts = 0;

  constructor(opts: IngestStreamOptions) {
    this.#o = opts;
    this.reporter = new LiveReporter({ writer: opts.writer, info: () => this.info(), current: opts.current, report: opts.report });
  }

  get writer(): LiveWriter {
    return this.#o.writer;
  }

  get secret(): string {
    return this.#o.secret;
  }

  /** The broadcaster's title and description. */
  get meta(): Sidecar {
    return this.#o.meta;
  }

  /** The stream's `live` entry: the writer's facts, the publisher's address, title, description and poster. */
  info(): LiveInfo {
    return { ...liveInfoOf(this.writer, this.secret, this.peer), ...this.#o.meta, ...(this.poster ? { poster: this.poster } : {}) };
  }

  /** `session` (from `peer`) writes the stream now. One publisher connection per stream: a reconnect takes over from the old one. */
  attach(session: IngestSession, peer: string | undefined): void {
    if (this.session && this.session !== session) this.session.close('replaced');
    this.session = session;
    this.peer = peer ?? this.peer;
    clearTimeout(this.abandonTimer);
    this.abandonTimer = undefined;
  }

  /** The writer grew: the MIME type is probed once the init segment is in, a poster asked for when due, the entry re-reported. */
  grew(): void {
    if (!this.#mimeProbed && this.writer.index.initBytes !== undefined) {
      this.#mimeProbed = true;
      void this.#probeMime();
    }
    this.#askPoster();
    this.reporter.schedule();
  }

  /** No session writes the stream: it is abandoned (salvaged) unless one attaches within `afterMs`. */
  watchAbandon(afterMs: number): void {
    if (this.writer.state !== 'open' || this.abandonTimer) return;
    this.abandonTimer = setTimeout(() => {
      this.abandonTimer = undefined;
      if (this.session || this.writer.state !== 'open') return;
      void this.writer.abandon('the publisher went away without ending the stream');
    }, afterMs);
    this.abandonTimer.unref?.();
  }

  /** Cancels its timers: the scheduled report and the abandon timeout. */
  stop(): void {
    this.reporter.stop();
    clearTimeout(this.abandonTimer);
  }

  /**
   * The first Cluster is complete (a second one has started) and durable: ffmpeg can take the poster
   * from the growing file. Asked again after later Clusters if an attempt read too little.
   */
  #askPoster(): void {
    // A stream starts with a keyframe: once a later Cluster has begun on disk, the first is there whole.
    const clusters = this.writer.index.firstClusters;
    const attempts = this.#posterAttempts;
    if (!this.#o.poster || this.poster || attempts >= LIVE_POSTER_ATTEMPTS || clusters.length < 2 + attempts) return;
    if (this.writer.durableBytes < clusters[1 + attempts]!) return;
    this.#posterAttempts++;
    this.#o.poster(this.writer.streamId, this.writer.partPath, this.#posterAttempts);
  }

  /** Once the init segment is in, its Tracks say what the stream is; the publisher's `mime` was only a claim. */
  async #probeMime(): Promise<void> {
    try {
      const probe = probeWebm(await this.writer.read(0, this.writer.index.initBytes!));
      if (probe.complete && probe.tracks.length > 0) this.writer.mime = mimeFor(probe);
    } catch {
      // Unreadable head: keep the declared type.
    }
  }
}
