// Feeds an in-order byte stream into a <video> through Media Source Extensions, keeping the buffer bounded (and a live one near its edge).
import { AppendQueue } from './append-queue.js';
import { LiveKeeper, jumpToLive } from './live-keeper.js';
import { holds, jumpGap } from './gap-jump.js';
import { StallWatch } from './stall-watch.js';

/** Media kept behind the playhead; older media is removed from the SourceBuffer (seconds). */
export const BACK_BUFFER_S = 30;
/** Trim only once a third more than the back buffer has piled up (10 s at 30 s), so removes are few. */
const TRIM_SLACK_SHARE = 1 / 3;
/** Stop appending once this much media is buffered ahead; bytes wait in the queue (seconds). Not for live: the catch-up sees no queue. */
export const MAX_AHEAD_S = 60;
/** Queued chunks are coalesced into appends of at most this size (bytes). */
export const MAX_APPEND_BYTES = 1024 * 1024;
/**
 * ...but the first append of a start or a seek is at most this, doubling per append up to MAX_APPEND_BYTES: the
 * browser shows nothing of an append until it has parsed all of it, and a fast-start burst arrives faster than it
 * is parsed, so a 1-MiB first append delayed the new position's frame (seek bench, one run: 64 ms p50 with a fresh
 * burst, 21 ms past the bursts, where a seek sends only 2 s of media; 35-57 ms in five runs with the ramp).
 */
export const FIRST_APPEND_BYTES = 64 * 1024;

export interface MseSinkOptions {
  /** Called once when the stream cannot be decoded or buffered. */
  onError: (error: Error) => void;
  /**
   * Called with true when the queue passes QUEUE_HIGH_WATER_BYTES (stop sending)
   * and with false once it drains below QUEUE_LOW_WATER_BYTES (send again).
   */
  onBackpressure?: (full: boolean) => void;
  /** Media kept behind the playhead (seconds). Default BACK_BUFFER_S. */
  backBufferS?: number;
  /**
   * The media's duration when the server knows it (seconds). Recordings carry none in their
   * header: without it the seek bar would only cover what has arrived.
   */
  durationS?: number;
  /** A live stream: the playhead starts near the newest media and is kept near it (`LiveKeeper`) until `end()`. */
  live?: boolean;
  /**
   * A MediaSource already attached to the video (`MseSink.attach`) before the stream's type was
   * known: it has usually opened by the time the metadata arrives, so the first bytes are appended
   * at once instead of after the element's `sourceopen` (tens of ms, more on a busy machine).
   */
  attached?: AttachedSource;
}

/** A MediaSource attached to a video element ahead of its MseSink. */
export interface AttachedSource {
  readonly source: MediaSource;
  readonly url: string;
  /**
   * Its SourceBuffer of the stream's type, made and fed already by the page's first module (early-playback.ts, which
   * set the duration too): the sink appends what follows to it.
   */
  readonly buffer?: SourceBuffer;
}

/**
 * One playback: a MediaSource attached to a video element, a SourceBuffer of the
 * stream's type, and an append queue that respects `updating`. `close()` detaches
 * everything and is idempotent.
 */
export class MseSink {
  readonly #video: HTMLVideoElement;
  #mime: string;
  readonly #source: MediaSource;
  readonly #url: string;
  readonly #onError: (error: Error) => void;
  readonly #backBufferS: number;
  readonly #durationS: number | undefined;
  #buffer: SourceBuffer | null = null;
  /** Bytes received and not yet appended (waiting for room or for `updating`). */
  readonly #queue: AppendQueue;
  #appendedBytes = 0;
  /** The largest next append: FIRST_APPEND_BYTES after a start or seek, doubling up to MAX_APPEND_BYTES. */
  #appendLimit = FIRST_APPEND_BYTES;
  #ending = false;
  #closed = false;
  #failed = false;
  /** A seek waits for its first append: abort the parser mid-Cluster and drop what is buffered. */
  #resetPending = false;
  /** A switch to another rendition waits for its first append: abort the parser, keep what is buffered, take its type. */
  #splicePending: string | null = null;
  /** Where the player seeked to, until media holding it is buffered: no gap jump may move the playhead elsewhere. */
  #seekTarget: number | null = null;
  #keeper: LiveKeeper | null; // while the stream is live
  /** The attached source's SourceBuffer, taken at open instead of a new one. */
  readonly #adopted: SourceBuffer | null;
  /** Moves a playhead stuck in a hole of a track (no append or `timeupdate` comes to move it); not while live. */
  readonly #stall: StallWatch;

  /**
   * Attaches a fresh MediaSource to `video` now, to be handed to the sink (`attached`) once the
   * stream's type is known; `detach` undoes it when no sink takes it. Null without MSE.
   */
  static attach(video: HTMLVideoElement): AttachedSource | null {
    if (typeof MediaSource === 'undefined') return null;
    const source = new MediaSource();
    const url = URL.createObjectURL(source);
    video.src = url;
    return { source, url };
  }

