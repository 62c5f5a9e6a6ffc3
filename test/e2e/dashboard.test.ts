// The dashboard in real Chromium against a real cluster: servers, the director, and decisions as they happen.
import { describe, expect, it } from 'vitest';
import { PHONE, openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

/** Short, so that a rotation happens while the test watches. */
const ROTATION_MS = 4_000;

describe('dashboard (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster({ rotationMs: ROTATION_MS });

  it('shows the three servers, where they are, and the director on duty', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 15_000 }).toBe(3);
      for (const id of ['fra-1', 'iad-1', 'sin-1']) {
        await expect.poll(() => page.locator('baton-server-card', { hasText: id }).count()).toBe(1);
      }
      expect(await page.locator('baton-world-map svg circle.server').count()).toBe(3);

      // The director rotates every few seconds: compare with the hub's answer until both agree.
      const panel = page.locator('baton-director-panel [data-testid=director]');
      await expect
        .poll(
          async () => {
            const { director } = await env.cluster.state();
            const text = (await panel.textContent()) ?? '';
            return director !== null && text.includes(director.id) && text.includes(`epoch ${director.epoch} `);
          },
          { timeout: 10_000 },
        )
        .toBe(true);
    } finally {
      await context.close();
    }
  });

  it('records each rotation of the director with its reason', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      const tenures = page.locator('baton-director-panel li');
      await expect.poll(() => tenures.count(), { timeout: ROTATION_MS * 3 }).toBeGreaterThanOrEqual(2);
      // Newest first, the newest is the director on duty, and each says why it got the baton.
      const current = page.locator('baton-director-panel [data-testid=director]');
      await expect
        .poll(async () => {
          const epoch = /epoch (\d+)/.exec((await tenures.first().textContent()) ?? '')?.[1];
          return epoch !== undefined && ((await current.textContent()) ?? '').includes(`epoch ${epoch} `);
        })
        .toBe(true);
      expect(((await tenures.first().locator('.why').textContent()) ?? '').trim()).not.toBe('');
    } finally {
      await context.close();
    }
  });

  it('shows the selection decision when a viewer starts watching', async () => {
    const dash = await openPage(env.browser);
    const viewer = await openPage(env.browser);
    try {
      await dash.page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      await expect.poll(() => dash.page.locator('baton-server-card').count(), { timeout: 15_000 }).toBe(3);

      await viewer.page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      const chosen = viewer.page.locator('baton-player [data-testid=server-id]');
      await chosen.waitFor({ timeout: 20_000 });
      const serverId = (await chosen.textContent())!.trim();

      const selections = dash.page.locator('baton-decision-log [data-testid=selections] li');
      await expect.poll(() => selections.count(), { timeout: 15_000 }).toBeGreaterThan(0);
      const latest = (await selections.first().textContent()) ?? '';
      expect(latest).toContain('demo-testsrc');
      expect(latest).toContain(serverId);

      // Playing a while lets the load samples and the session count move before the screenshot.
      const video = viewer.page.locator('baton-player video');
      await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, interval: 250 }).toBeGreaterThan(1);
      await screenshot(dash.page, 'dashboard-desktop');

      await dash.page.setViewportSize(PHONE);
      const overflow = await dash.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(dash.page, 'dashboard-phone');
    } finally {
      await viewer.context.close();
      await dash.context.close();
    }
  });
});
