// The WHIP muxer's interleaver: the frames of a broadcast's video and audio tracks released in time order, as players need.
import type { Buffer } from 'node:buffer';

/**
 * A frame of one track waits at most this long (media time, behind the newest frame of either track) for the other
 * track to reach its time, then is written anyway. Players need the blocks of a Cluster in time order across tracks
 * (Chromium's MSE refuses a block older than the one before it), and a WHIP sender's tracks do not arrive in step:
 * GStreamer's video ran 0.8 s behind its audio at the start of a broadcast.
 */
export const MAX_INTERLEAVE_WAIT_MS = 2_000;
/** ...and the frames held for it never exceed these bytes (a sender's clock cannot make the muxer hoard): past it the oldest go. */
export const MAX_INTERLEAVE_HELD_BYTES = 16 * 1024 * 1024;

export type TrackKind = 'video' | 'audio';

/** One depacketized frame: its bytes, whether it starts a picture on its own, its media time (ms). */
export type Frame = { data: Buffer; isKeyframe: boolean; time: number };

/**
 * Releases the frames of two tracks in time order: a frame goes once the other track has reached its time (each
 * track's own frames come in order), once it is MAX_INTERLEAVE_WAIT_MS behind the newest frame of either, or when
 * more than MAX_INTERLEAVE_HELD_BYTES are held; a frame older than one already released is refused (`late`)
 * rather than written out of order. One track: no waiting.
 */
export class Interleaver {
  readonly #two: boolean;
  readonly #out: (kind: TrackKind, frame: Frame) => void;
  readonly #late: (kind: TrackKind) => void;
  readonly #q: Record<TrackKind, Frame[]> = { video: [], audio: [] };
  readonly #seen: Record<TrackKind, number> = { video: Number.NEGATIVE_INFINITY, audio: Number.NEGATIVE_INFINITY };
  #newest = Number.NEGATIVE_INFINITY;
  #written = Number.NEGATIVE_INFINITY;
  #heldBytes = 0;

  constructor(twoTracks: boolean, out: (kind: TrackKind, frame: Frame) => void, late: (kind: TrackKind) => void) {
    this.#two = twoTracks;
    this.#out = out;
    this.#late = late;
  }

  push(kind: TrackKind, frame: Frame): void {
    if (frame.time < this.#written) return this.#late(kind);
    this.#q[kind].push(frame);
    this.#heldBytes += frame.data.byteLength;
    this.#seen[kind] = Math.max(this.#seen[kind], frame.time);
    this.#newest = Math.max(this.#newest, frame.time);
    this.#drain(false);
  }

  /** Releases everything held, in order (the broadcast ended). */
  flush(): void {
    this.#drain(true);
  }

  #drain(all: boolean): void {
    for (;;) {
      const v = this.#q.video[0];
      const a = this.#q.audio[0];
      const kind: TrackKind | undefined = v && (!a || v.time <= a.time) ? 'video' : a ? 'audio' : undefined;
      if (!kind) return;
      const f = this.#q[kind][0]!;
      const other: TrackKind = kind === 'video' ? 'audio' : 'video';
      const waits = this.#seen[other] < f.time && this.#newest - f.time < MAX_INTERLEAVE_WAIT_MS;
      if (!all && this.#two && waits && this.#heldBytes <= MAX_INTERLEAVE_HELD_BYTES) return;
      this.#q[kind].shift();
      this.#heldBytes -= f.data.byteLength;
      this.#written = Math.max(this.#written, f.time);
      this.#out(kind, f);
    }
  }
}
