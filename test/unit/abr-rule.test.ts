// The player's Auto rendition choice: a pure rule of throughput and buffer, driven here with a fake clock.
import { describe, expect, it } from 'vitest';
import {
  HIGH_BUFFER_S,
  LOW_BUFFER_S,
  MIN_DWELL_MS,
  PROBE_BACKOFF_MAX_MS,
  PROBE_BACKOFF_MIN_MS,
  PROBE_HOLD_MS,
  ThroughputWindow,
  THROUGHPUT_WINDOW_MS,
  abrStep,
  fitting,
  initialAbrState,
  type AbrState,
} from '../../web-client/components/abr-rule.js';

/** 360p at 560 kb/s, 240p at 360 kb/s, 144p at 210 kb/s (what ffmpeg made of the e2e clip). */
const LADDER = Object.freeze([
  { id: 'clip', bitrateBps: 560_000 },
  { id: 'clip__240p', bitrateBps: 360_000 },
  { id: 'clip__144p', bitrateBps: 210_000 },
]);
const step = (s: AbrState, nowMs: number, throughputBps: number | null, bufferAheadS: number) =>
  abrStep(LADDER, s, { nowMs, throughputBps, bufferAheadS });

describe('fitting', () => {
  it('is the tallest rung at most the given rate, else the lowest', () => {
    expect(fitting(LADDER, 1e9)).toBe(0);
    expect(fitting(LADDER, 400_000)).toBe(1);
    expect(fitting(LADDER, 210_000)).toBe(2);
    expect(fitting(LADDER, 1)).toBe(2);
  });
});

describe('abrStep', () => {
  it('keeps a new rung for its dwell time whatever the figures say', () => {
    const s = initialAbrState('clip', 0);
    expect(step(s, MIN_DWELL_MS - 1, 10_000, 0).current).toBe('clip');
    expect(step(s, MIN_DWELL_MS, null, 0).current).toBe('clip');
  });

  it('goes down to the rung the throughput carries once the buffer runs low, at once past several rungs', () => {
    const s = initialAbrState('clip', 0);
    // The link carries 280 kb/s (half the top rung): with a full buffer nothing is urgent yet.
    expect(step(s, 5_000, 280_000, LOW_BUFFER_S + 1).current).toBe('clip');
    const down = step(s, 5_000, 280_000, LOW_BUFFER_S - 0.5);
    expect(down.current).toBe('clip__144p');
    expect(down.sinceMs).toBe(5_000);
    // A rung the link carries is kept even when the buffer is low (it refills), though without the safety margin.
    expect(step(initialAbrState('clip__240p', 0), 5_000, 400_000, 1).current).toBe('clip__240p');
    expect(step(initialAbrState('clip__144p', 0), 5_000, 100_000, 1).current).toBe('clip__144p');
  });

  it('climbs at once to the tallest rung a burst had room for, when the buffer can ride the switch', () => {
    const s = initialAbrState('clip__144p', 0);
    expect(step(s, 3_000, 5_000_000, LOW_BUFFER_S).current).toBe('clip');
    expect(step(s, 3_000, 500_000, LOW_BUFFER_S).current).toBe('clip__240p');
    // Not with too little buffered: the switch itself could stall.
    expect(step(s, 3_000, 5_000_000, LOW_BUFFER_S - 1).current).toBe('clip__144p');
  });

  it('probes one rung up after the buffer stayed full a while; a probe the link cannot carry is undone and the next waits longer', () => {
    // Paced delivery shows no headroom: throughput is what the rung needs.
    let s = initialAbrState('clip__144p', 0);
    s = step(s, 3_000, 220_000, HIGH_BUFFER_S);
    expect(s).toMatchObject({ current: 'clip__144p', fullSinceMs: 3_000 });
    s = step(s, 3_000 + PROBE_HOLD_MS - 1, 220_000, HIGH_BUFFER_S);
    expect(s.current).toBe('clip__144p');
    s = step(s, 3_000 + PROBE_HOLD_MS, 220_000, HIGH_BUFFER_S);
    expect(s).toMatchObject({ current: 'clip__240p', probing: true });
    const probeAt = s.sinceMs;
    // The probe's session gets 280 kb/s: short of 360 kb/s, back down even with a full buffer, and a longer back-off.
    s = step(s, probeAt + MIN_DWELL_MS, 280_000, HIGH_BUFFER_S + 2);
    expect(s).toMatchObject({ current: 'clip__144p', probing: false, backoffMs: 2 * PROBE_BACKOFF_MIN_MS });
    const backAt = s.sinceMs;
    expect(s.probeAtMs).toBe(backAt + 2 * PROBE_BACKOFF_MIN_MS);
    // No probe before the back-off is over, however full the buffer.
    s = step(s, backAt + MIN_DWELL_MS, 220_000, HIGH_BUFFER_S);
    s = step(s, backAt + 2 * PROBE_BACKOFF_MIN_MS - 1, 220_000, HIGH_BUFFER_S);
    expect(s.current).toBe('clip__144p');
    s = step(s, backAt + 2 * PROBE_BACKOFF_MIN_MS, 220_000, HIGH_BUFFER_S);
    expect(s).toMatchObject({ current: 'clip__240p', probing: true });
    // The back-off never grows past its ceiling.
    s = step(s, s.sinceMs + MIN_DWELL_MS, 280_000, HIGH_BUFFER_S);
    expect(s.backoffMs).toBe(PROBE_BACKOFF_MAX_MS);
  });

  it('a probe the link carries stays, and its burst may take it further up', () => {
    let s: AbrState = { ...initialAbrState('clip__240p', 0), probing: true, backoffMs: PROBE_BACKOFF_MAX_MS };
    s = step(s, MIN_DWELL_MS, 400_000, HIGH_BUFFER_S);
    expect(s).toMatchObject({ current: 'clip__240p', probing: false, backoffMs: PROBE_BACKOFF_MIN_MS });
    s = { ...initialAbrState('clip__240p', 0), probing: true };
    expect(step(s, MIN_DWELL_MS, 3_000_000, HIGH_BUFFER_S).current).toBe('clip');
  });

  it('an unknown current rung (the ladder changed) is left alone', () => {
    const s = initialAbrState('other', 0);
    expect(step(s, 10_000, 1, 0).current).toBe('other');
  });
});

describe('ThroughputWindow', () => {
  it('says nothing for the first second, then averages bytes over the window from the first byte', () => {
    const w = new ThroughputWindow();
    expect(w.bps(0)).toBeNull();
    w.add(100, 10_000);
    expect(w.bps(1_099)).toBeNull();
    w.add(600, 15_000);
    expect(w.bps(1_100)).toBe((25_000 * 8 * 1000) / 1_000);
    // Arrivals older than the window drop out: at 4.7 s the window starts at 0.7 s, after both.
    w.add(THROUGHPUT_WINDOW_MS + 500, 5_000);
    expect(w.bps(THROUGHPUT_WINDOW_MS + 550)).toBe(((15_000 + 5_000) * 8 * 1000) / THROUGHPUT_WINDOW_MS);
    expect(w.bps(THROUGHPUT_WINDOW_MS + 700)).toBe((5_000 * 8 * 1000) / THROUGHPUT_WINDOW_MS);
    w.reset();
    expect(w.bps(THROUGHPUT_WINDOW_MS + 700)).toBeNull();
  });
});
