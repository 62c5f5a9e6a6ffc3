// The player in real Chromium against a real cluster: it plays, says where from and why, and explains failures.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PHONE, openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const SERVER_IDS = ['fra-1', 'iad-1', 'sin-1'];
const REASONS = ['director-cache', 'cache', 'storage', 'live'];

/** The player's video, once it has played past `seconds`. */
async function playedPast(page: Page, seconds: number, errors: string[]) {
  const video = page.locator('baton-player video');
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), {
      timeout: 30_000,
      interval: 250,
      message: `video never advanced; page errors: ${errors.join('; ')}`,
    })
    .toBeGreaterThan(seconds);
  return video;
}

describe('player (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster();

  it('plays demo-testsrc muted, showing which server serves it and why', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      const video = await playedPast(page, 1, errors);
      // Played without its chunks held (as a viewer loads it): the player says what the element does, no "Buffering…" over it.
      await expect.poll(() => page.locator('baton-player .overlay').count(), { timeout: 5_000 }).toBe(0);

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

  it('starts the watch before the app has loaded and hands it to the player: one hub socket (opened by the page HTML), one watch, one peer', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      // Count what the page opens: hub sockets, watch requests (socket.io event packets) and peer connections.
      await context.addInitScript(`(() => {
        const n = (window.__opened = { sockets: 0, fromHtml: 0, connects: 0, watches: 0, peers: 0 });
        const WS = window.WebSocket;
        window.WebSocket = class extends WS {
          constructor(url, protocols) {
            super(url, protocols);
            if (!String(url).includes('/socket.io/')) return;
            n.sockets++;
            // Opened by index.html's inline script (a classic script without src), not by a module.
            if (document.currentScript && !document.currentScript.src) n.fromHtml++;
            const send = this.send.bind(this);
            this.send = (data) => {
              if (typeof data === 'string' && /^42\\/client,\\d*\\["watch"/.test(data)) n.watches++;
              if (data === '40/client,') n.connects++;
              return send(data);
            };
          }
        };
        const PC = window.RTCPeerConnection;
        window.RTCPeerConnection = function (...args) {
          n.peers++;
          return new PC(...args);
        };
        window.RTCPeerConnection.prototype = PC.prototype;
      })();`);
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      await playedPast(page, 0.5, errors);
      const opened = await page.evaluate(() => (window as unknown as { __opened: Record<string, number> }).__opened);
      // The one socket is the WebSocket index.html opened while the first module loaded, taken over by socket.io, and
      // it asked for the /client namespace once (the script did, socket.io did not again).
      expect(opened).toMatchObject({ sockets: 1, fromHtml: 1, connects: 1, watches: 1, peers: 1 });
    } finally {
      await context.close();
    }
  });

  it("asks the watch, with its offer, from the first module: the hub has answered and the peer connected before the player's code arrives", async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      // Every script but the first module (and the runtime it imports) waits until the hub has answered the watch.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const held: string[] = [];
      await context.route(/\/assets\/.+\.js$/, async (route) => {
        const name = new URL(route.request().url()).pathname.split('/').pop()!;
        if (!/^(index|rolldown-runtime)-/.test(name)) {
          held.push(name);
          await released;
        }
        await route.continue();
      });
      await context.addInitScript(`(() => {
        const seen = (window.__watch = { watches: [], answered: false, connected: false });
        const PC = window.RTCPeerConnection;
        window.RTCPeerConnection = function (...args) {
          const pc = new PC(...args);
          pc.addEventListener('connectionstatechange', () => {
            if (pc.connectionState === 'connected') seen.connected = true;
          });
          return pc;
        };
        window.RTCPeerConnection.prototype = PC.prototype;
        const WS = window.WebSocket;
        window.WebSocket = class extends WS {
          constructor(url, protocols) {
            super(url, protocols);
            if (!String(url).includes('/socket.io/')) return;
            this.addEventListener('message', (e) => {
              if (typeof e.data === 'string' && /^43\\/client,\\d+\\[\\{"ok":true,"sessionId"/.test(e.data)) seen.answered = true;
            });
            const send = this.send.bind(this);
            this.send = (data) => {
              if (typeof data === 'string' && /^42\\/client,\\d*\\["watch"/.test(data)) seen.watches.push(JSON.parse(data.slice(data.indexOf('['))));
              return send(data);
            };
          }
        };
      })();`);
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      const seen = () =>
        page.evaluate(() => (window as unknown as { __watch: { watches: unknown[][]; answered: boolean; connected: boolean } }).__watch);
      await expect.poll(async () => (await seen()).answered, { timeout: 15_000 }).toBe(true);
      // The first module gave the peer the server's answer itself: it connects without the player's code.
      await expect.poll(async () => (await seen()).connected, { timeout: 15_000 }).toBe(true);
      // The player's code was indeed held back (it is asked for once the first module has shown the first frame).
      await expect.poll(() => held.length, { timeout: 15_000 }).toBeGreaterThan(0);
      const [watch] = (await seen()).watches;
      expect(watch?.[1]).toMatchObject({ assetId: 'demo-testsrc', offset: 0, offer: { type: 'offer' } });
      release();
      await playedPast(page, 0.5, errors);
      // The player took that watch over: it asked no other.
      expect((await seen()).watches).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  it("shows the first frame from the first module, before the player's code arrives, and the player plays on in that element", async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      // Every script but the first module (and the runtime it imports) waits until the test lets it through.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      await context.route(/\/assets\/.+\.js$/, async (route) => {
        const name = new URL(route.request().url()).pathname.split('/').pop()!;
        if (!/^(index|rolldown-runtime)-/.test(name)) await released;
        await route.continue();
      });
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      // A frame is decoded (HAVE_CURRENT_DATA) in a <video> of the page while no player exists.
      await expect
        .poll(() => page.evaluate(() => document.querySelector('video')?.readyState ?? -1), {
          timeout: 15_000,
          message: `no frame before the player's code; page errors: ${errors.join('; ')}`,
        })
        .toBeGreaterThanOrEqual(2);
      expect(await page.evaluate(() => customElements.get('baton-player') === undefined)).toBe(true);
      await page.evaluate(() => Object.assign(document.querySelector('video')!, { madeFirst: true }));
      // It is shown where the player will show it (the page's static frame, index.html), not at its own size in a corner.
      const box = (v: Element) => {
        const r = v.getBoundingClientRect();
        return [r.x, r.y, r.width, r.height].map(Math.round);
      };
      const early = await page.locator('video').evaluate(box);
      release();
      const video = await playedPast(page, 2, errors);
      expect(await video.evaluate(box)).toEqual(early);
      // The player shows the element the first module made, fed on from where that module stopped: one buffered
      // range from the start, nothing appended twice or left out.
      expect(await video.evaluate((v) => (v as unknown as { madeFirst?: boolean }).madeFirst)).toBe(true);
      // It says what the element does: playing, not "Buffering…" (the element's `playing` came before the player).
      await expect.poll(() => page.locator('baton-player .overlay').count(), { timeout: 5_000 }).toBe(0);
      const ranges = await video.evaluate((v: HTMLVideoElement) =>
        Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)]),
      );
      expect(ranges).toHaveLength(1);
      expect(ranges[0]![0]).toBeLessThan(0.1);
      expect(await page.locator('baton-player [data-testid=bytes-received]').textContent()).not.toMatch(/^0 B/);
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

  it('on a phone, another stream picked from the catalog below the player plays in view; another page starts at its top', async () => {
    const { context, page, errors } = await openPage(env.browser, PHONE);
    try {
      // Watching one stream, the viewer scrolls down past its details to the catalog and picks another.
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-smpte`);
      await page.locator('baton-player [data-testid=bytes-received]').waitFor({ timeout: 30_000 });
      const entry = page.locator('baton-catalog a[data-asset=demo-testsrc]');
      await entry.waitFor({ timeout: 15_000 });
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await entry.scrollIntoViewIfNeeded();
      expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(100);
      await entry.click();
      const video = page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, interval: 250, message: errors.join('; ') })
        .toBeGreaterThan(0.5);
      // The whole picture is on screen, below the sticky navigation bar.
      const bar = (await page.locator('baton-app header.bar').boundingBox())!;
      const box = (await video.boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(bar.y + bar.height - 1);
      expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
      await screenshot(page, 'player-phone-picked');

      // Scrolled down the dashboard, the nav's Watch link opens the player at its top, not scrolled as the dashboard was.
      await page.locator('baton-app nav ul a[href="#/dashboard"]').click();
      await page.locator('baton-dashboard').waitFor({ timeout: 15_000 });
      await expect
        .poll(() => page.evaluate(() => document.documentElement.scrollHeight), { timeout: 15_000 })
        .toBeGreaterThan(2 * PHONE.height);
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(100);
      await page.locator('baton-app nav ul a[href="#/watch"]').click();
      await expect.poll(() => page.evaluate(() => window.scrollY), { timeout: 5_000 }).toBe(0);
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
