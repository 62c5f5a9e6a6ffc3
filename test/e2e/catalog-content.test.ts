// Titles, descriptions, posters, search and viewer counts in real Chromium against a real cluster:
// a sidecar names a stored clip, the server makes its poster, the catalog finds it by a word of its
// description, the player shows how many watch it; a broadcaster's title reaches the catalog, and its live
// stream gets a poster.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import { FAKE_MEDIA_ARGS, fillForm, goLive, openCameraForm } from './helpers/broadcast-form.js';
import { waitFor } from '../helpers/cluster.js';

const SMPTE = { title: 'SMPTE colour bars', description: 'Broadcast test card with a steady 1 kHz tone, for checking colours.' };
/** Longer than a page's excerpt: the last word is only in the whole description, which the hub searches. */
const TESTSRC_DESCRIPTION = `${'A generated test pattern with moving parts. '.repeat(9)}It ends with a quokka.`;

/** The ids of the catalog entries shown now. */
const shown = (page: Page): Promise<string[]> =>
  page.locator('baton-catalog [data-testid=catalog-entry]').evaluateAll((els) => els.map((e) => e.getAttribute('data-asset') ?? ''));

describe('catalog content and viewer counts (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster({}, FAKE_MEDIA_ARGS);

  const withPosters = async (): Promise<void> => {
    // Sidecars beside the media on every holder (any holder's title is the catalog's).
    for (const s of env.cluster.servers.values()) {
      writeFileSync(join(s.storage, 'demo-smpte.json'), JSON.stringify(SMPTE));
      writeFileSync(join(s.storage, 'demo-mandelbrot.json'), JSON.stringify({ title: 'Mandelbrot zoom' }));
      writeFileSync(join(s.storage, 'demo-testsrc.json'), JSON.stringify({ description: TESTSRC_DESCRIPTION }));
    }
    await waitFor(
      'titles and a poster for every demo clip in the catalog',
      async () => {
        const { assets } = (await (await fetch(`${env.cluster.hubUrl}/api/catalog`)).json()) as {
          assets: { id: string; title?: string; posterUrl?: string }[];
        };
        const demo = assets.filter((a) => a.id.startsWith('demo-'));
        return demo.length === 3 && demo.every((a) => a.posterUrl) && assets.find((a) => a.id === 'demo-smpte')?.title === SMPTE.title;
      },
      60_000,
      250,
    );
  };

  it('shows titles, descriptions and posters, and finds entries by title, description or id', async () => {
    await withPosters();
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch`);
      const smpte = page.locator('baton-catalog [data-testid=catalog-entry][data-asset=demo-smpte]');
      await smpte.waitFor({ timeout: 15_000 });
      expect(await smpte.locator('[data-testid=title]').textContent()).toBe(SMPTE.title);
      expect(await smpte.locator('[data-testid=description]').textContent()).toBe(SMPTE.description);
      // Text a publisher wrote is laid out apart from what surrounds it: an unbalanced bidi embedding in a title or a
      // description cannot reorder the id, the badges or the next entry.
      for (const field of ['title', 'description'])
        expect(await smpte.locator(`[data-testid=${field}] > *`).evaluate((e) => getComputedStyle(e).unicodeBidi)).toBe('isolate');
      // The poster is a real picture served by a media server.
      const poster = smpte.locator('img[data-testid=poster]');
      await expect
        .poll(() => poster.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), {
          timeout: 15_000,
          message: `poster never loaded; page errors: ${errors.join('; ')}`,
        })
        .toBeGreaterThan(100);
      // An entry without a sidecar is listed under its id.
      expect(await page.locator('baton-catalog [data-asset=demo-testsrc] [data-testid=title]').textContent()).toBe('demo-testsrc');
      // A long description is an excerpt in the list (the page carries ≤ 280 characters of it).
      const excerpt = (await page.locator('baton-catalog [data-asset=demo-testsrc] [data-testid=description]').textContent()) ?? '';
      expect(excerpt.length).toBeLessThanOrEqual(280);
      expect(excerpt).toMatch(/…$/);

      const search = page.locator('baton-catalog [data-testid=catalog-search]');
      await search.fill('colours'); // a word of the description only
      await expect.poll(() => shown(page)).toEqual(['demo-smpte']);
      await search.fill('MANDELBROT zoom'); // the title, any case, every word
      await expect.poll(() => shown(page)).toEqual(['demo-mandelbrot']);
      await search.fill('testsrc'); // the id
      await expect.poll(() => shown(page)).toEqual(['demo-testsrc']);
      // A word past the excerpt: only the hub's search, over the whole description, finds it.
      await search.fill('QUOKKA');
      await expect.poll(() => shown(page)).toEqual(['demo-testsrc']);
      expect(await page.locator('baton-catalog [data-testid=search-count]').getAttribute('data-searched')).toBe('hub');
      await search.fill('nothing-called-this');
      await expect.poll(() => shown(page)).toEqual([]);
      expect(await page.locator('baton-catalog p.empty').textContent()).toBe('Nothing matches “nothing-called-this”.');
      // A pasted link with no space in it is echoed in that message: it wraps, the page does not widen (it scrolled
      // sideways 1,300 px for 5,000 characters).
      await search.fill(`https://example.org/${'x'.repeat(600)}`);
      await expect.poll(() => page.locator('baton-catalog p.empty').count()).toBe(1);
      expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
      await search.fill('');
      await expect.poll(async () => (await shown(page)).length).toBe(3);
      await screenshot(page, 'catalog-posters');
    } finally {
      await context.close();
    }
  });

  it('the player shows the title and description, and how many watch: 1, 2 with a second viewer, 1 when it leaves', async () => {
    await withPosters();
    const first = await openPage(env.browser);
    const second = await openPage(env.browser);
    try {
      await first.page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-smpte`);
      await expect
        .poll(() => first.page.locator('baton-player [data-testid=player-title]').textContent(), { timeout: 15_000 })
        .toBe(SMPTE.title);
      expect(await first.page.locator('baton-player [data-testid=player-description]').textContent()).toBe(SMPTE.description);
      // The player shows a description whole, not the catalog page's excerpt.
      await second.page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      await expect
        .poll(() => second.page.locator('baton-player [data-testid=player-description]').textContent(), { timeout: 15_000 })
        .toBe(TESTSRC_DESCRIPTION);
      const viewers = first.page.locator('baton-player [data-testid=player-viewers]');
      await expect
        .poll(() => viewers.getAttribute('data-viewers'), { timeout: 15_000, message: `no count; errors: ${first.errors.join('; ')}` })
        .toBe('1');
      expect(await viewers.textContent()).toBe('1 watching');

      await second.page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-smpte`);
      await expect.poll(() => viewers.getAttribute('data-viewers'), { timeout: 15_000 }).toBe('2');
      // The catalog entry carries the same figure.
      await expect
        .poll(() => first.page.locator('baton-catalog [data-asset=demo-smpte] [data-testid=viewers]').textContent(), { timeout: 15_000 })
        .toBe('2 watching');
      await screenshot(first.page, 'player-title-viewers');

      await second.context.close();
      await expect.poll(() => viewers.getAttribute('data-viewers'), { timeout: 15_000 }).toBe('1');
    } finally {
      await first.context.close();
      await second.context.close().catch(() => undefined);
    }
  });

  it('a broadcaster’s title and description reach the catalog and the player', async () => {
    const b = await openPage(env.browser);
    const v = await openPage(env.browser);
    try {
      await openCameraForm(b.page, env.cluster.hubUrl);
      await fillForm(b.page, 'test-key', 'Singapore', null);
      // Too long first: the page names the field and sends nothing.
      await b.page.locator('baton-broadcast-setup #title').evaluate((el: HTMLInputElement) => {
        el.removeAttribute('maxlength');
      });
      await b.page.locator('baton-broadcast-setup #title').fill('x'.repeat(201));
      await goLive(b.page);
      await expect
        .poll(() => b.page.locator('baton-broadcast-setup .field-error').first().textContent(), { timeout: 10_000 })
        .toBe('One line, at most 200 characters.');
      await b.page.locator('baton-broadcast-setup #title').fill('Rooftop sunrise');
      await b.page.locator('baton-broadcast-setup #description').fill('Live from the roof,\nfacing east.');
      await goLive(b.page);
      const link = b.page.locator('baton-broadcaster [data-testid=watch-link]');
      await link.waitFor({ timeout: 30_000 });
      const href = (await link.getAttribute('href'))!;
      const streamId = decodeURIComponent(/asset=([^&]+)/.exec(href)![1]!);

      await v.page.goto(`${env.cluster.hubUrl}/#/watch`);
      const entry = v.page.locator(`baton-catalog [data-testid=catalog-entry][data-asset="${streamId}"]`);
      await entry.waitFor({ timeout: 30_000 });
      expect(await entry.locator('[data-testid=title]').textContent()).toBe('Rooftop sunrise');
      expect(await entry.locator('[data-testid=description]').textContent()).toBe('Live from the roof,\nfacing east.');
      // While live, the entry server makes a poster from the stream's first Cluster (the catalog refreshes every 10 s).
      await expect
        .poll(
          () =>
            entry
              .locator('img[data-testid=poster]')
              .evaluateAll((imgs: HTMLImageElement[]) => imgs.map((img) => (img.complete ? img.naturalWidth : 0))[0] ?? 0),
          { timeout: 30_000, interval: 500 },
        )
        .toBeGreaterThan(100);
      await entry.click();
      await expect
        .poll(() => v.page.locator('baton-player [data-testid=player-title]').textContent(), { timeout: 15_000 })
        .toBe('Rooftop sunrise');
      await b.page.locator('baton-broadcast-setup [data-testid=end-broadcast]').click();
      await expect
        .poll(() => b.page.locator('baton-broadcaster [data-testid=broadcast-state]').getAttribute('data-phase'), { timeout: 30_000 })
        .toBe('ended');
    } finally {
      await v.context.close();
      await b.context.close();
    }
  });
});
