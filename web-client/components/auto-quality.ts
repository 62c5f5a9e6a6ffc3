// The player's Auto mode: measures the current rung's throughput and asks the ABR rule where to go next.
import { abrStep, initialAbrState, ThroughputWindow, type AbrRung, type AbrState } from './abr-rule.js';
import type { Rung } from './rendition-ladder.js';

/** An up-switch replaces what is buffered from this far past the playhead, so the better picture shows soon (seconds). */
export const UP_SPLICE_AHEAD_S = 3;

/**
 * No switch starts this close to the media's end, or past it (seconds): nothing is left to show better, and the
 * new rendition would start at its last keyframe, before the playhead — an ended clip played again.
 */
export const SWITCH_END_MARGIN_S = 0.5;

/** True when a switch may start at `atS` of media `durationS` long (unknown: null, or live: Infinity). */
export function switchStartsInTime(atS: number, durationS: number | null): boolean {
  return durationS === null || atS < durationS - SWITCH_END_MARGIN_S;
}

/** One playback's Auto mode; `reset` for each new asset. */
export class AutoQuality {
  readonly #window = new ThroughputWindow();
  #ladder: AbrRung[] = [];
  #state: AbrState | null = null;

  /** A new playback starts on `streamId`. */
  reset(streamId: string, nowMs: number): void {
    this.#window.reset();
    this.#state = initialAbrState(streamId, nowMs);
  }

  /** Bytes of the current rung arrived. */
  received(nowMs: number, bytes: number): void {
    this.#window.add(nowMs, bytes);
  }

  /** The rung `streamId` took over the playback: its throughput is counted from now. */
  tookOver(streamId: string, nowMs: number): void {
    this.#window.reset();
    if (this.#state && this.#state.current !== streamId) this.#state = initialAbrState(streamId, nowMs);
  }

  /**
   * Where Auto goes now: the rung's asset id and the media time to switch at (an up-switch a little past
   * the playhead, a down-switch at the end of what is buffered), or null to stay. A switch that would start
   * at the media's end (`durationS`; null when unknown) is no switch: Auto stays where it is.
   */
  decide(
    ladder: readonly Rung[],
    nowMs: number,
    playheadS: number,
    bufferAheadS: number,
    durationS: number | null,
  ): { id: string; atS: number } | null {
    const s = this.#state;
    if (!s) return null;
    // Rungs without a known bitrate cannot be weighed: Auto keeps to those with one.
    this.#ladder = ladder.filter((r): r is Rung & { bitrateBps: number } => r.bitrateBps !== null);
    const next = abrStep(this.#ladder, s, { nowMs, throughputBps: this.#window.bps(nowMs), bufferAheadS });
    if (next.current === s.current) {
      this.#state = next;
      return null;
    }
    const up = this.#ladder.findIndex((r) => r.id === next.current) < this.#ladder.findIndex((r) => r.id === s.current);
    const end = playheadS + bufferAheadS;
    const atS = up ? Math.min(end, playheadS + UP_SPLICE_AHEAD_S) : end;
    // Everything to the end is buffered (or played): the rung playing stays, and so does the rule's idea of it.
    if (!switchStartsInTime(atS, durationS)) return null;
    this.#state = next;
    return { id: next.current, atS };
  }
}
