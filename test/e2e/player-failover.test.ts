// Failover seen from the player: the serving server dies mid-stream and playback carries on elsewhere, with a notice.
import { describe, expect, it } from 'vitest';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

describe('player failover (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster();

  it('resumes on another server when the serving one is killed, and says so', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      // The largest demo clip: servers pace delivery, so its bytes are still flowing when the server dies.
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-mandelbrot`);
      const video = page.locator('baton-player video');
      const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
      await expect.poll(currentTime, { timeout: 30_000, interval: 250, message: `never played; ${errors.join('; ')}` }).toBeGreaterThan(1);

      const serverId = page.locator('baton-player [data-testid=server-id]');
      const first = (await serverId.textContent())!.trim();
      await env.cluster.kill(first);
      const received = (await page.locator('baton-player [data-testid=bytes-received]').textContent()) ?? '';
      expect(received, 'the whole clip arrived before the kill; nothing left to fail over').not.toMatch(/^(\S+ \S+) of \1$/);

      const notice = page.locator('baton-player [data-testid=failover]');
      await notice.first().waitFor({ timeout: 20_000 });
      const text = (await notice.first().textContent()) ?? '';
      expect(text).toContain(first);
      expect(text).toMatch(/went away — resumed on \S+ at byte [\d,]+/);

      const second = (await serverId.textContent())!.trim();
      expect(second).not.toBe(first);
      expect(text).toContain(second);

      // Playback goes on past the moment of the failover.
      const at = await currentTime();
      await expect.poll(currentTime, { timeout: 20_000, interval: 250 }).toBeGreaterThan(at + 2);
      expect(await page.locator('baton-player [data-testid=player-error]').count()).toBe(0);
      await screenshot(page, 'player-failover');
    } finally {
      await context.close();
    }
  });
});
