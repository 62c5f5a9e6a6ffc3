// The player in real Chromium against a real cluster: it plays, says where from and why, and explains failures.
import { describe, expect, it } from 'vitest';
import { PHONE, openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const SERVER_IDS = ['fra-1', 'iad-1', 'sin-1'];
const REASONS = ['director-cache', 'cache', 'storage', 'live'];

describe('player (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster();

  it('plays demo-testsrc muted, showing which server serves it and why', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      const video = page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), {
          timeout: 30_000,
          interval: 250,
          message: `video never advanced; page errors: ${errors.join('; ')}`,
        })
        .toBeGreaterThan(1);

      expect(await video.evaluate((v: HTMLVideoElement) => v.muted)).toBe(true);
      expect(SERVER_IDS).toContain((await page.locator('baton-player [data-testid=server-id]').textContent())?.trim());
      expect(REASONS).toContain(await page.locator('baton-player [data-testid=reason]').getAttribute('data-reason'));
      expect(await page.locator('baton-player [data-testid=bytes-received]').textContent()).not.toMatch(/^0 B/);
      // The link is shareable: the asset (and the position, `t=`) stays in the hash.
      expect(new URL(page.url()).hash).toMatch(/^#\/watch\?asset=demo-testsrc(&t=\d+)?$/);
      // The catalog lists what the cluster stores, with the playing entry marked.
      await expect.poll(() => page.locator('baton-catalog a[aria-current=true]').textContent()).toContain('demo-testsrc');

      await screenshot(page, 'player-desktop');
    } finally {
      await context.close();
    }
  });

  it('picks a stream from the catalog and reflects it in the URL', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch`);
      await page.locator('baton-catalog a', { hasText: 'demo-smpte' }).click();
      await expect.poll(() => new URL(page.url()).hash).toBe('#/watch?asset=demo-smpte');
      const video = page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, interval: 250 })
        .toBeGreaterThan(0.5);
    } finally {
      await context.close();
    }
  });

  it('says plainly when the asset does not exist', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=no-such-clip`);
      const problem = page.locator('baton-player [data-testid=player-error]');
      await problem.waitFor({ timeout: 15_000 });
      expect(await problem.getAttribute('data-code')).toBe('unknown-asset');
      expect(await problem.textContent()).toContain('no stream called “no-such-clip”');
      await screenshot(page, 'player-unknown-asset');
    } finally {
      await context.close();
    }
  });

  it('fits a phone screen', async () => {
    const { context, page } = await openPage(env.browser, PHONE);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      const video = page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, interval: 250 })
        .toBeGreaterThan(0.5);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'player-phone');
    } finally {
      await context.close();
    }
  });
});
