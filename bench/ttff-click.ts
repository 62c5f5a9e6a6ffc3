// Time to first frame from a click, in a page already loaded: a viewer on the player's catalog clicks an asset, against
// a plain HTTP page whose click fetches the same file into MSE. The navigation figures (ttff.ts) include loading the
// page; these start when the viewer acts, which is what a viewer browsing the catalog waits for.
import type { Browser } from 'playwright-core';
import { DESKTOP } from '../test/e2e/helpers/browser.js';
import { percentile } from './sampling.js';
import { BATON_PROBE, CLICK_PROBE, httpProbe, waitForFrame, type Probe } from './ttff-probes.js';

/** How long the catalog is on screen before the click (ms): the page has loaded, its socket is connected, the viewer reads. */
const READ_MS = 1_500;
/** Baton's milestones after the click, in the order they happen (the probe's names). */
const CLICK_PHASES = [
  'watchSent',
  'selected',
  'answer',
  'iceConnected',
  'dtlsConnected',
  'channelOpen',
  'firstData',
  'firstAppend',
] as const;

export interface ClickSample {
  /** click → first video frame presented. */
  frameMs: number;
  /** click → each milestone the page reached (Baton) or the first body byte (HTTP). */
  phases: Record<string, number>;
}

/** One Baton sample: the player's catalog (`#/watch`), a click on `assetId`'s entry, its first frame. */
export async function batonClickSample(browser: Browser, hubUrl: string, assetId: string, timeoutMs: number): Promise<ClickSample> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: `${BATON_PROBE}\n${CLICK_PROBE}` });
    const page = await context.newPage();
    await page.goto(`${hubUrl}/#/watch`, { waitUntil: 'load' });
    const entry = page.locator(`[data-testid=catalog-entry][data-asset="${assetId}"]`);
    await entry.waitFor({ timeout: timeoutMs });
    await page.waitForTimeout(READ_MS);
    await entry.click();
    return fromClick(await waitForFrame(page, timeoutMs), CLICK_PHASES);
  } finally {
    await context.close();
  }
}

/** One HTTP sample: a tiny loaded page on the hub's origin whose first click plays `url` through fetch and MSE. */
export async function httpClickSample(
  browser: Browser,
  hubUrl: string,
  source: { url: string; mime: string; path: string },
  timeoutMs: number,
): Promise<ClickSample> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: httpProbe({ ...source, on: 'click' }) });
    const page = await context.newPage();
    await page.goto(`${hubUrl}${source.path}`, { waitUntil: 'load' });
    await page.waitForTimeout(READ_MS);
    await page.mouse.click(DESKTOP.width / 2, DESKTOP.height / 2);
    return fromClick(await waitForFrame(page, timeoutMs), ['fetch', 'firstByte']);
  } finally {
    await context.close();
  }
}

function fromClick(t: Probe, phases: readonly string[]): ClickSample {
  if (t.click === undefined || t.frame === undefined) throw new Error('the page saw no click, or no frame');
  // A frame presented before the click (one the page showed by itself) would give a negative figure: a failed sample.
  if (t.frame < t.click) throw new Error('the first frame came before the click');
  const at = t as unknown as Record<string, number | undefined>;
  const rel: Record<string, number> = {};
  for (const k of phases) if (typeof at[k] === 'number' && at[k]! >= t.click) rel[k] = at[k]! - t.click;
  return { frameMs: t.frame - t.click, phases: rel };
}

/** `ttff.click_*` figures from both sides' samples. */
export function clickFigures(baton: readonly ClickSample[], http: readonly ClickSample[]): Record<string, number | number[]> {
  const round = (x: number) => Math.round(x * 10) / 10;
  const p50 = (xs: number[]) => (xs.length ? round(percentile(xs, 50)) : NaN);
  const frames = baton.map((s) => s.frameMs);
  const httpFrames = http.map((s) => s.frameMs);
  const phase = (k: string) => p50(baton.map((s) => s.phases[k]).filter((x): x is number => x !== undefined));
  return {
    'ttff.click_p50_ms': p50(frames),
    'ttff.click_p90_ms': frames.length ? round(percentile(frames, 90)) : NaN,
    'ttff.click_http_p50_ms': p50(httpFrames),
    'ttff.click_ratio_vs_http':
      frames.length && httpFrames.length ? Math.round((percentile(frames, 50) / percentile(httpFrames, 50)) * 1000) / 1000 : NaN,
    'ttff.click_watch_sent_p50_ms': phase('watchSent'),
    'ttff.click_selected_p50_ms': phase('selected'),
    'ttff.click_ice_connected_p50_ms': phase('iceConnected'),
    'ttff.click_channel_open_p50_ms': phase('channelOpen'),
    'ttff.click_first_append_p50_ms': phase('firstAppend'),
    'ttff.click_samples_ms': frames.map(round),
    'ttff.click_http_samples_ms': httpFrames.map(round),
  };
}
