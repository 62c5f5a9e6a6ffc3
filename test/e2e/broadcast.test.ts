// The broadcaster in real Chromium with a fake camera: goes live to two entry servers, plays live in a second page, ends with two identical copies.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { PHONE, launchBrowser, openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import { FAKE_MEDIA_ARGS, endBroadcast, fillForm, goLive, waitForStoredMedia } from './helpers/broadcast-form.js';

const SERVER_IDS = ['fra-1', 'iad-1', 'sin-1'];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Width × height of the first video stream, as ffprobe reads it. */
const videoSize = (file: string) =>
  execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=s=x:p=0', file], {
    encoding: 'utf8',
  }).trim();

describe('broadcaster (Chromium with a fake camera, hub + 3 servers)', () => {
  const env = useBrowserCluster({}, FAKE_MEDIA_ARGS);

  it('goes live from the camera to a primary and a backup; a second page plays it live; ending leaves two identical copies', async () => {
    const b = await openPage(env.browser);
    const v = await openPage(env.browser);
    try {
      const page = b.page;
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await page.locator('baton-broadcast-setup [data-source=camera]').click();
      await page.locator('baton-broadcast-setup [data-testid=source-info]').waitFor({ timeout: 15_000 });
      await fillForm(page, 'test-key', 'Frankf', /Frankfurt am Main, DE/);
      expect(await page.locator('baton-place-field input').inputValue()).toMatch(/^Frankfurt am Main/);
      await goLive(page);

      const state = page.locator('baton-broadcaster [data-testid=broadcast-state]');
      await expect
        .poll(() => state.getAttribute('data-phase'), { timeout: 30_000, message: `never went live; page errors: ${b.errors.join('; ')}` })
        .toBe('live');

      // Two entry servers, both uploading; the primary is the one in Frankfurt.
      const cards = page.locator('baton-ingest-card [data-testid=ingest-card]');
      await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(2);
      await expect
        .poll(async () => (await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).join(','), { timeout: 15_000 })
        .toBe('streaming,streaming');
      const primary = page.locator('baton-ingest-card [data-role=primary]');
      const backup = page.locator('baton-ingest-card [data-role=backup]');
      expect(await primary.getAttribute('data-server')).toBe('fra-1');
      const backupId = await backup.getAttribute('data-server');
      expect(SERVER_IDS).toContain(backupId);
      expect(backupId).not.toBe('fra-1');
      // Each shows its estimated RTT and where it was estimated from.
      expect(await primary.locator('[data-testid=ingest-estimate]').textContent()).toMatch(/≈ [\d.]+ ms from Frankfurt am Main/);
      expect(await backup.locator('[data-testid=ingest-rtt]').textContent()).toMatch(/≈ [\d.]+ ms/);
      // Loopback has no geolocatable IP: the page says so.
      await page.locator('baton-broadcaster [data-testid=ip-unknown]').waitFor();

      // Both servers acknowledge stored bytes as the stream goes on.
      for (const card of [primary, backup]) {
        await expect
          .poll(() => card.locator('[data-testid=ingest-stored]').textContent(), {
            timeout: 20_000,
            message: 'a server never acknowledged stored bytes',
          })
          .not.toMatch(/^0 B$/);
      }

      const link = page.locator('baton-broadcaster [data-testid=watch-link]');
      const href = (await link.getAttribute('href'))!;
      const streamId = decodeURIComponent(/asset=([^&]+)/.exec(href)![1]!);
      expect(await page.locator('baton-broadcaster [data-testid=stream-id]').textContent()).toBe(streamId);

      // A second page opens the player on the live stream, and it plays.
      await v.page.goto(`${env.cluster.hubUrl}/${href}`);
      const video = v.page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), {
          timeout: 30_000,
          interval: 250,
          message: `live video never advanced; viewer errors: ${v.errors.join('; ')}`,
        })
        .toBeGreaterThan(1);
      const t1 = await video.evaluate((el: HTMLVideoElement) => el.currentTime);
      await expect
        .poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), { timeout: 10_000, interval: 250 })
        .toBeGreaterThan(t1 + 0.5);
      expect(SERVER_IDS).toContain((await v.page.locator('baton-player [data-testid=server-id]').textContent())?.trim());
      expect(await v.page.locator('baton-player [data-testid=reason]').getAttribute('data-reason')).toBe('live');
      // The broadcaster sees the viewer (the servers' load reports, summed by the hub, asked every 2 s).
      await expect
        .poll(() => page.locator('baton-broadcaster [data-testid=broadcast-viewers]').textContent(), { timeout: 20_000 })
        .toBe('1');

      await screenshot(page, 'broadcast-live');
      await screenshot(v.page, 'broadcast-viewer');

      // Ending: both servers finalize, and their copies are byte-identical.
      await endBroadcast(page);
      const result = page.locator('baton-broadcaster [data-testid=broadcast-result]');
      const stored = [await primary.getAttribute('data-server'), backupId!];
      for (const id of stored) expect(await result.textContent()).toContain(id);
      const copies = stored.map((id) => readFileSync(join(env.cluster.servers.get(id!)!.storage, `${streamId}.webm`)));
      expect(copies[0]!.length).toBeGreaterThan(10_000);
      expect(sha256(copies[0]!)).toBe(sha256(copies[1]!));
      expect(b.errors).toEqual([]);
      await screenshot(page, 'broadcast-ended');

      // The viewer's stream ended with the broadcast: fully received, and no longer marked live.
      const badges = v.page.locator('baton-player .now-head .badge');
      await expect.poll(async () => (await badges.allTextContents()).join(' '), { timeout: 30_000 }).toBe('fully received');
      // MediaRecorder writes no Duration; the catalog has one (and a bitrate) from the finalized file.
      const entry = await waitFor(
        "the recording's duration in the catalog",
        async () => {
          const { assets } = (await (await fetch(`${env.cluster.hubUrl}/api/catalog`)).json()) as {
            assets: { id: string; bytes: number; live: boolean; durationMs?: number; bitrateBps?: number }[];
          };
          const e = assets.find((a) => a.id === streamId);
          return e?.durationMs && !e.live ? e : undefined;
        },
        20_000,
      );
      expect(entry.durationMs).toBeGreaterThan(1000);
      expect(entry.bitrateBps).toBe(Math.round((entry.bytes * 8 * 1000) / entry.durationMs!));
      await screenshot(v.page, 'broadcast-viewer-ended');
    } finally {
      await v.context.close();
      await b.context.close();
    }
  }, 150_000);

  it('refuses an unknown stream key, naming the field', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await fillForm(page, 'not-a-key', 'Frankfurt', null);
      await goLive(page);
      const problem = page.locator('baton-broadcaster [data-testid=broadcast-problem]');
      await problem.waitFor({ timeout: 20_000 });
      expect(await problem.getAttribute('data-code')).toBe('unauthorized');
      expect(await problem.textContent()).toContain('Unknown stream key');
      expect(await page.locator('baton-broadcast-setup #key').getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator('baton-broadcaster [data-testid=broadcast-state]').getAttribute('data-phase')).toBe('idle');
      await screenshot(page, 'broadcast-unknown-key');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('refuses a place the gazetteer does not know', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await fillForm(page, 'test-key', 'Qwxzyville', null);
      await goLive(page);
      const problem = page.locator('baton-broadcaster [data-testid=broadcast-problem]');
      await problem.waitFor({ timeout: 20_000 });
      expect(await problem.getAttribute('data-code')).toBe('unknown-place');
      expect(await page.locator('baton-place-field input').getAttribute('aria-invalid')).toBe('true');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('says plainly when the camera is denied', async () => {
    // Without the fake-UI flag headless Chromium answers the permission prompt with a refusal.
    const strict = await launchBrowser(['--use-fake-device-for-media-stream', '--deny-permission-prompts']);
    try {
      const { page } = await openPage(strict);
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await page.locator('baton-broadcast-setup [data-source=camera]').click();
      const problem = page.locator('baton-broadcaster [data-testid=source-problem]');
      await problem.waitFor({ timeout: 20_000 });
      expect(await problem.getAttribute('data-code')).toBe('camera-denied');
      expect(await problem.textContent()).toContain('Camera access denied');
      await screenshot(page, 'broadcast-camera-denied');
    } finally {
      await strict.close();
    }
  }, 60_000);

  it('fits a phone screen while live', async () => {
    const { context, page, errors } = await openPage(env.browser, PHONE);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await fillForm(page, 'test-key', 'Singapore', null);
      // Before going live the form leads on a narrow screen.
      const setupTop = await page.locator('baton-broadcast-setup').evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
      const previewTop = await page.locator('baton-broadcaster .screen').evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
      expect(setupTop).toBeLessThan(previewTop);
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, 'broadcast-phone-setup');
      await goLive(page);
      await expect
        .poll(() => page.locator('baton-broadcaster [data-testid=broadcast-state]').getAttribute('data-phase'), {
          timeout: 30_000,
          message: errors.join('; '),
        })
        .toBe('live');
      await expect.poll(() => page.locator('baton-ingest-card [data-state=streaming]').count(), { timeout: 15_000 }).toBe(2);
      expect(await page.locator('baton-ingest-card [data-role=primary]').getAttribute('data-server')).toBe('sin-1');
      await expect
        .poll(() => page.locator('baton-ingest-card [data-role=backup] [data-testid=ingest-stored]').textContent(), { timeout: 20_000 })
        .not.toMatch(/^0 B$/);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, 'broadcast-phone');
      await endBroadcast(page);
    } finally {
      await context.close();
    }
  }, 150_000);

  it('broadcasts a local video file as it plays', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await page.locator('baton-broadcast-setup [data-source=file]').click();
      await page.locator('baton-broadcast-setup input[type=file]').setInputFiles(join(MEDIA_DIR, 'demo-smpte.webm'));
      await expect
        .poll(() => page.locator('baton-broadcast-setup [data-testid=source-info]').textContent(), { timeout: 10_000 })
        .toContain('demo-smpte.webm');
      await fillForm(page, 'test-key', 'New York', null);
      await goLive(page);
      await expect
        .poll(() => page.locator('baton-ingest-card [data-state=streaming]').count(), { timeout: 30_000, message: errors.join('; ') })
        .toBe(2);
      expect(await page.locator('baton-ingest-card [data-role=primary]').getAttribute('data-server')).toBe('iad-1');
      await expect
        .poll(() => page.locator('baton-ingest-card [data-role=primary] [data-testid=ingest-stored]').textContent(), { timeout: 20_000 })
        .not.toMatch(/^0 B$/);
      await endBroadcast(page);
      const result = page.locator('baton-broadcaster [data-testid=broadcast-result]');
      // Both entry servers finalized the same bytes…
      const stored = await result.locator('b.mono').allTextContents();
      expect(stored.sort()).toHaveLength(2);
      const href = (await page.locator('baton-broadcaster [data-testid=watch-link]').getAttribute('href'))!;
      const streamId = decodeURIComponent(/asset=([^&]+)/.exec(href)![1]!);
      const copies = stored.map((id) => join(env.cluster.servers.get(id)!.storage, `${streamId}.webm`));
      expect(sha256(readFileSync(copies[0]!))).toBe(sha256(readFileSync(copies[1]!)));
      // …and they are the file's picture, not the fake camera's: the file is 640×360, the fake camera 640×480.
      expect(videoSize(copies[0]!)).toEqual(videoSize(join(MEDIA_DIR, 'demo-smpte.webm')));
      expect(videoSize(copies[0]!)).toBe('640x360');
    } finally {
      await context.close();
    }
  }, 150_000);

  it('keeps the chosen file when its source button is pressed again, and goes live with it', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      const fileButton = page.locator('baton-broadcast-setup [data-source=file]');
      await fileButton.click();
      await page.locator('baton-broadcast-setup input[type=file]').setInputFiles(join(MEDIA_DIR, 'demo-smpte.webm'));
      const info = page.locator('baton-broadcast-setup [data-testid=source-info]');
      await expect.poll(() => info.textContent(), { timeout: 10_000 }).toContain('demo-smpte.webm');
      // Pressed again (a user making sure the file is the source): the file stays chosen.
      await fileButton.click();
      await page.waitForTimeout(500);
      expect(await info.textContent()).toContain('demo-smpte.webm');
      await fillForm(page, 'test-key', 'New York', null);
      await goLive(page);
      await expect
        .poll(() => page.locator('baton-ingest-card [data-state=streaming]').count(), { timeout: 30_000, message: errors.join('; ') })
        .toBe(2);
      await waitForStoredMedia(page);
      await endBroadcast(page);
    } finally {
      await context.close();
    }
  }, 150_000);

  // Last: it kills a server.
  it('keeps going when the primary dies: the page shows the failover, a replacement is filled, both final copies match', async () => {
    const { context, page, errors } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await fillForm(page, 'test-key', 'Frankfurt', null);
      await goLive(page);
      const streaming = page.locator('baton-ingest-card [data-state=streaming]');
      await expect.poll(() => streaming.count(), { timeout: 30_000, message: errors.join('; ') }).toBe(2);
      expect(await page.locator('baton-ingest-card [data-role=primary]').getAttribute('data-server')).toBe('fra-1');
      const backupId = (await page.locator('baton-ingest-card [data-role=backup]').getAttribute('data-server'))!;
      // Let both servers store something first.
      await expect
        .poll(() => page.locator('baton-ingest-card [data-role=backup] [data-testid=ingest-stored]').textContent(), {
          timeout: 20_000,
          message: `the backup never stored anything; ${errors.join('; ')}`,
        })
        .not.toMatch(/^0 B$/);

      await env.cluster.kill('fra-1');
      const notices = () =>
        page
          .locator('baton-broadcaster .notices')
          .textContent({ timeout: 1_000 })
          .catch(() => '');
      // Notices are newest first; on a busy machine a replacement may itself be replaced, so look for the one about fra-1.
      await page.locator('baton-broadcaster [data-testid=failover]', { hasText: 'fra-1' }).waitFor({ timeout: 30_000 });
      await expect
        .poll(() => page.locator('baton-ingest-card [data-server=fra-1]').getAttribute('data-state'), { timeout: 10_000 })
        .toBe('failed');
      // The replacement catches up with the stream and streams alongside the backup.
      await expect.poll(() => streaming.count(), { timeout: 30_000, message: `no second upload; notices: ${await notices()}` }).toBe(2);
      expect(await streaming.evaluateAll((els) => els.map((e) => e.getAttribute('data-server')))).not.toContain('fra-1');
      expect(await page.locator('baton-broadcaster [data-testid=broadcast-state]').getAttribute('data-phase')).toBe('live');
      await screenshot(page, 'broadcast-failover');

      await endBroadcast(page);
      const result = page.locator('baton-broadcaster [data-testid=broadcast-result]');
      expect(await result.textContent()).toMatch(/\d+ failovers? on the way, nothing lost/);
      const stored = await result.locator('b.mono').allTextContents();
      expect(stored).toHaveLength(2);
      expect(stored).toContain(backupId);
      expect(stored).not.toContain('fra-1');
      const href = (await page.locator('baton-broadcaster [data-testid=watch-link]').getAttribute('href'))!;
      const streamId = decodeURIComponent(/asset=([^&]+)/.exec(href)![1]!);
      const copies = stored.map((id) => readFileSync(join(env.cluster.servers.get(id)!.storage, `${streamId}.webm`)));
      expect(sha256(copies[0]!)).toBe(sha256(copies[1]!));
    } finally {
      await context.close();
    }
  }, 150_000);
});

describe('broadcaster with no ingest-capable server', () => {
  const env = useBrowserCluster(
    { servers: [{ id: 'edge-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: false }] },
    FAKE_MEDIA_ARGS,
  );

  it('says that no ingest server is available and stays off air', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/broadcast`);
      await fillForm(page, 'test-key', 'Frankfurt', null);
      await goLive(page);
      const problem = page.locator('baton-broadcaster [data-testid=broadcast-problem]');
      await problem.waitFor({ timeout: 20_000 });
      expect(await problem.getAttribute('data-code')).toBe('no-ingest');
      expect(await problem.textContent()).toContain('No ingest server available');
      expect(await page.locator('baton-broadcaster [data-testid=broadcast-state]').getAttribute('data-phase')).toBe('idle');
    } finally {
      await context.close();
    }
  }, 60_000);
});
