// A stored file deleted from its only server while a viewer plays it, in real Chromium: the player plays out what it
// had buffered, says why the stream stopped, and says it again once the buffer is played (not "Unknown stream" at once).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const ID = 'going-away';
const storage = mkdtempSync(join(tmpdir(), 'baton-removed-e2e-'));

beforeAll(() => {
  execFileSync('ffmpeg', [
    // 1 Mbit/s for 45 s (noise keeps libvpx at its bitrate): past the server's first burst and its 10-s lead, so most
    // of the file has not arrived when it is deleted.
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '45', '-vf', 'noise=alls=30:allf=t'],
    ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '50', '-b:v', '1M'],
    join(storage, `${ID}.webm`),
  ]);
}, 120_000);
afterAll(() => rmSync(storage, { recursive: true, force: true }));

describe('player when its asset leaves the cluster mid-playback (Chromium, one server)', () => {
  const env = useBrowserCluster({
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [] }],
  });

  it('plays out what it buffered, with a notice, then says the stream was removed', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${ID}`);
      const video = page.locator('baton-player video');
      const now = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
      const ahead = () =>
        video.evaluate((v: HTMLVideoElement) => {
          const b = v.buffered;
          return b.length ? b.end(b.length - 1) - v.currentTime : 0;
        });
      await expect.poll(now, { timeout: 30_000, message: errors.join('; ') }).toBeGreaterThan(1);
      // The server keeps a viewer ≈ 10 s ahead: wait for a good part of that.
      await expect.poll(ahead, { timeout: 30_000, interval: 250 }).toBeGreaterThan(6);
      rmSync(join(storage, `${ID}.webm`));
      const notice = page.locator('baton-player [data-testid=interrupted]');
      await notice.waitFor({ timeout: 20_000 });
      expect(await notice.textContent()).toMatch(/removed.*playing the .* that arrived/is);
      // No error over the picture while the buffer lasts: the playhead goes on.
      const error = page.locator('baton-player [data-testid=player-error]');
      expect(await error.count()).toBe(0);
      const at = await now();
      await expect.poll(now, { timeout: 10_000, interval: 250 }).toBeGreaterThan(at + 2);
      expect(await error.count()).toBe(0);
      await screenshot(page, 'player-asset-removed-playing-out');
      // Once played out: the reason, over the last picture.
      await error.waitFor({ timeout: 30_000 });
      expect(await error.textContent(), `code ${await error.getAttribute('data-code')}`).toMatch(/removed/i);
      await screenshot(page, 'player-asset-removed-ended');
    } finally {
      await context.close();
    }
  }, 120_000);
});
