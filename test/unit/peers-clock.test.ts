// The glass-to-glass clock: drawn into a frame, read back exactly; a frame without one reads as null.
import { describe, expect, it } from 'vitest';
import { clockRegion, drawClock, readClock, type Pixels } from '../../bench/peers/clock.js';

const frame = (width: number, height: number, channels: number, fill = 128): Pixels => ({
  data: new Uint8ClampedArray(width * height * channels).fill(fill),
  width,
  height,
  channels,
});

describe('peers clock', () => {
  const now = Date.UTC(2026, 11, 31, 23, 59, 59, 987);

  it('reads back the exact millisecond drawn into a luma frame and an RGBA frame', () => {
    for (const channels of [1, 4]) {
      for (const t of [now, now - 1, now - 123_456, 0x1_0000_0000 * 400 + 5]) {
        const px = frame(640, 360, channels);
        drawClock(px, t);
        expect(readClock(px, t + 250)).toBe(t);
      }
    }
  });

  it('survives what an encoder does to it: blur-like noise of ±60 levels in every pixel', () => {
    const px = frame(320, 240, 4);
    drawClock(px, now);
    let seed = 7;
    for (let i = 0; i < px.data.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      px.data[i] = Math.max(0, Math.min(255, px.data[i]! + ((seed >>> 16) % 121) - 60));
    }
    expect(readClock(px, now + 40)).toBe(now);
  });

  it('picks the time nearest to now across the 2^32-ms wrap', () => {
    const t = 0x1_0000_0000 * 401 - 3; // just before a wrap
    const px = frame(640, 360, 1);
    drawClock(px, t);
    expect(readClock(px, t + 10)).toBe(t); // viewer is already past the wrap
  });

  it('returns null for a frame with no clock (the check bits disagree)', () => {
    const px = frame(640, 360, 4, 0);
    // All black: time 0 with check 0, but check(0) is 0xa5.
    expect(readClock(px, now)).toBeNull();
    const grey = frame(640, 360, 1, 200);
    expect(readClock(grey, now)).toBeNull();
  });

  it('refuses a frame where two cells one above the other are flipped (a smear an XOR check let through)', () => {
    const px = frame(640, 360, 1);
    drawClock(px, now);
    const cell = 32; // 640 / 20
    // Column 6 of rows 1 and 2: bit 1 of the time's second and third bytes (2^17 + 2^9 ms apart).
    for (const row of [1, 2])
      for (let y = row * cell; y < (row + 1) * cell; y++)
        for (let x = 6 * cell; x < 7 * cell; x++) px.data[y * 640 + x] = 255 - px.data[y * 640 + x]!;
    expect(readClock(px, now)).toBeNull();
    // Any one to three flipped cells, anywhere in the 40: never a wrong time.
    let seed = 11;
    for (let trial = 0; trial < 300; trial++) {
      const damaged = frame(640, 360, 1);
      drawClock(damaged, now);
      const cells = new Set<number>();
      const n = 1 + (trial % 3);
      while (cells.size < n) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        cells.add((seed >>> 16) % 40);
      }
      for (const b of cells) {
        const [cx, cy] = [(b % 8) * cell, Math.floor(b / 8) * cell];
        for (let y = cy; y < cy + cell; y++)
          for (let x = cx; x < cx + cell; x++) damaged.data[y * 640 + x] = 255 - damaged.data[y * 640 + x]!;
      }
      expect(readClock(damaged, now)).toBeNull();
    }
  });

  it('draws only inside its region at the top-left', () => {
    const px = frame(640, 360, 1, 77);
    drawClock(px, now);
    const r = clockRegion(640);
    expect(px.data[r.height * 640 + r.width]).toBe(77);
    expect(px.data[(r.height - 1) * 640 + r.width]).toBe(77);
  });
});
