// A watch page's first picture before the app has loaded: the first module feeds the bytes its early peer brings into a
// <video> and MediaSource of its own (no zod, no Lit), and the player adopts the element, the source and its buffer.
import type { NativePeer, PeerTap } from './native-peer.js';
import { mp4TypeOf } from './mp4-type.js';

/** Control frames are small (MAX_CONTROL_FRAME_CHARS in signaling/protocol/frames.ts): a longer one is not read. */
const MAX_CONTROL_CHARS = 4 * 1024;
/** A media frame: kind byte 0x01, the byte offset as a big-endian uint64, the payload (frames.ts). */
const MEDIA_KIND = 0x01;
const MEDIA_HEADER_BYTES = 9;

/** What the player takes over (MseSink's `attached`), and how much of the stream it need not append again. */
export interface EarlyHandOff {
  readonly source: MediaSource;
  readonly url: string;
  /** The SourceBuffer made at the stream's meta, when it came before the player. */
  readonly buffer?: SourceBuffer;
  /** The stream's first bytes, [0, takenBytes), went into `buffer` or wait in `queue`: the player skips them. */
  readonly takenBytes: number;
  readonly queue: Uint8Array[];
}

/**
 * Plays the start of a stored asset from its peer's messages: the meta frame (its type, duration) and the media frames
 * from offset 0, in order. Anything else (a live stream, H.264 that needs the remux, a type MSE refuses, a gap, a
 * refused append) and it gives up, leaving the stream to the player. It asks the server to start (`play`) as soon as
 * the channel opens; the peer still holds every event for the Viewer that takes it over.
 */
export class EarlyPlayback implements PeerTap {
  readonly assetId: string;
  readonly video: HTMLVideoElement;
  /** Resolves once the first frame was shown, or it gave up. */
  readonly settled: Promise<void>;
  readonly #peer: NativePeer;
  readonly #source: MediaSource;
  readonly #url: string;
  #settle: () => void = () => undefined;
  #meta: { mime: string; durationS: number | null } | null = null;
  #buffer: SourceBuffer | null = null;
  #queue: Uint8Array[] = [];
  #taken = 0;
  /** No more is taken: handed off, or given up. */
  #done = false;

  constructor(assetId: string, peer: NativePeer, parent: ParentNode) {
    this.assetId = assetId;
    this.#peer = peer;
    this.settled = new Promise((resolve) => (this.#settle = resolve));
    const v = document.createElement('video');
    // As the player's own element: browsers autoplay only muted media.
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    this.video = v;
    this.#source = new MediaSource();
    this.#url = URL.createObjectURL(this.#source);
    v.src = this.#url;
    this.#source.addEventListener('sourceopen', this.#makeBuffer, { once: true });
    // The first frame shown (or, where that cannot be watched, decoded) settles it: the app may load from then.
    if (typeof v.requestVideoFrameCallback === 'function') v.requestVideoFrameCallback(() => this.#settle());
    else v.addEventListener('loadeddata', () => this.#settle(), { once: true });
    v.addEventListener('error', () => this.giveUp(), { once: true });
    parent.append(v);
    peer.tap(this);
  }

  connect(): void {
    if (!this.#done) this.#peer.play();
  }

  data(data: string | Uint8Array): void {
    if (this.#done) return;
    if (typeof data === 'string') return this.#control(data);
    if (!this.#meta || data.byteLength <= MEDIA_HEADER_BYTES || data[0] !== MEDIA_KIND) return this.giveUp();
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const offset = view.getUint32(1) * 2 ** 32 + view.getUint32(5);
    // What it takes is bounded by the peer's: it holds at most MAX_HELD_DATA_BYTES for a Viewer not there yet, and the
    // early Viewer pauses the server at EARLY_MAX_BYTES; the queue holds only what came during one append.
    if (offset !== this.#taken) return this.giveUp();
    const payload = data.subarray(MEDIA_HEADER_BYTES);
    this.#queue.push(payload);
    this.#taken += payload.byteLength;
    this.#pump();
  }

  close(): void {
    this.giveUp();
  }

  /** Leaves the stream to the player: nothing more is taken, and the player starts its own MediaSource. */
  giveUp(): void {
    if (this.#done) return;
    this.#stop();
    this.#settle();
  }

  /** The player takes over (once): the source and what was taken, or null when it gave up. */
  handOff(): EarlyHandOff | null {
    if (this.#done) return null;
    this.#stop();
    return {
      source: this.#source,
      url: this.#url,
      ...(this.#buffer ? { buffer: this.#buffer } : {}),
      takenBytes: this.#taken,
      queue: this.#queue,
    };
  }

  /** The early video and source, unused (the player plays another asset): detached and released. */
  discard(): void {
    this.giveUp();
    if (this.video.src === this.#url) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    URL.revokeObjectURL(this.#url);
  }

  #stop(): void {
    this.#done = true;
    this.#peer.tap(null);
    this.#source.removeEventListener('sourceopen', this.#makeBuffer);
    this.#buffer?.removeEventListener('updateend', this.#pump);
    this.#buffer?.removeEventListener('error', this.#onBufferError);
  }

  #control(text: string): void {
    if (this.#meta || text.length > MAX_CONTROL_CHARS) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.giveUp();
    }
    if (m === null || typeof m !== 'object' || m.t !== 'meta') return;
    const mime = m.mime;
    if (typeof mime !== 'string' || m.live !== false || m.offset !== 0 || mp4TypeOf(mime) !== null || !MediaSource.isTypeSupported(mime))
      return this.giveUp();
    const durationMs = typeof m.durationMs === 'number' && Number.isFinite(m.durationMs) && m.durationMs > 0 ? m.durationMs : null;
    this.#meta = { mime, durationS: durationMs === null ? null : durationMs / 1000 };
    this.#makeBuffer();
  }

  readonly #makeBuffer = (): void => {
    const meta = this.#meta;
    if (this.#done || !meta || this.#buffer || this.#source.readyState !== 'open') return;
    try {
      // As MseSink does: before any init segment, so one without a duration (a recording) keeps this one.
      if (meta.durationS !== null) this.#source.duration = meta.durationS;
      this.#buffer = this.#source.addSourceBuffer(meta.mime);
    } catch {
      return this.giveUp();
    }
    this.#buffer.addEventListener('updateend', this.#pump);
    this.#buffer.addEventListener('error', this.#onBufferError);
    this.#pump();
  };

  readonly #pump = (): void => {
    const sb = this.#buffer;
    if (this.#done || !sb || sb.updating || this.#queue.length === 0) return;
    const chunk = concat(this.#queue);
    this.#queue = [];
    try {
      sb.appendBuffer(chunk);
    } catch {
      this.giveUp();
    }
  };

  readonly #onBufferError = (): void => this.giveUp();
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
