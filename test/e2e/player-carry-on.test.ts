// A live viewer while its broadcaster reconnects, in real Chromium: OBS after a network blip sends DELETE, then a new
// POST; the hub carries the finished recording on, and the player, which saw the broadcast end, joins it again by
// itself once it is live again (before, it stayed on "broadcast ended" and the viewer had to open it again).
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cluster.js';
import { HAVE_GI, INGEST_PAIR, whipPublish } from '../helpers/gstreamer.js';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const ID = 'carry-live';

async function live(hubUrl: string): Promise<boolean> {
  const r = (await (await fetch(`${hubUrl}/api/catalog?id=${ID}`)).json()) as { assets: { live: boolean }[] };
  return r.assets[0]?.live === true;
}

describe.skipIf(!HAVE_GI)('player while its WHIP broadcaster reconnects (Chromium, GStreamer publisher, two ingest servers)', () => {
  const env = useBrowserCluster({ servers: [...INGEST_PAIR] });

  it('shows the end, then plays the carried-on broadcast again by itself, at its live edge', async () => {
    const url = `${env.cluster.hubUrl}/whip/${ID}?location=Paris`;
    const first = whipPublish(url, 'test-key', 60);
    const { context, page, errors } = await openPage(env.browser);
    try {
      await waitFor(`${ID} on air`, () => live(env.cluster.hubUrl), 45_000);
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${ID}`);
      const video = page.locator('baton-player video');
      const now = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
      await expect.poll(now, { timeout: 30_000, interval: 250, message: errors.join('; ') }).toBeGreaterThan(2);
      // The broadcaster's connection drops: DELETE (the recording is finalized), as OBS does before it reconnects.
      first.stop();
      const ended = await first;
      expect(ended.stderr).toMatch(/DELETE 200/);
      // The data-channel player says the stream is all received (a low-latency one: "broadcast ended").
      await page.locator('baton-player [data-testid=fully-received]').waitFor({ timeout: 30_000 });
      const endedAt = await now();
      await screenshot(page, 'player-carry-on-ended');

      // Its new POST within the window carries the recording on; the player joins it without a click.
      const again = whipPublish(url, 'test-key', 60);
      try {
        await page.locator('baton-player .badge.live').waitFor({ timeout: 30_000 });
        await expect.poll(now, { timeout: 30_000, interval: 250, message: errors.join('; ') }).toBeGreaterThan(endedAt + 2);
        expect(await page.locator('baton-player [data-testid=player-error]').count()).toBe(0);
        await screenshot(page, 'player-carry-on-playing-again');
      } finally {
        again.stop();
      }
      const run = await again;
      expect(run.stderr).toMatch(/POST 201/);
      expect(run.stderr).toMatch(/DELETE 200/);
    } finally {
      first.kill();
      await context.close();
    }
  }, 240_000);
});
