// One run of the player's Auto mode through a link cut to half the top rung's bitrate and restored, in Chromium:
// shared by the e2e test (which checks it) and the bench (which records its figures as `abr.*`).
import type { Page } from 'playwright-core';
import type { CatalogEntry } from '../../../signaling/protocol/messages.js';
import { waitFor } from '../../helpers/cluster.js';

export interface AbrRun {
  /** The top rung's (the asset's own) bitrate, and the limit the link was cut to (bits per second). */
  topBps: number;
  limitBps: number;
  /** From the page asking for the asset to Auto streaming the top rung on the open link (ms). */
  firstClimbMs: number;
  /** From the cut to Auto leaving the top rung (ms). */
  downMs: number;
  /** The rung streaming at the end of the throttled phase. */
  settledId: string;
  settledBps: number | null;
  /** From the restore to the top rung streaming, and to its picture on screen (ms). */
  climbMs: number;
  shownMs: number;
  /** `waiting` events after the first `playing` (no seeks in the run). */
  stalls: number;
  /** The playhead moved on through the throttled phase and after it. */
  playedOn: boolean;
}

export interface AbrScenarioOptions {
  /** How long the link stays cut after Auto left the top rung (ms). */
  holdMs: number;
  downWithinMs: number;
  climbWithinMs: number;
}

/** `page` is fresh; `entry` is the asset's catalog entry with its renditions; the top rung's picture is `topHeightPx` tall. */
export async function runAbrScenario(
  page: Page,
  hubUrl: string,
  entry: CatalogEntry,
  topHeightPx: number,
  o: AbrScenarioOptions,
): Promise<AbrRun> {
  const id = entry.id;
  const limitKbps = Math.round((0.5 * entry.bitrateBps!) / 1000);
  const video = page.locator('baton-player video');
  const time = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  const height = () => video.evaluate((v: HTMLVideoElement) => v.videoHeight);
  // From the catalog, as a viewer would: Auto knows the ladder and starts on its smallest rung.
  await page.goto(`${hubUrl}/#/watch`);
  await page.locator('baton-catalog a', { hasText: id }).first().waitFor({ timeout: 30_000 });
  await video.evaluate((v: HTMLVideoElement) => {
    const w = window as unknown as { abr: { stalls: number; started: boolean } };
    w.abr = { stalls: 0, started: false };
    v.addEventListener('playing', () => (w.abr.started = true));
    v.addEventListener('waiting', () => {
      if (w.abr.started && !v.seeking) w.abr.stalls++;
    });
  });
  const go = (limit: number | null) =>
    page.evaluate(([a, k]) => (location.hash = `#/watch?asset=${a}${k === null ? '' : `&limit=${k}`}`), [id, limit] as const);
  const menu = page.getByTestId('quality');
  const streaming = () => menu.getAttribute('data-streaming');
  const until = async (what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<number> => {
    const t0 = Date.now();
    await waitFor(what, ok, timeoutMs, 100);
    return Date.now() - t0;
  };

  await go(null);
  const firstClimbMs = await until('Auto to climb to the top rung', async () => (await streaming()) === id, o.climbWithinMs);
  await until('the top rung on screen', async () => (await height()) === topHeightPx, 15_000);

  await go(limitKbps);
  const downMs = await until('Auto to leave the top rung on the cut link', async () => (await streaming()) !== id, o.downWithinMs);
  // Where Auto settles: the rung it streams most of the hold. At any one instant it may be trying a rung up
  // (a probe, undone at once when the link falls short), which a single reading would take for the settled one.
  const held = new Map<string, number>();
  for (const end = Date.now() + o.holdMs; Date.now() < end; ) {
    const now = (await streaming()) ?? '';
    held.set(now, (held.get(now) ?? 0) + 1);
    await page.waitForTimeout(250);
  }
  const settledId = [...held].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const throttledAt = await time();

  await go(null);
  const t0 = Date.now();
  const climbMs = await until('Auto to climb back to the top rung', async () => (await streaming()) === id, o.climbWithinMs);
  await until('the top rung on screen again', async () => (await height()) === topHeightPx, o.climbWithinMs);
  const shownMs = Date.now() - t0;
  return {
    topBps: entry.bitrateBps!,
    limitBps: limitKbps * 1000,
    firstClimbMs,
    downMs,
    settledId,
    settledBps: entry.renditions?.find((r) => r.id === settledId)?.bitrateBps ?? null,
    climbMs,
    shownMs,
    stalls: await page.evaluate(() => (window as unknown as { abr: { stalls: number } }).abr.stalls),
    playedOn: (await time()) > throttledAt && throttledAt > 0,
  };
}
