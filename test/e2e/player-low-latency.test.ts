// The player's low-latency live mode in real Chromium: a broadcast from the broadcast page (fake camera) watched with
// `latency=low` plays over WebRTC media (WHEP) instead of the data channel + MSE, resumes at the live edge on the other
// entry server when its server dies, ends with the broadcast, and the switch takes the viewer back to the data channel.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import { FAKE_MEDIA_ARGS, endBroadcast, goLiveOnCamera } from './helpers/broadcast-form.js';

/** What the player's element plays from: a MediaStream (WebRTC media), a blob: URL (MSE), or nothing. */
const source = (page: Page) =>
  page
    .locator('baton-player video')
    .evaluate((v: HTMLVideoElement) => (v.srcObject instanceof MediaStream ? 'rtc' : v.src.startsWith('blob:') ? 'mse' : 'none'));

/** Frames the element has presented so far (Chromium's count of decoded video frames). */
const frames = (page: Page) =>
  page.locator('baton-player video').evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);

describe('player low-latency live (Chromium: fake camera broadcaster, a WHEP viewer; hub + 3 servers)', () => {
  const env = useBrowserCluster({}, FAKE_MEDIA_ARGS);

  it('plays a live broadcast over WebRTC media, resumes at the edge when its server dies, ends with it, and switches back', async () => {
    const b = await openPage(env.browser);
    const v = await openPage(env.browser);
    try {
      const href = await goLiveOnCamera(b.page, env.cluster.hubUrl, b.errors);
      // The servers ingesting it now (on a loaded machine an entry server may have been replaced since going live).
      const ingesting = () =>
        b.page
          .locator('baton-ingest-card [data-testid=ingest-card]')
          .evaluateAll((els) => els.filter((e) => e.getAttribute('data-state') !== 'failed').map((e) => e.getAttribute('data-server')));

      await v.page.goto(`${env.cluster.hubUrl}/${href}&latency=low`);
      const player = v.page.locator('baton-player');
      await player.locator('[data-testid=rtc-live]').waitFor({ timeout: 30_000 });
      await expect.poll(() => source(v.page), { timeout: 20_000, message: v.errors.join('; ') }).toBe('rtc');
      await expect
        .poll(() => frames(v.page), { timeout: 20_000, interval: 250, message: `no frame; ${v.errors.join('; ')}` })
        .toBeGreaterThan(10);
      expect(await player.locator('[data-testid=low-latency]').isChecked()).toBe(true);
      const serverId = player.locator('[data-testid=server-id]');
      const first = (await serverId.textContent())!.trim();
      // A live viewer goes to a server holding the live stream: an entry server.
      expect(await ingesting()).toContain(first);
      expect(await player.locator('[data-testid=reason]').getAttribute('data-reason')).toBe('live');
      await expect.poll(() => player.locator('[data-testid=bytes-received]').textContent(), { timeout: 5_000 }).not.toMatch(/^0 B$/);
      await screenshot(v.page, 'player-low-latency');

      // Its server dies: the player resumes on the other entry server, at the live edge, and says so.
      await env.cluster.kill(first);
      const notice = player.locator('[data-testid=failover]');
      await notice.first().waitFor({ timeout: 30_000 });
      const text = (await notice.first().textContent()) ?? '';
      expect(text).toMatch(new RegExp(`${first} went away — resumed on \\S+ at the live edge`));
      const second = (await serverId.textContent())!.trim();
      expect(second).not.toBe(first);
      // A server ingesting it now: the other entry server, or the replacement the broadcaster got for the dead one.
      expect(await player.locator('[data-testid=reason]').getAttribute('data-reason')).toBe('live');
      const before = await frames(v.page);
      await expect.poll(() => frames(v.page), { timeout: 20_000, interval: 250 }).toBeGreaterThan(before + 10);
      expect(await source(v.page)).toBe('rtc');

      // The switch off: the same live stream over the data channel (MSE), and back on.
      await player.locator('[data-testid=low-latency]').uncheck();
      await expect.poll(() => source(v.page), { timeout: 20_000 }).toBe('mse');
      await player.locator('[data-testid=jump-live]').waitFor({ timeout: 20_000 });
      expect(await v.page.evaluate(() => localStorage.getItem('baton.lowLatency'))).toBe('0');
      await player.locator('[data-testid=low-latency]').check();
      await expect.poll(() => source(v.page), { timeout: 20_000 }).toBe('rtc');
      const again = await frames(v.page);
      await expect.poll(() => frames(v.page), { timeout: 20_000, interval: 250 }).toBeGreaterThan(again + 10);

      // The broadcast ends: the player says so rather than resume (a WHEP offer now would play the recording from its start).
      await endBroadcast(b.page);
      const badges = player.locator('.now-head .badge');
      await expect.poll(async () => (await badges.allTextContents()).join(' '), { timeout: 30_000 }).toBe('broadcast ended');
      expect(await player.locator('[data-testid=player-error]').count()).toBe(0);
      expect(await source(v.page)).toBe('none');
      await screenshot(v.page, 'player-low-latency-ended');
      // Its server ended the WHEP resource before the player's DELETE: answered 200, no 404 in the console (before: one).
      await expect.poll(() => v.errors.filter((e) => /404/.test(e)), { timeout: 3_000 }).toEqual([]);
      // The recording plays from its start, over the data channel (seekable, resumable at the same byte).
      await player.locator('[data-testid=play-recording]').click();
      await expect.poll(() => source(v.page), { timeout: 20_000 }).toBe('mse');
      const video = v.page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), { timeout: 30_000, interval: 250 })
        .toBeGreaterThan(1);
      expect(await video.evaluate((el: HTMLVideoElement) => el.duration)).toBeGreaterThan(5);
    } finally {
      await b.context.close();
      await v.context.close();
    }
  }, 240_000);
});
