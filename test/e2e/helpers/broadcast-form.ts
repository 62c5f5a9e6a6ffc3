// Driving the broadcast page in e2e tests: Chromium's fake camera, the form, and going live.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';

/** Chromium's fake capture devices, and no permission prompt (DESIGN.md). */
export const FAKE_MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/** Fill the form: stream key, and a place picked from the gazetteer's suggestions. */
export async function fillForm(page: Page, key: string, typed: string, pick: RegExp | null): Promise<void> {
  await page.locator('baton-broadcast-setup #key').fill(key);
  const place = page.locator('baton-place-field input');
  await place.fill(typed);
  if (pick) {
    const option = page.locator('baton-place-field [role=option]', { hasText: pick }).first();
    await option.waitFor({ timeout: 10_000 });
    await option.click();
  }
}

export async function goLive(page: Page): Promise<void> {
  const button = page.locator('baton-broadcast-setup [data-testid=go-live]');
  await expect.poll(() => button.isEnabled(), { timeout: 15_000, message: 'Go live never enabled (hub not connected?)' }).toBe(true);
  await button.click();
}

/** Opens the broadcast page with Chromium's fake camera as the source, ready for the form. */
export async function openCameraForm(page: Page, hubUrl: string): Promise<void> {
  await page.goto(`${hubUrl}/#/broadcast`);
  await page.locator('baton-broadcast-setup [data-source=camera]').click();
  await page.locator('baton-broadcast-setup [data-testid=source-info]').waitFor({ timeout: 15_000 });
}

/** Goes live from Frankfurt on the fake camera (key `test-key`); resolves with the player's link to the stream once live. */
export async function goLiveOnCamera(page: Page, hubUrl: string, errors: readonly string[]): Promise<string> {
  await openCameraForm(page, hubUrl);
  await fillForm(page, 'test-key', 'Frankf', /Frankfurt am Main, DE/);
  await goLive(page);
  const state = page.locator('baton-broadcaster [data-testid=broadcast-state]');
  await expect.poll(() => state.getAttribute('data-phase'), { timeout: 30_000, message: errors.join('; ') }).toBe('live');
  return (await page.locator('baton-broadcaster [data-testid=watch-link]').getAttribute('href'))!;
}

/**
 * Waits until both entry servers stored media, not only the stream's header (the first chunks of a file capture may
 * carry no frame yet on a loaded machine; a broadcast ended then stores nothing, rightly: "ended without a media frame").
 */
export async function waitForStoredMedia(page: Page): Promise<void> {
  const stored = page.locator('baton-ingest-card [data-state=streaming] [data-testid=ingest-stored]');
  await expect
    .poll(async () => (await stored.allTextContents()).filter((t) => /\d (kB|MB|GB)$/.test(t.trim())).length, {
      timeout: 30_000,
      message: 'both entry servers never stored a kilobyte',
    })
    .toBe(2);
}

/**
 * Presses End broadcast and waits for the result; fails with the page's problem when the servers did not finalize.
 * The wait outlasts the publisher's own bound for the end (END_TIMEOUT_MS = 60 s), so a slow end shows its reason.
 */
export async function endBroadcast(page: Page): Promise<void> {
  await page.locator('baton-broadcast-setup [data-testid=end-broadcast]').click();
  const state = page.locator('baton-broadcaster [data-testid=broadcast-state]');
  await expect.poll(() => state.getAttribute('data-phase'), { timeout: 75_000, message: 'the broadcast never ended' }).toBe('ended');
  const problem = page.locator('baton-broadcaster [data-testid=broadcast-problem]');
  if (await problem.count()) expect.fail(`the broadcast ended with a problem: ${(await problem.textContent())?.replace(/\s+/g, ' ')}`);
  await page.locator('baton-broadcaster [data-testid=broadcast-result]').waitFor({ timeout: 5_000 });
}
