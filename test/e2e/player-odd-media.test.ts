// Odd but valid media in real Chromium: a stream without a picture says so; one without sound plays as any other.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const AUDIO_ONLY = 'audio-only';
const VIDEO_ONLY = 'video-only';

const storage = mkdtempSync(join(tmpdir(), 'baton-odd-media-e2e-'));

beforeAll(() => {
  const ffmpeg = (...args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '20',
    '-c:a',
    'libopus',
    '-b:a',
    '32k',
    join(storage, `${AUDIO_ONLY}.webm`),
  );
  ffmpeg(
    ...['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-t', '20'],
    ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-b:v', '100k'],
    join(storage, `${VIDEO_ONLY}.webm`),
  );
}, 120_000);
afterAll(() => rmSync(storage, { recursive: true, force: true }));

describe('player on odd but valid media (Chromium, one server)', () => {
  const env = useBrowserCluster({
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [] }],
  });

  it('says a stream without a picture is audio only, and that it plays muted until unmuted', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${AUDIO_ONLY}`);
      const video = page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, message: errors.join('; ') })
        .toBeGreaterThan(0.5);
      const notice = page.locator('baton-player [data-testid=audio-only]');
      await expect.poll(() => notice.textContent(), { timeout: 5_000 }).toMatch(/Audio only.*no picture.*unmute/s);
      await screenshot(page, 'player-audio-only');
      await video.evaluate((v: HTMLVideoElement) => (v.muted = false));
      await expect.poll(() => notice.textContent(), { timeout: 5_000 }).not.toMatch(/unmute/);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('plays a stream without sound like any other: no audio-only notice, the picture moves', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${VIDEO_ONLY}`);
      const video = page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, message: errors.join('; ') })
        .toBeGreaterThan(1);
      expect(await video.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(160);
      expect(await page.locator('baton-player [data-testid=audio-only]').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
