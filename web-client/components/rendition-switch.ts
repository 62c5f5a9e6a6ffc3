// The watch page's rendition switching: the quality menu's pick, Auto's rule, and the rendition's Viewer until it takes over.
import type { Viewer } from '../../client-sdk/viewer.js';
import { AutoQuality, switchStartsInTime } from './auto-quality.js';
import type { Quality, Rung } from './rendition-ladder.js';

/** What a switch needs of its playback. */
export interface SwitchHost {
  /** The stream playing now: the asset or one of its renditions (null before the first). */
  playing(): string | null;
  /** A switch may start now (a stored asset is playing). */
  canSwitch(): boolean;
  /** The media's duration (seconds), or null while unknown. */
  durationS(): number | null;
  /** Opens a Viewer of `streamId` from `startS` that takes over the playback at its meta; it comes back in `opened`. */
  open(streamId: string, startS: number | null): void;
}

export class RenditionSwitch {
  /** The viewer's pick in the quality menu. */
  quality: Quality = 'auto';
  readonly #host: SwitchHost;
  /** A rendition's Viewer opened by a switch, until its meta (then it plays). */
  #next: Viewer | null = null;
  readonly #auto = new AutoQuality();

  constructor(host: SwitchHost) {
    this.#host = host;
  }

  /** The stream a switch is heading for, if one is under way. */
  get next(): Viewer | null {
    return this.#next;
  }

  /** A playback starts on `streamId`: Auto's rule starts from there. */
  begin(streamId: string): void {
    this.#auto.reset(streamId, performance.now());
  }

  /** The viewer's choice in the quality menu: a rung's asset id (played from `atS`), or `auto`. */
  pick(quality: Quality, atS: number): void {
    this.quality = quality;
    if (quality !== 'auto') this.switchTo(quality, atS);
    else this.#auto.reset(this.#next?.assetId ?? this.#host.playing() ?? '', performance.now());
  }

  /**
   * Play `streamId` (a rung of the current asset) from the keyframe Cluster at or before `atS`. Not at the
   * media's end: the rung's last keyframe is before the playhead, and an ended clip would play again.
   */
  switchTo(streamId: string, atS: number): void {
    if (!this.#host.canSwitch() || streamId === (this.#next?.assetId ?? this.#host.playing())) return;
    if (!switchStartsInTime(atS, this.#host.durationS())) return;
    this.#host.open(streamId, atS > 0 ? atS : null);
  }

  /** Auto's step at a status tick: a switch when its rule says so. */
  step(ladder: readonly Rung[], playheadS: number, bufferAheadS: number): void {
    const to = this.#auto.decide(ladder, performance.now(), playheadS, bufferAheadS, this.#host.durationS());
    if (to) this.switchTo(to.id, to.atS);
  }

  /** The Viewer `open` made: it replaces a switch still waiting for its meta. */
  opened(viewer: Viewer): void {
    this.#next?.close();
    this.#next = viewer;
  }

  isNext(viewer: Viewer): boolean {
    return this.#next === viewer;
  }

  /** The switch's Viewer plays now. */
  tookOver(viewer: Viewer): void {
    this.#next = null;
    this.#auto.tookOver(viewer.assetId, performance.now());
  }

  /** Bytes the playing stream delivered (what Auto's rule measures the link by). */
  received(bytes: number): void {
    this.#auto.received(performance.now(), bytes);
  }

  /**
   * The viewer moved the playhead to `atS`: a rung the viewer picked that is not the one playing (the pick came
   * where no switch could start, at the media's end) starts there, wherever the playhead went.
   */
  seeked(atS: number): void {
    if (!this.#next && this.quality !== 'auto') this.switchTo(this.quality, atS);
  }

  /** The playhead moved out of what is buffered: a switch under way would take over at the old time, so it starts again at `atS`. */
  restartAt(atS: number): void {
    const next = this.#next;
    if (!next) return;
    if (switchStartsInTime(atS, this.#host.durationS())) this.#host.open(next.assetId, atS);
    else this.stop();
  }

  /** Ask the switch's Viewer, if any, to send no faster than `bps` on average (null: no limit). */
  limit(bps: number | null): void {
    this.#next?.limit(bps);
  }

  /** The playback stops: a switch under way is dropped. */
  stop(): void {
    this.#next?.close();
    this.#next = null;
  }
}
