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

  it('a seek without a fresh burst sends its grant at once, charged: what follows waits for the budget as before', () => {
    let now = 0;
    const cfg: PacingConfig = { bitrateBps: 800_000, burstBytes: 100_000, factor: 1.5, leadBytes: 400_000 };
    const grant = (SEEK_GRANT_SECONDS * cfg.bitrateBps) / 8;
    const pacer = new Pacer(cfg, () => now);
    pacer.restart();
    pacer.record(300_000); // two bursts' worth sent for a position the viewer left
    now = 1_000;
    const owed = pacer.delayMs(65_536);
    expect(owed).toBeGreaterThan(500);
    pacer.seek();
    // The grant goes frame by frame, one frame even past what is left of it...
    let sent = 0;
    while (pacer.delayMs(65_536) === 0) {
      pacer.record(65_536);
      sent += 65_536;
    }
    expect(sent).toBeGreaterThanOrEqual(grant);
    expect(sent).toBeLessThan(grant + 65_536);
    // ...and is charged: the next frame waits longer than before the seek.
    expect(pacer.delayMs(65_536)).toBeGreaterThan(owed);
    // A fresh burst clears what was left of a grant.
    pacer.seek();
    pacer.restart();
    pacer.record(100_000);
    expect(pacer.delayMs(65_536)).toBeGreaterThan(0);
  });
});
