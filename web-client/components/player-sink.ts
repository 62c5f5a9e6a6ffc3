// The player's sink: the stored bytes go into MSE as they are (WebM), or, for H.264 in Matroska (a WHIP broadcast
// from OBS), through a remux to fragmented MP4 loaded on first need, since Chromium's MSE takes H.264 only in MP4.
import { QUEUE_HIGH_WATER_BYTES } from './append-queue.js';
import { MseSink, type MseSinkOptions } from './mse-sink.js';
import type { MatroskaToMp4 } from './h264-remux.js';
import { mp4TypeOf } from './mp4-type.js';

export { mp4TypeOf };

/**
 * An MseSink fed the stream's bytes directly, or through `MatroskaToMp4` while the stream is H.264. Byte offsets,
 * seeks and back-pressure stay the stored stream's: the viewer still asks for Matroska bytes, the remux is the
 * browser's. The same surface as MseSink.
 */
export class PlayerSink {
  readonly #mse: MseSink;
  readonly #onError: (error: Error) => void;
  /** The remux while the stream is H.264; a promise while its module loads. */
  #remux: MatroskaToMp4 | Promise<MatroskaToMp4> | null = null;
  /** Bytes that came while the remux module loaded (tens of ms), and where a seek restarted them. */
  #pending: (Uint8Array | 'restart')[] = [];
  #pendingBytes = 0;
  /** Past QUEUE_HIGH_WATER_BYTES pending, the source was asked to pause (as MseSink asks for its own queue). */
  #pendingFull = false;
  readonly #onBackpressure: (full: boolean) => void;
  /** A seek, splice or close since an `end()` began: its remux flush no longer ends the MediaSource. */
  #epoch = 0;
  #closed = false;

  /** True when this browser can play `mime`, remuxed or not. */
  static supports(mime: string): boolean {
    return MseSink.supports(mp4TypeOf(mime) ?? mime);
  }

  constructor(video: HTMLVideoElement, mime: string, options: MseSinkOptions) {
    this.#onError = options.onError;
    this.#onBackpressure = options.onBackpressure ?? (() => undefined);
    this.#mse = new MseSink(video, mp4TypeOf(mime) ?? mime, options);
    this.#take(mime);
  }

  get appendedBytes(): number {
    return this.#mse.appendedBytes;
  }
  get queuedBytes(): number {
    return this.#mse.queuedBytes;
  }
  get live(): boolean {
    return this.#mse.live;
  }
  bufferAheadSeconds(): number {
    return this.#mse.bufferAheadSeconds();
  }
  behindNewestSeconds(): number {
    return this.#mse.behindNewestSeconds();
  }
  jumpToLive(): void {
    this.#mse.jumpToLive();
  }
  holds(timeS: number): boolean {
    return this.#mse.holds(timeS);
  }
  bufferedEnd(): number {
    return this.#mse.bufferedEnd();
  }

  append(bytes: Uint8Array): void {
    const r = this.#remux;
    if (r === null) this.#mse.append(bytes);
    else if (r instanceof Promise) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.byteLength;
      if (!this.#pendingFull && this.#pendingBytes > QUEUE_HIGH_WATER_BYTES) {
        this.#pendingFull = true;
        this.#onBackpressure(true);
      }
    } else r.push(bytes);
  }

  /** See MseSink.seek: the next bytes start at a Cluster, and the remux begins a new MP4 file there. */
  seek(timeS: number): void {
    this.#epoch += 1;
    const r = this.#remux;
    // While loading, the bytes before the seek stay queued: their init segment names the tracks.
    if (r instanceof Promise) this.#pending.push('restart');
    else r?.restart();
    this.#mse.seek(timeS);
  }

  /** See MseSink.splice: another rendition, which may be H.264 (remuxed) or WebM (not). */
  splice(mime: string): void {
    this.#epoch += 1;
    this.#dropPending();
    const r = this.#remux;
    if (r && !(r instanceof Promise)) r.close();
    this.#remux = null;
    this.#mse.splice(mp4TypeOf(mime) ?? mime);
    this.#take(mime);
  }

  end(): void {
    const r = this.#remux;
    if (r === null) return this.#mse.end();
    // The remux holds the last fragment until it knows no frame follows: write it, then end.
    const epoch = this.#epoch;
    void Promise.resolve(r)
      .then((x) => x.end())
      .then(() => {
        if (epoch === this.#epoch && !this.#closed) this.#mse.end();
      });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#epoch += 1;
    this.#dropPending();
    const r = this.#remux;
    if (r && !(r instanceof Promise)) r.close();
    this.#remux = null;
    this.#mse.close();
  }

  #dropPending(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#pendingFull) {
      this.#pendingFull = false;
      if (!this.#closed) this.#onBackpressure(false);
    }
  }

  /** Starts remuxing when `mime` is H.264 in Matroska; the module is fetched on the first such stream only. */
  #take(mime: string): void {
    if (mp4TypeOf(mime) === null) return;
    const loading = import('./h264-remux.js').then(({ MatroskaToMp4 }) => {
      const remux = new MatroskaToMp4({ onBytes: (b) => this.#mse.append(b), onError: this.#onError });
      if (this.#remux !== loading) {
        remux.close();
        return remux;
      }
      this.#remux = remux;
      const pending = this.#pending;
      this.#dropPending();
      for (const b of pending) {
        if (b === 'restart') remux.restart();
        else remux.push(b);
      }
      return remux;
    });
    loading.catch((err: unknown) => {
      if (this.#remux === loading) this.#onError(new Error('the H.264 player could not be loaded', { cause: err }));
    });
    this.#remux = loading;
  }
}
