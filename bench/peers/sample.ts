// One viewer sample in Chromium: a fresh browser context with the probe, the peer's page, the first
// frame; with `clockMs`, the glass-to-glass latencies of every frame presented for that long after it.
import type { Browser } from 'playwright-core';
import { DESKTOP } from '../../test/e2e/helpers/browser.js';
import { probeScript } from './pages.js';
import type { ProbeState } from './probe.js';

/** A sample with no frame by then counts as failed (ms). */
export const SAMPLE_TIMEOUT_MS = 20_000;

export interface ViewerSample {
  /** navigation start → first frame presented (ms). */
  frameMs: number;
  /** Viewer wall clock − clock in the frame, for frames presented after the settle time (ms). */
  latencies: number[];
  misreads: number;
  /** MSE players: media buffered ahead of the playhead per frame, over the same frames (ms). */
  aheadMs: number[];
}

/** Opens `url` in a fresh context and waits for the first frame; then, with `clock`, collects latencies. */
export async function viewerSample(
  browser: Browser,
  url: string,
  clock?: { settleMs: number; collectMs: number },
  timeoutMs = SAMPLE_TIMEOUT_MS,
): Promise<ViewerSample> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: await probeScript({ clock: clock !== undefined }) });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    const handle = await page.waitForFunction(
      () => {
        const t = (window as unknown as { __peer?: ProbeState }).__peer;
        return t && (t.frame !== undefined || t.error !== undefined) ? { frame: t.frame, error: t.error } : undefined;
      },
      undefined,
      { timeout: timeoutMs, polling: 50 },
    );
    const first = (await handle.jsonValue()) as { frame?: number; error?: string };
    if (first.error !== undefined) throw new Error(first.error);
    if (!clock) return { frameMs: first.frame!, latencies: [], misreads: 0, aheadMs: [] };
    // The first moments of playback catch up (a jitter buffer fills, a player seeks to its live point): not the steady state.
    await page.waitForTimeout(clock.settleMs);
    const skip = await page.evaluate(() => {
      const t = (window as unknown as { __peer: ProbeState }).__peer;
      return { latencies: t.latencies.length, ahead: t.aheadMs.length };
    });
    await page.waitForTimeout(clock.collectMs);
    const t = await page.evaluate(() => (window as unknown as { __peer: ProbeState }).__peer);
    if (t.error !== undefined) throw new Error(t.error);
    return {
      frameMs: first.frame!,
      latencies: t.latencies.slice(skip.latencies),
      misreads: t.misreads,
      aheadMs: t.aheadMs.slice(skip.ahead),
    };
  } finally {
    await context.close();
  }
}
