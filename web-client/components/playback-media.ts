// A playback's bytes on their way into the player's <video>: the MediaSource opened early (or the first module's, with what it took), the sink, seeks.
import { takeEarlyPlayback } from './client-socket.js';
import { MseSink, type AttachedSource, type MseSinkOptions } from './mse-sink.js';
import { PlayerSink } from './player-sink.js';

/**
 * One playback at a time, `begin` to `stop`; apart from the Viewer that brings the bytes, which a rendition
 * switch replaces while the sink goes on.
 */
export class PlaybackMedia {
  readonly #video: HTMLVideoElement;
  #sink: PlayerSink | null = null;
  /** A MediaSource attached while the session is set up, for the sink to take at `meta`. */
  #early: AttachedSource | null = null;
  /** The stream's first bytes the page's first module took already (early-playback.ts): not appended again. */
  #skipBytes = 0;
  /** What it took and had not appended yet, for the sink to append first. */
  #earlyQueue: Uint8Array[] = [];
  /** Where the player was sent and the stream has not caught up yet (s); its `seeking` events need no new request. */
  #seekTarget: number | null = null;
  #full = false;

  constructor(video: HTMLVideoElement) {
    this.#video = video;
  }

  /** The sink, from the stream's meta on. */
  get sink(): PlayerSink | null {
    return this.#sink;
  }

  /**
   * Opens the MediaSource while the director chooses and WebRTC connects: by the stream's metadata it is open
   * and the first bytes go straight into a SourceBuffer. True when the page's first module already plays
   * `assetId` into this element: its source (and buffer) is the one taken, with the bytes it took.
   */
  begin(assetId: string): boolean {
    const handOff = takeEarlyPlayback(assetId);
    this.#early = handOff ?? MseSink.attach(this.#video);
    this.#skipBytes = handOff?.takenBytes ?? 0;
    this.#earlyQueue = handOff?.queue ?? [];
    return handOff !== null;
  }

  /** True while the sink's queue is full (its `onBackpressure(true)` came last): what brings bytes should pause. */
  get full(): boolean {
    return this.#full;
  }

  /**
   * The sink for the stream's `mime`, on the MediaSource opened early; what the first module took and had not
   * appended goes first. Its `onError` and `onBackpressure` are called while it is this playback's sink, whichever
   * Viewer feeds it then (a rendition switch keeps the sink and replaces the Viewer): they act on the playback.
   */
  open(mime: string, options: Omit<MseSinkOptions, 'attached'>): PlayerSink {
    const attached = this.#early ?? undefined;
    this.#early = null;
    this.#full = false;
    // Null while the sink is constructed: a call from its constructor is this playback's too.
    let sink: PlayerSink | null = null;
    const current = (): boolean => sink === null || this.#sink === sink;
    sink = new PlayerSink(this.#video, mime, {
      ...(attached ? { attached } : {}),
      ...options,
      onError: (err) => {
        if (current()) options.onError(err);
      },
      onBackpressure: (full) => {
        if (!current()) return;
        this.#full = full;
        options.onBackpressure?.(full);
      },
    });
    this.#sink = sink;
    for (const b of this.#earlyQueue) this.#sink.append(b);
    this.#earlyQueue = [];
    return this.#sink;
  }

  /** The stream's bytes, less what the page's first module took of its start already. */
  append(bytes: Uint8Array): void {
    this.#sink?.append(this.#notTaken(bytes));
  }

  /** Resuming at `startS` (URL `t=` or the saved position): the stream starts at the Cluster before it, the playhead at it. */
  resumeAt(startS: number): void {
    this.#seekTarget = startS;
    this.forgetTaken();
    this.#sink!.seek(startS);
    this.#video.currentTime = startS;
  }

  /**
   * The viewer moved the playhead to `t`. Inside buffered media, or where the player was sent already, false:
   * the browser just plays on. Anywhere else true, the sink restarting there: the stream must restart from the
   * keyframe Cluster at or before `t` (never from where bytes happen to be).
   */
  seekTo(t: number): boolean {
    const sink = this.#sink!;
    if (this.#seekTarget !== null && Math.abs(this.#seekTarget - t) < 0.01) return false;
    if (sink.holds(t)) return false;
    this.#seekTarget = t;
    this.forgetTaken();
    sink.seek(t);
    return true;
  }

  /** True while the stream has not caught up with where the player was sent (the playhead's position is not the viewer's). */
  seekPending(): boolean {
    if (this.#seekTarget !== null && this.#sink?.holds(this.#seekTarget)) this.#seekTarget = null;
    return this.#seekTarget !== null;
  }

  /** The bytes that follow are not the stream's start (a seek, another rendition, another playback): none is skipped. */
  forgetTaken(): void {
    this.#skipBytes = 0;
    this.#earlyQueue = [];
  }

  /** The playback ends: the sink closes, and a MediaSource opened early is let go. */
  stop(): void {
    this.forgetTaken();
    this.#seekTarget = null;
    this.#sink?.close();
    this.#sink = null;
    this.#full = false;
    if (this.#early) MseSink.detach(this.#video, this.#early);
    this.#early = null;
  }

  #notTaken(bytes: Uint8Array): Uint8Array {
    if (this.#skipBytes === 0) return bytes;
    const n = Math.min(this.#skipBytes, bytes.byteLength);
    this.#skipBytes -= n;
    return bytes.subarray(n);
  }
}
