// The web player at the end of a recording, in real Chromium: the server gives the session's slot back once the end
// was sent (10 s by default; here the operator's `--idle-timeout-ms`, which bounds it too, makes it 3 s), and a seek
// back to media the player no longer has asks for a new session and plays from there.
import { describe, expect, it } from 'vitest';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const ID = 'demo-mandelbrot';
/** The server's idle bound: an ended session's slot is given back after min(this, 10 s); no wait of the default 10 s. */
const IDLE_MS = 3_000;

describe('player idle at the end of a recording (Chromium, one server)', () => {
  const env = useBrowserCluster({
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [ID], extraArgs: ['--idle-timeout-ms', String(IDLE_MS)] },
    ],
  });

  /** fra-1's open viewer sessions, from its log of each slot taken and given back. */
  const sessions = () => {
    const out = env.cluster.servers.get('fra-1')!.output();
    return out.split('"watch session opened"').length - out.split('"watch session ended"').length;
  };

  it('the slot is given back after the end; a seek back outside the buffer plays from there', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      // Starts 15 s into the 20 s clip: what the player holds begins there (at the keyframe before it).
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${ID}&t=15`);
      const video = page.locator('baton-player video');
      const now = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
      await expect.poll(now, { timeout: 30_000, message: errors.join('; ') }).toBeGreaterThan(15);
      await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.ended), { timeout: 30_000 }).toBe(true);
      const bufferedFrom = await video.evaluate((v: HTMLVideoElement) => v.buffered.start(0));
      expect(bufferedFrom).toBeGreaterThan(5);
      // The end was sent: the server closes the session (idle) and frees its slot.
      await expect.poll(sessions, { timeout: 30_000, interval: 250 }).toBe(0);
      const error = page.locator('baton-player [data-testid=player-error]');
      expect(await error.count()).toBe(0);
      // Back to 2 s: not in the buffer, so a new session brings it.
      await video.evaluate((v: HTMLVideoElement) => {
        v.currentTime = 2;
        void v.play();
      });
      await expect.poll(now, { timeout: 30_000, interval: 250, message: errors.join('; ') }).toBeGreaterThan(4);
      expect(await now()).toBeLessThan(bufferedFrom);
      expect(sessions()).toBe(1);
      expect(await error.count()).toBe(0);
      await screenshot(page, 'player-idle-end-seek-back');
    } finally {
      await context.close();
    }
  }, 150_000);
});
