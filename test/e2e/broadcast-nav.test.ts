// A live broadcaster in real Chromium: other pages of the app keep the broadcast on air (with a LIVE mark in the nav); closing the tab asks first.
import { describe, expect, it } from 'vitest';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import { FAKE_MEDIA_ARGS, fillForm, goLive } from './helpers/broadcast-form.js';

describe('broadcaster safety (Chromium with a fake camera, hub + 3 servers)', () => {
  const env = useBrowserCluster({}, FAKE_MEDIA_ARGS);

  it('keeps broadcasting while the user opens other pages, and asks before the tab closes', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await page.locator('baton-broadcast-setup [data-source=camera]').click();
      await page.locator('baton-broadcast-setup [data-testid=source-info]').waitFor({ timeout: 15_000 });
      await fillForm(page, 'test-key', 'Frankf', /Frankfurt am Main, DE/);
      await goLive(page);
      const state = page.locator('baton-broadcaster [data-testid=broadcast-state]');
      // The phase, or the problem the page shows (a refused publish, a busy director): a failure names it.
      const problem = page.locator('baton-broadcaster [data-testid=broadcast-problem]');
      const phaseOrProblem = async () =>
        (await problem.count())
          ? `problem ${await problem.getAttribute('data-code')}: ${await problem.textContent()}`
          : await state.getAttribute('data-phase');
      await expect.poll(phaseOrProblem, { timeout: 30_000, message: `never went live; ${errors.join('; ')}` }).toBe('live');
      const stored = page.locator('baton-ingest-card [data-role=primary] [data-testid=ingest-stored]');
      await expect.poll(() => stored.textContent(), { timeout: 20_000 }).toMatch(/[1-9]/);

      // Open the player from the nav: the broadcast goes on, and the nav says it is live.
      await page.locator('baton-app nav ul a', { hasText: 'Watch' }).click();
      await expect.poll(() => new URL(page.url()).hash).toBe('#/watch');
      await page.locator('baton-player').waitFor();
      const onAir = page.locator('baton-app [data-testid=nav-on-air]');
      await onAir.waitFor({ timeout: 5_000 });
      expect(await state.getAttribute('data-phase')).toBe('live');
      // The servers still acknowledge new bytes while another page is shown.
      const before = await stored.textContent();
      await expect.poll(() => stored.textContent(), { timeout: 20_000, message: 'uploads stopped when the page changed' }).not.toBe(before);
      await screenshot(page, 'nav-on-air-watch');

      // The LIVE mark leads back to the same broadcast, still on air.
      await onAir.click();
      await expect.poll(() => new URL(page.url()).hash).toBe('#/broadcast');
      // The hash changes before the app renders the route (Lit updates in a microtask after it): wait for the page.
      await page.locator('baton-broadcaster').waitFor({ state: 'visible', timeout: 5_000 });
      expect(await state.getAttribute('data-phase')).toBe('live');

      // Closing the tab asks first; dismissing keeps the broadcast.
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.type());
        void d.dismiss();
      });
      await page.close({ runBeforeUnload: true });
      await expect.poll(() => dialogs, { timeout: 10_000 }).toEqual(['beforeunload']);
      expect(page.isClosed()).toBe(false);
      expect(await state.getAttribute('data-phase')).toBe('live');
    } finally {
      await context.close();
    }
  });
});
