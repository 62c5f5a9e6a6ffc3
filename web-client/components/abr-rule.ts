// Which rendition the player's Auto mode plays: a pure rule of measured throughput and buffer ahead (the clock is passed in).
//
// Servers pace delivery at about the media's bitrate, so in steady state throughput shows what the current rung
// needs, never the link's headroom. Headroom shows in bursts (each new session starts with an unpaced burst), so
// the rule climbs on a burst that had room, and otherwise probes one rung up once the buffer has stayed full a
// while; a probe whose throughput falls short is undone at once, and the next probe waits longer.

/** One rung: its asset id and total bitrate (bits per second). */
export interface AbrRung {
  id: string;
  bitrateBps: number;
}

/** Below this much media ahead the player is in danger: a rung the link cannot carry is left (seconds). */
export const LOW_BUFFER_S = 5;
/** With this much media ahead for PROBE_HOLD_MS the player tries the rung above (seconds). */
export const HIGH_BUFFER_S = 7;
export const PROBE_HOLD_MS = 2_000;
/** A rung is kept at least this long before the rule judges it (its session's first bytes are slow to come; ms). */
export const MIN_DWELL_MS = 2_000;
/** A rung fits when its bitrate is at most this share of the throughput. */
export const SAFETY = 0.8;
/** Back-off before the next probe after a failed one: doubles from the first to the last (ms). */
export const PROBE_BACKOFF_MIN_MS = 2_000;
export const PROBE_BACKOFF_MAX_MS = 4_000;

export interface AbrState {
  /** The rung chosen (its asset id). */
  current: string;
  /** When it was chosen (ms). */
  sinceMs: number;
  /** Since when the buffer has held HIGH_BUFFER_S or more, or null. */
  fullSinceMs: number | null;
  /** The current rung is a probe on trial. */
  probing: boolean;
  /** No probe before this (ms). */
  probeAtMs: number;
  backoffMs: number;
}

export interface AbrSample {
  nowMs: number;
  /** Bits per second received on the current rung's channel lately (ThroughputWindow); null while too early to say. */
  throughputBps: number | null;
  bufferAheadS: number;
}

export function initialAbrState(current: string, nowMs: number): AbrState {
  return { current, sinceMs: nowMs, fullSinceMs: null, probing: false, probeAtMs: nowMs, backoffMs: PROBE_BACKOFF_MIN_MS };
}

/** The next state for `sample`; `ladder` is tallest (highest bitrate) first. A different `current` means: switch to it. */
export function abrStep(ladder: readonly AbrRung[], s: AbrState, sample: AbrSample): AbrState {
  const { nowMs, throughputBps: tp, bufferAheadS: ahead } = sample;
  const i = ladder.findIndex((r) => r.id === s.current);
  const fullSinceMs = ahead >= HIGH_BUFFER_S ? (s.fullSinceMs ?? nowMs) : null;
  const state = { ...s, fullSinceMs };
  if (i < 0 || nowMs - s.sinceMs < MIN_DWELL_MS || tp === null) return state;
  const to = (j: number, probing: boolean, backoffMs = state.backoffMs): AbrState => ({
    current: ladder[j]!.id,
    sinceMs: nowMs,
    fullSinceMs: null,
    probing,
    probeAtMs: probing ? state.probeAtMs : nowMs + backoffMs,
    backoffMs,
  });
  const fit = fitting(ladder, SAFETY * tp);
  const short = tp < ladder[i]!.bitrateBps;
  if (s.probing && short) {
    // The link cannot carry the probed rung: back to one it can, and wait longer before the next probe.
    return to(Math.max(fit, i + 1 < ladder.length ? i + 1 : i), false, Math.min(PROBE_BACKOFF_MAX_MS, state.backoffMs * 2));
  }
  if (s.probing) Object.assign(state, { probing: false, backoffMs: PROBE_BACKOFF_MIN_MS });
  if (short && ahead < LOW_BUFFER_S && fit > i) return to(fit, false);
  // A burst showed room for a taller rung, and the buffer can ride out the switch.
  if (fit < i && ahead >= LOW_BUFFER_S) return to(fit, false);
  if (i > 0 && fullSinceMs !== null && nowMs - fullSinceMs >= PROBE_HOLD_MS && nowMs >= state.probeAtMs) return to(i - 1, true);
  return state;
}

/** Index of the tallest rung whose bitrate is at most `bps` (the lowest rung when none is). */
export function fitting(ladder: readonly AbrRung[], bps: number): number {
  const j = ladder.findIndex((r) => r.bitrateBps <= bps);
  return j < 0 ? ladder.length - 1 : j;
}

/** Span the throughput is averaged over (ms). */
export const THROUGHPUT_WINDOW_MS = 4_000;
/** No figure before bytes have been counted this long (ms): the first frames of a session say little. */
const MIN_SPAN_MS = 1_000;
/** Arrivals kept (the window holds fewer at any sane frame rate). */
const MAX_ARRIVALS = 4_096;

/** Bytes received per second over the last THROUGHPUT_WINDOW_MS, counted from the first byte after `reset`. */
export class ThroughputWindow {
  #arrivals: { atMs: number; bytes: number }[] = [];
  #startMs: number | null = null;

  reset(): void {
    this.#arrivals = [];
    this.#startMs = null;
  }

  add(nowMs: number, bytes: number): void {
    this.#startMs ??= nowMs;
    this.#arrivals.push({ atMs: nowMs, bytes });
    if (this.#arrivals.length > MAX_ARRIVALS) this.#arrivals.shift();
  }

  /** Bits per second, or null before MIN_SPAN_MS of counting. */
  bps(nowMs: number): number | null {
    if (this.#startMs === null || nowMs - this.#startMs < MIN_SPAN_MS) return null;
    const from = Math.max(this.#startMs, nowMs - THROUGHPUT_WINDOW_MS);
    while (this.#arrivals.length && this.#arrivals[0]!.atMs < from) this.#arrivals.shift();
    let bytes = 0;
    for (const a of this.#arrivals) bytes += a.bytes;
    return (bytes * 8 * 1000) / (nowMs - from);
  }
}
