// A video track with a hole of seconds (variable frame rate: a screen recording with no frames while nothing changed),
// audio all along, in real Chromium: the player plays through the hole to the end instead of spinning for ever.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openPage } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

/** The clips: video frames for the first 3 s and the last 3 s, none between (the audio goes on). */
const CLIPS = [
  // Shorter than the 3 s Chromium plays on past the last frame: it stops inside the media after the hole.
  { id: 'vfr-short-hole', codec: 'libvpx', holeS: 1 },
  { id: 'vfr-hole', codec: 'libvpx', holeS: 4 },
  // Farther than the sink's gap jump reaches (3 s) from where Chromium stops (3 s past the last frame).
  { id: 'vfr-long-hole', codec: 'libvpx-vp9', holeS: 10 },
] as const;
const durationS = (c: (typeof CLIPS)[number]) => 6 + c.holeS;

const storage = mkdtempSync(join(tmpdir(), 'baton-vfr-e2e-'));

beforeAll(() => {
  for (const c of CLIPS)
    execFileSync('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000', '-t', String(durationS(c))],
      ...['-vf', `select='not(between(t,3,${3 + c.holeS - 0.01}))'`, '-fps_mode', 'vfr'],
      ...['-c:v', c.codec, '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-b:v', '300k', '-c:a', 'libopus', '-b:a', '48k'],
      join(storage, `${c.id}.webm`),
    ]);
}, 120_000);
afterAll(() => rmSync(storage, { recursive: true, force: true }));

describe('player on a video track with a hole of seconds (Chromium, one server)', () => {
  const env = useBrowserCluster({
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [] }],
  });

  // The three play side by side, each in its own context and page (three 320x240 pictures at 15 fps): each plays in
  // real time to its end, 7 + 10 + 16 s one after another. Concurrent tests take `expect` from their context.
  it.concurrent.for(CLIPS)(
    'plays $id ($codec, a $holeS-s hole) through the hole to the end',
    { timeout: 120_000 },
    async (clip, { expect }) => {
      const DURATION_S = durationS(clip);
      const { context, page, errors } = await openPage(env.browser);
      try {
        await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${clip.id}`);
        const video = page.locator('baton-player video');
        // What the element says, for a failure: before the fix the 4-s hole stood at 5.945 s, readyState 2, buffered
        // 0–3.006 and 7.021–10.021 s, with no `waiting` event, for ever.
        const state = () =>
          video.evaluate((v: HTMLVideoElement) => {
            const b = v.buffered;
            const ranges = Array.from({ length: b.length }, (_, i) => `${b.start(i).toFixed(3)}-${b.end(i).toFixed(3)}`);
            return `currentTime ${v.currentTime}, readyState ${v.readyState}, paused ${v.paused}, buffered ${ranges.join(',')}`;
          });
        await expect
          .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, message: errors.join('; ') })
          .toBeGreaterThan(1);
        // The clip's length, with a minute of slack for a loaded machine.
        await expect
          .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 60_000 })
          .toBeGreaterThanOrEqual(DURATION_S - 0.5)
          .catch(async (err: unknown) => {
            throw new Error(`stuck: ${await state()}; ${errors.join('; ')}`, { cause: err });
          });
        // It played to its end: the element ended (no "Buffering…" left on it).
        await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.ended), { timeout: 10_000 }).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});
