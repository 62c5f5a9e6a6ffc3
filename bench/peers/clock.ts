// A wall clock drawn into video frames as a grid of black and white cells, and read back: the
// glass-to-glass probe every peer's figure uses. Pure (no DOM, no Node): the Node frame source,
// the Chromium canvas broadcaster and the viewer pages share this code (bundled with esbuild).

/** 32 bits of the time (ms, modulo 2³²: 49.7 days) and an 8-bit check (a CRC). */
export const CLOCK_TIME_BITS = 32;
export const CLOCK_CHECK_BITS = 8;
export const CLOCK_COLS = 8;
export const CLOCK_ROWS = 5;
/** Cells are 1/20 of the frame's width: 32 px in a 640-px frame, big enough to survive any encoder here. */
export const CLOCK_CELL_FRACTION = 1 / 20;
const WRAP = 2 ** CLOCK_TIME_BITS;

/** A frame's pixels: `channels` bytes per pixel (1 = luma, 4 = RGBA), rows `stride` bytes apart. */
export interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
  stride?: number;
}

/** The cell size for a frame `width` pixels wide (px). */
export function clockCellPx(width: number): number {
  return Math.max(4, Math.floor(width * CLOCK_CELL_FRACTION));
}

/** The region the clock occupies at the frame's top-left corner (px). */
export function clockRegion(width: number): { width: number; height: number } {
  const cell = clockCellPx(width);
  return { width: cell * CLOCK_COLS, height: cell * CLOCK_ROWS };
}

/**
 * CRC-8 (polynomial 0x07) of the time's four bytes, xor 0xa5 (so an all-black frame fails). It catches
 * every error of up to three cells. An XOR of the bytes did not: the bytes are the grid's rows, so two
 * cells one above the other — what a blocky, low-bitrate WebRTC frame smears — flipped the same bit of two
 * bytes and passed, reading e.g. 2¹⁷ + 2¹ ms = 131 s off.
 */
function check(t32: number): number {
  let c = 0;
  for (let shift = 24; shift >= 0; shift -= 8) {
    c ^= (t32 >>> shift) & 0xff;
    for (let i = 0; i < 8; i++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c ^ 0xa5;
}

function bitsOf(timeMs: number): number[] {
  const t32 = (Math.floor(timeMs) % WRAP) >>> 0;
  const bits: number[] = [];
  for (let i = CLOCK_TIME_BITS - 1; i >= 0; i--) bits.push((t32 >>> i) & 1);
  const c = check(t32);
  for (let i = CLOCK_CHECK_BITS - 1; i >= 0; i--) bits.push((c >>> i) & 1);
  return bits;
}

/** Draws `timeMs` (a wall-clock time, ms) into the frame's top-left region: 1 = white, 0 = black. */
export function drawClock(px: Pixels, timeMs: number): void {
  const cell = clockCellPx(px.width);
  const stride = px.stride ?? px.width * px.channels;
  const bits = bitsOf(timeMs);
  for (let b = 0; b < bits.length; b++) {
    const x0 = (b % CLOCK_COLS) * cell;
    const y0 = Math.floor(b / CLOCK_COLS) * cell;
    const v = bits[b] ? 255 : 0;
    for (let y = y0; y < y0 + cell && y < px.height; y++) {
      for (let x = x0; x < x0 + cell && x < px.width; x++) {
        const o = y * stride + x * px.channels;
        // RGB (or luma) to the bit's level; an alpha channel stays opaque.
        for (let c = 0; c < Math.min(px.channels, 3); c++) px.data[o + c] = v;
        if (px.channels === 4) px.data[o + 3] = 255;
      }
    }
  }
}

/**
 * Reads the clock from a frame: the mean level of each cell's central half against mid-grey. Returns the
 * full time (ms), the one within 2³¹ ms of `nowMs` that has the drawn low 32 bits; null when the check
 * bits disagree (no clock in the frame, or a frame too damaged to trust).
 */
export function readClock(px: Pixels, nowMs: number): number | null {
  const cell = clockCellPx(px.width);
  const stride = px.stride ?? px.width * px.channels;
  const inset = Math.floor(cell / 4);
  const bits: number[] = [];
  for (let b = 0; b < CLOCK_TIME_BITS + CLOCK_CHECK_BITS; b++) {
    const x0 = (b % CLOCK_COLS) * cell + inset;
    const y0 = Math.floor(b / CLOCK_COLS) * cell + inset;
    let sum = 0;
    let n = 0;
    for (let y = y0; y < y0 + cell - 2 * inset && y < px.height; y++) {
      for (let x = x0; x < x0 + cell - 2 * inset && x < px.width; x++) {
        const o = y * stride + x * px.channels;
        // Luma from RGB (Rec. 601 weights), or the one channel.
        sum += px.channels >= 3 ? 0.299 * px.data[o]! + 0.587 * px.data[o + 1]! + 0.114 * px.data[o + 2]! : px.data[o]!;
        n++;
      }
    }
    if (n === 0) return null;
    bits.push(sum / n >= 128 ? 1 : 0);
  }
  let t32 = 0;
  for (let i = 0; i < CLOCK_TIME_BITS; i++) t32 = (t32 * 2 + bits[i]!) % WRAP;
  let c = 0;
  for (let i = 0; i < CLOCK_CHECK_BITS; i++) c = c * 2 + bits[CLOCK_TIME_BITS + i]!;
  if (c !== check(t32)) return null;
  return t32 + Math.round((nowMs - t32) / WRAP) * WRAP;
}
