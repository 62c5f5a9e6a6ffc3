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
