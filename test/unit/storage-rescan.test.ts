// How often a media server rescans its storage: every 2 s for a small library, and never more than a fifth of its time.
import { describe, expect, it } from 'vitest';
import { RESCAN_IDLE_FACTOR, rescanDelayMs } from '../../node-app/server/rescan-schedule.js';

describe('rescanDelayMs', () => {
  it('waits 2 s after a quick scan, and RESCAN_IDLE_FACTOR times a slow one (6,500 files took 65 % of a core at a fixed 2 s)', () => {
    expect(rescanDelayMs(5)).toBe(2_000);
    expect(rescanDelayMs(500)).toBe(2_000);
    expect(rescanDelayMs(1_500)).toBe(6_000);
    expect(rescanDelayMs(10_000)).toBe(40_000);
    for (const scanMs of [600, 3_000, 60_000])
      expect(scanMs / (scanMs + rescanDelayMs(scanMs))).toBeLessThanOrEqual(1 / (1 + RESCAN_IDLE_FACTOR));
  });
});
