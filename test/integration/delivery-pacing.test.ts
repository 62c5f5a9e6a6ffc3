// The pacing policy on its own (pure, fake clock): burst, 1.5× catch-up, bounded lead, pause.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LEAD_SECONDS,
  MAX_BURST_BYTES,
  MIN_BURST_BYTES,
  PACE_FACTOR,
  Pacer,
  SEEK_GRANT_SECONDS,
  allowedBytes,
  pacingFor,
  waitMs,
  type PacingConfig,
} from '../../node-app/delivery/pacer.js';

describe('pacing policy', () => {
  it('is off when the bitrate is unknown', () => {
    for (const b of [undefined, 0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(pacingFor(b)).toBeNull();
  });

  it('gives a low-bitrate clip the minimum burst and a 10 s lead', () => {
    expect(pacingFor(1_000_000)).toEqual({ bitrateBps: 1_000_000, burstBytes: MIN_BURST_BYTES, factor: PACE_FACTOR, leadBytes: 1_250_000 });
  });

  it('caps the burst for a high-bitrate asset', () => {
    const cfg = pacingFor(40_000_000)!;
    expect(cfg.burstBytes).toBe(MAX_BURST_BYTES);
    expect(cfg.leadBytes).toBe(LEAD_SECONDS * 5_000_000);
  });

  it('allows the burst at once, then 1.5× real time until the lead, then real time', () => {
    const cfg: PacingConfig = { bitrateBps: 8_000_000, burstBytes: 2_000_000, factor: 1.5, leadBytes: 5_000_000 };
    expect(allowedBytes(cfg, 0)).toBe(2_000_000);
    expect(allowedBytes(cfg, 1_000)).toBe(3_500_000);
    // The lead branch takes over at t = 6 s (2 MB + 1.5 MB/s·t = 5 MB + 1 MB/s·t).
    expect(allowedBytes(cfg, 6_000)).toBe(11_000_000);
    expect(allowedBytes(cfg, 16_000)).toBe(21_000_000);
  });

  it('waitMs is the shortest wait after which the bytes are allowed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100_000, max: 50_000_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.integer({ min: 0, max: 200_000_000 }),
        fc.integer({ min: 1, max: 65_527 }),
        (bitrateBps, activeMs, sent, want) => {
          const cfg = pacingFor(bitrateBps)!;
          const w = waitMs(cfg, activeMs, sent, want);
          expect(w).toBeGreaterThanOrEqual(0);
          expect(allowedBytes(cfg, activeMs + w)).toBeGreaterThanOrEqual(sent + want - 1e-6);
          if (w > 1) expect(allowedBytes(cfg, activeMs + w - 1)).toBeLessThan(sent + want);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a paused run does not earn allowance; a seek restarts the burst', () => {
    let now = 0;
    const cfg: PacingConfig = { bitrateBps: 800_000, burstBytes: 100_000, factor: 1.5, leadBytes: 400_000 };
    const pacer = new Pacer(cfg, () => now);
    pacer.restart();
    pacer.record(100_000);
    expect(pacer.delayMs(1)).toBeGreaterThan(0);
    now = 1_000;
    expect(pacer.delayMs(150_000)).toBe(0);
    pacer.pause();
    now = 60_000;
    expect(pacer.delayMs(150_001)).toBeGreaterThan(0);
    pacer.resume();
    now = 60_001;
    expect(pacer.delayMs(150_001)).toBe(0);
    pacer.record(1_000_000);
    expect(pacer.delayMs(1)).toBeGreaterThan(0);
    pacer.restart();
    expect(pacer.delayMs(100_000)).toBe(0);
  });

  it('a seek without a fresh burst sends its grant at once, then catches up from the new position', () => {
    let now = 0;
    const cfg: PacingConfig = { bitrateBps: 800_000, burstBytes: 100_000, factor: 1.5, leadBytes: 400_000 };
    const grant = (SEEK_GRANT_SECONDS * cfg.bitrateBps) / 8;
    const pacer = new Pacer(cfg, () => now);
    pacer.restart();
    pacer.record(300_000); // two bursts' worth sent for a position the viewer left
    now = 1_000;
    expect(pacer.delayMs(65_536)).toBeGreaterThan(500);
    pacer.seek();
    // The grant goes frame by frame, one frame even past what is left of it...
    let sent = 0;
    while (pacer.delayMs(65_536) === 0) {
      pacer.record(65_536);
      sent += 65_536;
    }
    expect(sent).toBeGreaterThanOrEqual(grant);
    expect(sent).toBeLessThan(grant + 65_536);
    // ...and what follows comes at the catch-up rate from the seek (the grant as the run's burst),
    // not once the old position's bytes are paid off.
    expect(pacer.delayMs(65_536)).toBe(waitMs({ ...cfg, burstBytes: grant }, 0, sent, 65_536));
    // A fresh burst clears what was left of a grant.
    pacer.seek();
    pacer.restart();
    pacer.record(100_000);
    expect(pacer.delayMs(65_536)).toBeGreaterThan(0);
  });

  it('ten seeks in 2 s past the fresh bursts: from the last one the viewer gets media at least as fast as it plays', () => {
    // A 1-hour asset at 70 kb/s (its burst, the 1-MiB minimum, is two minutes of media) and 64-KiB frames. The
    // grants were charged to the run the viewer left: the picture froze for over 30 s after the last seek.
    let now = 0;
    const cfg = pacingFor(70_000)!;
    const frame = 65_536;
    const pacer = new Pacer(cfg, () => now);
    const pump = (): number => {
      let bytes = 0;
      while (pacer.delayMs(frame) === 0) {
        pacer.record(frame);
        bytes += frame;
      }
      return bytes;
    };
    pacer.restart();
    pump();
    let received = 0;
    for (let i = 0; i < 8; i++) {
      now += 200;
      pacer.seek();
      received = pump(); // what the last seek's position gets
    }
    const bytesPerS = cfg.bitrateBps / 8;
    for (let s = 1; s <= 60; s++) {
      now += 1_000;
      received += pump();
      // Media ahead of the playhead, which has played s seconds since the last seek: never gone.
      expect(received / bytesPerS - s, `${s} s after the last seek`).toBeGreaterThan(0);
    }
  });
});
