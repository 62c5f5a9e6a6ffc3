// The player's Auto mode: measures the current rung's throughput and asks the ABR rule where to go next.
import { abrStep, initialAbrState, ThroughputWindow, type AbrRung, type AbrState } from './abr-rule.js';
import type { Rung } from './rendition-ladder.js';

/** An up-switch replaces what is buffered from this far past the playhead, so the better picture shows soon (seconds). */
export const UP_SPLICE_AHEAD_S = 3;

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
   * the playhead, a down-switch at the end of what is buffered), or null to stay.
   */
  decide(ladder: readonly Rung[], nowMs: number, playheadS: number, bufferAheadS: number): { id: string; atS: number } | null {
    const s = this.#state;
    if (!s) return null;
    // Rungs without a known bitrate cannot be weighed: Auto keeps to those with one.
    this.#ladder = ladder.filter((r): r is Rung & { bitrateBps: number } => r.bitrateBps !== null);
    const next = abrStep(this.#ladder, s, { nowMs, throughputBps: this.#window.bps(nowMs), bufferAheadS });
    this.#state = next;
    if (next.current === s.current) return null;
    const up = this.#ladder.findIndex((r) => r.id === next.current) < this.#ladder.findIndex((r) => r.id === s.current);
    const end = playheadS + bufferAheadS;
    return { id: next.current, atS: up ? Math.min(end, playheadS + UP_SPLICE_AHEAD_S) : end };
  }
}
