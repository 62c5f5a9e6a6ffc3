// `npm run dev`'s hot replacement of Lit elements, in real Chromium against a real cluster: an edit to a component's
// render shows without a page reload and the video keeps playing; a change old instances cannot take reloads the page.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { ROOT, launchBrowser, openPage } from './helpers/browser.js';
import { buildWebClient } from './helpers/web-build.js';

const PLAYER = join(ROOT, 'web-client/components/baton-player.ts');
const ORIGINAL = readFileSync(PLAYER, 'utf8');
const HEADLINE = 'Streams come from the server the director picks for you, over WebRTC.';

/**
 * The edit is served by a plugin in front of the file instead of written to it: other suites build the web client
 * from these sources meanwhile, and a killed run must not leave the source changed. Vite gets the same change event
 * its file watcher would send.
 */
function editor() {
  let edited: string | undefined;
  const plugin: Plugin = {
    name: 'test-edit',
    enforce: 'pre',
    load(id) {
      return id.split('?')[0] === PLAYER ? edited : undefined;
    },
  };
  return {
    plugin,
    apply(server: ViteDevServer, source: string | undefined) {
      edited = source;
      server.watcher.emit('change', PLAYER);
    },
  };
}

const video = (page: Page) => page.locator('baton-player video');
const currentTime = (page: Page) => video(page).evaluate((v: HTMLVideoElement) => v.currentTime);

describe('npm run dev: Lit hot replacement (Chromium, hub + 3 servers)', () => {
  let cluster: Cluster & { stop(): Promise<void> };
  let vite: ViteDevServer;
  let browser: Browser;
  let url = '';
  const edit = editor();
  let cacheDir = '';

  beforeAll(async () => {
    // Its own dependency cache: `npm run dev` in the same checkout must not see this server's.
    cacheDir = await mkdtemp(join(tmpdir(), 'baton-vite-cache-'));
    cluster = await startCluster();
    process.env.BATON_HUB_URL = cluster.hubUrl;
    vite = await createServer({
      configFile: join(ROOT, 'vite.config.ts'),
      root: join(ROOT, 'web-client'),
      cacheDir,
      logLevel: 'warn',
      plugins: [edit.plugin],
      server: { host: '127.0.0.1', port: 0 },
    });
    await vite.listen();
    url = (vite.resolvedUrls?.local[0] ?? '').replace(/\/$/, '');
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await vite?.close();
    await cluster?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  /** The watch page playing demo-smpte, with a marker on window and on the video element that a reload would lose. */
  async function playing() {
    const opened = await openPage(browser);
    const { page, errors } = opened;
    await page.goto(`${url}/#/watch?asset=demo-smpte`);
    await expect
      .poll(() => currentTime(page), { timeout: 60_000, interval: 250, message: `video never advanced; page errors: ${errors.join('; ')}` })
      .toBeGreaterThan(1);
    await page.evaluate(() => {
      (window as unknown as { hmrMarker: string }).hmrMarker = 'before the edit';
    });
    await video(page).evaluate((v) => {
      (v as unknown as { hmrMarker: string }).hmrMarker = 'same element';
    });
    return opened;
  }

  const marker = (page: Page) => page.evaluate(() => (window as unknown as { hmrMarker?: string }).hmrMarker ?? null);

  it('shows an edit to the player’s render without a reload; the video element stays and keeps playing', async () => {
    const { context, page, errors } = await playing();
    try {
      const before = await currentTime(page);
      edit.apply(vite, ORIGINAL.replace(HEADLINE, 'Hot-replaced headline.'));
      await expect.poll(() => page.locator('baton-player .page-head p').textContent(), { timeout: 20_000 }).toBe('Hot-replaced headline.');
      expect(await marker(page)).toBe('before the edit');
      expect(await video(page).evaluate((v) => (v as unknown as { hmrMarker?: string }).hmrMarker ?? null)).toBe('same element');
      // The same playback goes on: the position moves on from where it was, never back to the start.
      await expect.poll(() => currentTime(page), { timeout: 10_000, interval: 250 }).toBeGreaterThan(before + 0.5);
      expect(errors).toEqual([]);
    } finally {
      edit.apply(vite, undefined);
      await context.close();
    }
  }, 120_000);

  const unreachable: ReadonlyArray<[string, string, string]> = [
    // Field initialisers ran when the live element was made.
    ['a new field', 'readonly #watch = new WatchController(this);', '$& readonly #added = 1;'],
    // The browser calls the lifecycle callbacks it read when the tag was defined.
    ['a new connectedCallback', 'override render() {', 'override connectedCallback(): void { super.connectedCallback(); }\n  $&'],
  ];
  it.each(unreachable)(
    'reloads the page when the change cannot reach live instances (%s)',
    async (_what, anchor, replacement) => {
      const { context, page } = await playing();
      try {
        const changed = ORIGINAL.replace(anchor, replacement);
        expect(changed).not.toBe(ORIGINAL);
        edit.apply(vite, changed);
        await expect.poll(() => marker(page), { timeout: 20_000 }).toBeNull();
        // The reloaded page plays again from the URL.
        await expect.poll(() => currentTime(page), { timeout: 60_000, interval: 250 }).toBeGreaterThan(0.5);
      } finally {
        edit.apply(vite, undefined);
        await context.close();
      }
    },
    120_000,
  );

  it('leaves the production build alone', async () => {
    const served = await (await fetch(`${url}/components/baton-player.ts`)).text();
    expect(served).toContain('__batonLitHmr');
    const dir = await buildWebClient();
    const assets = await readdir(join(dir, 'assets'));
    const scripts = await Promise.all(assets.filter((f) => f.endsWith('.js')).map((f) => readFile(join(dir, 'assets', f), 'utf8')));
    expect(scripts.length).toBeGreaterThan(0);
    for (const js of scripts) expect(js).not.toMatch(/__batonLitHmr|__hmr_|baton-lit-hmr/);
  }, 120_000);
});
