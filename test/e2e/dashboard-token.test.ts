// The dashboard of a hub started with --operator-token, in real Chromium: the token as the app's own links carry
// their parameters (`#/dashboard?token=T`), and what the page says without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Cluster, THREE_SERVERS } from '../helpers/cluster.js';
import { launchBrowser, openPage, screenshot } from './helpers/browser.js';
import { buildWebClient } from './helpers/web-build.js';

const TOKEN = 'operator-token-for-the-dashboard';

describe('dashboard of a hub with an operator token (Chromium, hub + 1 server)', () => {
  let cluster: Cluster | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    const staticDir = await buildWebClient();
    const c = new Cluster({ servers: THREE_SERVERS.slice(0, 1), hubArgs: ['--operator-token', TOKEN], staticDir });
    c.stateHeaders = { authorization: `Bearer ${TOKEN}` };
    cluster = c;
    await c.start();
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('takes the token from the route (#/dashboard?token=T), as from the query before the #', async () => {
    for (const path of [`/#/dashboard?token=${TOKEN}`, `/?token=${TOKEN}#/dashboard`]) {
      const { context, page } = await openPage(browser!);
      try {
        await page.goto(`${cluster!.hubUrl}${path}`);
        await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 15_000, message: path }).toBe(1);
        // Kept for the tab's session, not in the address bar (a shared screen, a pasted link, the history).
        expect(page.url(), path).not.toContain(TOKEN);
        expect(page.url(), path).toMatch(/#\/dashboard$/);
        await page.reload();
        await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 15_000, message: `${path} reloaded` }).toBe(1);
      } finally {
        await context.close();
      }
    }
  });

  it('without it (the prompt dismissed), says the hub wants its token and how to give it, not that it is unreachable', async () => {
    const { context, page } = await openPage(browser!);
    try {
      const asked: string[] = [];
      page.on('dialog', (d) => {
        asked.push(d.message());
        void d.dismiss();
      });
      await page.goto(`${cluster!.hubUrl}/#/dashboard`);
      const banner = page.locator('baton-dashboard [data-testid=token-needed]');
      await banner.waitFor({ timeout: 15_000 });
      expect(await banner.textContent()).toMatch(/operator token[\s\S]*#\/dashboard\?token=/);
      expect(await page.locator('baton-dashboard [role=status]').textContent()).toMatch(/Operator token needed/);
      expect(asked).toEqual(['This hub needs its operator token to show the dashboard:']);
      // The hub list was refused too: it says so, and not that it is still loading.
      const hubList = page.locator('baton-hub-list section');
      await expect.poll(() => hubList.textContent(), { timeout: 10_000 }).toMatch(/Hub list unavailable: operator token required/);
      expect(await hubList.textContent()).not.toMatch(/Loading/);
      await screenshot(page, 'dashboard-token-needed');
    } finally {
      await context.close();
    }
  });
});
