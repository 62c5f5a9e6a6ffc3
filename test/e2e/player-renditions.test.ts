// Renditions in real Chromium: the server makes them with ffmpeg, the catalog lists them under the asset, and the
// viewer's pick in the quality menu switches the picture at the same playback time without a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { CatalogEntry } from '../../signaling/protocol/messages.js';
import { openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import { makeTestClip } from '../helpers/test-clip.js';
import { runAbrScenario } from './helpers/abr-scenario.js';

const ASSET = 'ladder-clip';
const ASSET_S = 40;
/** The clip Auto plays through a link that is cut to half the top rung's bitrate and then restored. */
const ABR_ASSET = 'abr-clip';
const ABR_ASSET_S = 120;
/** Loose functional bounds (the figures are measured and printed; the 10-s climb target is a bench figure). */
const DOWN_WITHIN_MS = 60_000;
const CLIMB_WITHIN_MS = 30_000;
const storage = mkdtempSync(join(tmpdir(), 'baton-renditions-e2e-'));

beforeAll(() => {
  // 360p VP9 (the renditions are VP8: a switch changes the codec too), a keyframe every 2.5 s (every 2 s for Auto's clip).
  makeTestClip(join(storage, `${ASSET}.webm`), { seconds: ASSET_S, size: '640x360', codec: 'libvpx-vp9', gop: 37, videoKbps: 500 });
  makeTestClip(join(storage, `${ABR_ASSET}.webm`), { seconds: ABR_ASSET_S, size: '640x360', codec: 'libvpx-vp9', gop: 30, videoKbps: 500 });
}, 180_000);
afterAll(() => rmSync(storage, { recursive: true, force: true }));

async function catalogEntry(hubUrl: string, id: string): Promise<CatalogEntry | undefined> {
  const r = (await (await fetch(`${hubUrl}/api/catalog`)).json()) as { assets: CatalogEntry[] };
  return r.assets.find((a) => a.id === id);
}

function video(page: Page) {
  const v = page.locator('baton-player video');
  return {
    time: () => v.evaluate((el: HTMLVideoElement) => el.currentTime),
    height: () => v.evaluate((el: HTMLVideoElement) => el.videoHeight),
    /** Where it plays (not seeking, data there, not paused), else undefined. */
    playingAt: () => v.evaluate((el: HTMLVideoElement) => (!el.seeking && el.readyState >= 3 && !el.paused ? el.currentTime : undefined)),
    frames: () => v.evaluate((el: HTMLVideoElement) => el.getVideoPlaybackQuality().totalVideoFrames),
  };
}

describe('quality menu (Chromium, one server making renditions)', () => {
  const env = useBrowserCluster({
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [], renditions: true }],
  });

  it('lists 240p and 144p under the asset and switches the picture at the same time when the viewer picks one', async () => {
    // The server makes the renditions in the background (four of them, a minute or more: under way now), and the
    // dashboard's server card says which one and how far along.
    const dash = await openPage(env.browser);
    try {
      await dash.page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      const work = dash.page.getByTestId('renditions-work').first();
      await work.waitFor({ timeout: 30_000 });
      expect(await work.textContent()).toMatch(/Making\s+(ladder|abr)-clip__(240|144)p · \d+ %/);
    } finally {
      await dash.context.close();
    }
    // The catalog lists them under the asset.
    await expect
      .poll(async () => (await catalogEntry(env.cluster.hubUrl, ASSET))?.renditions?.map((x) => x.heightPx), {
        timeout: 180_000,
        interval: 500,
      })
      .toEqual([240, 144]);
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/watch?asset=${ASSET}`);
      const v = video(page);
      await expect.poll(v.time, { timeout: 30_000, interval: 100, message: `never started; ${errors.join('; ')}` }).toBeGreaterThan(2);
      expect(await v.height()).toBe(360);
      const menu = page.getByTestId('quality');
      expect(await menu.locator('option').allTextContents()).toEqual([
        expect.stringMatching(/^Auto/),
        expect.stringMatching(/^360p/),
        expect.stringMatching(/^240p/),
        expect.stringMatching(/^144p/),
      ]);

      for (const [id, height] of [
        [`${ASSET}__240p`, 240],
        [`${ASSET}__144p`, 144],
        [ASSET, 360],
      ] as const) {
        const before = await v.time();
        const pickedAt = Date.now();
        await menu.selectOption(id);
        await expect.poll(v.height, { timeout: 20_000, interval: 50, message: `${id}: ${errors.join('; ')}` }).toBe(height);
        const elapsedS = (Date.now() - pickedAt) / 1000;
        // The same playback goes on at the same time: no restart from 0, no jump ahead.
        const at = await v.time();
        expect(at).toBeGreaterThan(before - 0.5);
        expect(at).toBeLessThan(before + elapsedS + 1);
        expect(await menu.getAttribute('data-streaming')).toBe(id);
        // Frames keep coming and the playhead moves on from there.
        const frames = await v.frames();
        await expect.poll(v.playingAt, { timeout: 10_000, interval: 100 }).toBeGreaterThan(at + 1);
        expect(await v.frames()).toBeGreaterThan(frames);
      }
      await screenshot(page, 'player-quality-menu');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 400_000);

  it('Auto: a link cut to half the top rung goes down without a stall, and climbs back once restored', async () => {
    await expect
      .poll(async () => (await catalogEntry(env.cluster.hubUrl, ABR_ASSET))?.renditions?.length, { timeout: 240_000, interval: 500 })
      .toBe(2);
    const entry = (await catalogEntry(env.cluster.hubUrl, ABR_ASSET))!;
    const { context, page, errors } = await openPage(env.browser);
    try {
      const run = await runAbrScenario(page, env.cluster.hubUrl, entry, 360, {
        holdMs: 15_000,
        downWithinMs: DOWN_WITHIN_MS,
        climbWithinMs: CLIMB_WITHIN_MS,
      });
      console.log(`abr: ${JSON.stringify(run)}`);
      // On the cut link it settles on a rung the link carries, plays on, and never stalls.
      expect(run.settledBps).not.toBeNull();
      expect(run.settledBps!).toBeLessThanOrEqual(run.limitBps);
      expect(run.playedOn).toBe(true);
      expect(run.stalls).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 400_000);
});
