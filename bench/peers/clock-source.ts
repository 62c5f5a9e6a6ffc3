// The live source for glass-to-glass: 320×180 luma frames (small: the encoders share 2 cores with everything else) at 30 fps, each with the wall clock
// (Date.now()) drawn in as it is made, written raw to an encoder's stdin (ffmpeg -f rawvideo).
import type { Writable } from 'node:stream';
import { drawClock } from './clock.js';

export const CLOCK_WIDTH = 320;
export const CLOCK_HEIGHT = 180;
export const CLOCK_FPS = 30;
/** The input options ffmpeg needs to read these frames. */
export const CLOCK_FFMPEG_INPUT = [
  '-f',
  'rawvideo',
  '-pix_fmt',
  'gray',
  '-s',
  `${CLOCK_WIDTH}x${CLOCK_HEIGHT}`,
  '-framerate',
  String(CLOCK_FPS),
  '-i',
  'pipe:0',
];

/** Writes frames until stopped; when the encoder falls more than a frame behind, a frame is dropped, not queued (a camera drops too). */
export function startClockSource(out: Writable): { stop(): void } {
  const frameMs = 1000 / CLOCK_FPS;
  const t0 = performance.now();
  let n = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    if (out.writableLength <= CLOCK_WIDTH * CLOCK_HEIGHT) {
      const buf = Buffer.alloc(CLOCK_WIDTH * CLOCK_HEIGHT, 96);
      // Something that moves, so the encoder codes real motion, not a still.
      const x = (n * 4) % (CLOCK_WIDTH - 32);
      for (let y = CLOCK_HEIGHT - 40; y < CLOCK_HEIGHT - 8; y++) buf.fill(220, y * CLOCK_WIDTH + x, y * CLOCK_WIDTH + x + 32);
      drawClock({ data: buf, width: CLOCK_WIDTH, height: CLOCK_HEIGHT, channels: 1 }, Date.now());
      out.write(buf);
    }
    n++;
    // Scheduled against the start, so the rate does not drift with timer lateness.
    timer = setTimeout(tick, Math.max(0, t0 + n * frameMs - performance.now()));
  };
  out.on('error', () => (stopped = true));
  tick();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      out.end();
    },
  };
}