  /** Undoes `attach` for a source no sink took (the playback ended before its metadata). */
  static detach(video: HTMLVideoElement, a: AttachedSource): void {
    if (video.src === a.url) {
      video.removeAttribute('src');
      video.load();
    }
    URL.revokeObjectURL(a.url);
  }

  /** True when this browser can play `mime` through MSE. */
  static supports(mime: string): boolean {
    return typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(mime);
  }

  constructor(video: HTMLVideoElement, mime: string, options: MseSinkOptions) {
    this.#video = video;
    this.#mime = mime;
    this.#onError = options.onError;
    this.#queue = new AppendQueue(options.onBackpressure ?? (() => undefined));
    this.#backBufferS = options.backBufferS ?? BACK_BUFFER_S;
    this.#durationS = options.durationS;
    this.#keeper = options.live ? new LiveKeeper(video) : null;
    const attached = options.attached && video.src === options.attached.url ? options.attached : undefined;
    this.#source = attached?.source ?? new MediaSource();
    this.#adopted = attached?.buffer ?? null;
    this.#url = attached?.url ?? URL.createObjectURL(this.#source);
    video.addEventListener('timeupdate', this.#pump);
    video.addEventListener('error', this.#onVideoError);
    // Live stalls are the keeper's (it jumps to the edge); once the stream ended, a recording's are the watch's.
    this.#stall = new StallWatch(video, () => this.#seekTarget !== null || this.#keeper !== null);
    if (attached && this.#source.readyState === 'open') queueMicrotask(this.#onOpen);
    else {
      this.#source.addEventListener('sourceopen', this.#onOpen, { once: true });
      if (!attached) video.src = this.#url;
    }
  }

  /** Bytes handed to the SourceBuffer so far. */
  get appendedBytes(): number {
    return this.#appendedBytes;
  }

  /** Bytes received but not yet appended (waiting for room or for `updating`). */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /** Seconds of media buffered ahead of the playhead (0 when it sits outside any range). */
  bufferAheadSeconds(): number {
    const t = this.#video.currentTime;
    const ranges = this.#video.buffered;
    for (let i = 0; i < ranges.length; i++) {
      if (t >= ranges.start(i) - 0.05 && t <= ranges.end(i)) return ranges.end(i) - t;
    }
    return 0;
  }

  /** Seconds between the playhead and the newest buffered media (what a live viewer is behind the edge it has). */
  behindNewestSeconds(): number {
    const ranges = this.#video.buffered;
    return ranges.length === 0 ? 0 : Math.max(0, ranges.end(ranges.length - 1) - this.#video.currentTime);
  }

  /** Still kept near the live edge (a live stream that has not ended). */
  get live(): boolean {
    return this.#keeper !== null;
  }

  /** Move the playhead to just behind the newest buffered media (the player's "jump to live"). */
  jumpToLive(): void {
    if (!this.#closed) jumpToLive(this.#video);
  }

  /** True when media at `timeS` is buffered (playing there needs no new bytes). */
  holds(timeS: number): boolean {
    return holds(this.#video.buffered, timeS);
  }

  /**
   * The player moved to `timeS`, outside what is buffered, and the stream restarts from a Cluster at or
   * before it: what is queued is dropped, the SourceBuffer's parser reset and its media removed, and the
   * playhead stays at `timeS` (never jumps to other buffered media) until media holding it arrives.
   */
  seek(timeS: number): void {
    if (this.#closed) return;
    this.#queue.clear();
    this.#ending = false;
    this.#resetPending = true;
    this.#appendLimit = FIRST_APPEND_BYTES;
    this.#seekTarget = timeS;
    this.#queue.release();
    this.#pump();
  }

  /**
   * Another rendition of the same media (type `mime`) follows from here: its init segment, then Clusters from a
   * keyframe at or before the playhead or the buffered end. What is queued of the old one is dropped; what is
   * buffered stays, and the new Clusters replace it where they overlap.
   */
  splice(mime: string): void {
    if (this.#closed) return;
    this.#queue.clear();
    this.#ending = false;
    this.#splicePending = mime;
    this.#pump();
  }

  /** End of the buffered range that holds the playhead (seconds), or the playhead when none does. */
  bufferedEnd(): number {
    return this.#video.currentTime + this.bufferAheadSeconds();
  }

  /** Queue the next bytes of the stream (they must follow the previous ones). */
  append(bytes: Uint8Array): void {
    if (this.#closed || this.#ending || bytes.byteLength === 0) return;
    this.#queue.push(bytes);
    this.#pump();
  }

  /** No more bytes will come: signal end of stream once the queue has drained. */
  end(): void {
    this.#ending = true;
    // A live stream that ended is a recording: what is buffered plays out at normal speed.
    this.#keeper?.stop();
    this.#keeper = null;
    this.#pump();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.clear();
    this.#source.removeEventListener('sourceopen', this.#onOpen);
    this.#buffer?.removeEventListener('updateend', this.#onUpdateEnd);
    this.#buffer?.removeEventListener('error', this.#onBufferError);
    this.#video.removeEventListener('timeupdate', this.#pump);
    this.#keeper?.stop();
    this.#stall.stop();
    this.#video.removeEventListener('error', this.#onVideoError);
    if (this.#video.src === this.#url) {
      this.#video.removeAttribute('src');
      this.#video.load();
    }
    URL.revokeObjectURL(this.#url);
  }

  readonly #onOpen = (): void => {
    if (this.#closed) return;
    if (this.#adopted) this.#buffer = this.#adopted;
    else {
      // Set before any init segment: one that names a duration leaves it be, one without (a recording) keeps it.
      if (this.#durationS !== undefined && this.#durationS > 0) this.#source.duration = this.#durationS;
      try {
        this.#buffer = this.#source.addSourceBuffer(this.#mime);
      } catch (err) {
        this.#fail(new Error(`this browser cannot play ${this.#mime}`, { cause: err }));
        return;
      }
    }
    this.#buffer.addEventListener('updateend', this.#onUpdateEnd);
    this.#buffer.addEventListener('error', this.#onBufferError);
    this.#pump();
  };

  readonly #onUpdateEnd = (): void => {
    this.#seekTarget = jumpGap(this.#video, this.#seekTarget, this.#keeper !== null);
    this.#keeper?.step();
    this.#pump();
  };

  readonly #onBufferError = (): void => {
    this.#fail(new Error('the browser could not decode the stream'));
  };

  readonly #onVideoError = (): void => {
    const e = this.#video.error;
    if (!e) return;
    this.#fail(new Error(e.message || `media error ${e.code}`));
  };

  /** Do the next piece of work if the SourceBuffer is idle: trim, append, or end. */
  readonly #pump = (): void => {
    const sb = this.#buffer;
    if (this.#closed || this.#failed || !sb) return;
    if (this.#resetPending && this.#reset(sb)) return;
    if (this.#splicePending !== null && (sb.updating || !this.#takeSplice(sb, this.#splicePending))) return;
    if (sb.updating || this.#source.readyState !== 'open') return;
    if (this.#trimBehind(this.#backBufferS, this.#backBufferS * TRIM_SLACK_SHARE)) return;
    if (this.#queue.empty) {
      if (this.#ending) this.#endOfStream();
      return;
    }
    // Playback frees room; `timeupdate` pumps again. Live media is never held back: the keeper jumps over what piles up.
    if (!this.#keeper && this.bufferAheadSeconds() > MAX_AHEAD_S) return;
    const chunk = this.#queue.take(this.#appendLimit);
    this.#appendLimit = Math.min(MAX_APPEND_BYTES, 2 * this.#appendLimit);
    try {
      sb.appendBuffer(chunk);
      this.#appendedBytes += chunk.byteLength;
    } catch (err) {
      this.#queue.putBack(chunk);
      if (err instanceof DOMException && err.name === 'QuotaExceededError') {
        // The browser's buffer is full: drop all but a little of what was played.
        this.#trimBehind(2, 0);
        return;
      }
      this.#fail(new Error('the browser refused the stream data', { cause: err }));
    }
  };

  /** Starts a seek's reset; true while the SourceBuffer is busy with it (pump again on `updateend`). */
  #reset(sb: SourceBuffer): boolean {
    // The last append may have stopped inside a Cluster: abort() resets the parser (and cuts an append short).
    if (this.#source.readyState === 'open') {
      try {
        sb.abort();
      } catch {
        return true; // a remove is running: abort is not allowed until its updateend
      }
    }
    this.#resetPending = false;
    if (sb.buffered.length === 0) return false;
    try {
      // Also reopens an ended MediaSource, so the new position's bytes can be appended.
      sb.remove(0, Infinity);
      return true;
    } catch (err) {
      this.#fail(new Error('the browser could not drop the old buffer', { cause: err }));
      return true;
    }
  }

  /** Resets the parser for the next rendition (changing the type when it differs); false when that failed. */
  #takeSplice(sb: SourceBuffer, mime: string): boolean {
    this.#splicePending = null;
    try {
      // An ended source (all of the old rendition arrived) has no parser state to reset; changeType and the next append reopen it.
      if (this.#source.readyState === 'open') sb.abort();
      if (mime !== this.#mime) sb.changeType(mime);
      this.#mime = mime;
      return true;
    } catch (err) {
      this.#fail(new Error(`the browser could not switch to ${mime}`, { cause: err }));
      return false;
    }
  }

  /** Remove media more than `keepS` behind the playhead; true when a remove started. */
  #trimBehind(keepS: number, slackS: number): boolean {
    const sb = this.#buffer;
    if (!sb || sb.updating || sb.buffered.length === 0) return false;
    const start = sb.buffered.start(0);
    const cut = this.#video.currentTime - keepS;
    if (cut - start <= slackS || cut <= 0) return false;
    sb.remove(start, cut);
    return true;
  }

  #endOfStream(): void {
    try {
      this.#source.endOfStream();
    } catch {
      // Already ended or closed by the browser: nothing left to signal.
    }
  }

  #fail(error: Error): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#onError(error);
  }
}
