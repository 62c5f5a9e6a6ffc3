// Fault row 23: a viewer asking for unpaced delivery and restarting on every `end` (and a burst of
// restarts) gets paced delivery: pacing is the server's decision, not the viewer's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from '../helpers/cluster.js';
import { MAX_RESTARTS_PER_WINDOW, RESTART_WINDOW_MS } from '../../node-app/delivery/restart-policy.js';
import { recordFigure } from './helpers/figures.js';
import { getJson, sleep } from './helpers/net.js';
import { openLoopViewer } from './helpers/loop-viewer.js';

const ASSET = 'demo-testsrc';
const RUN_MS = 15_000;
/**
 * What a viewer may pull over RUN_MS, in multiples of the asset's bitrate: the fast-start
 * bursts a session may earn (3 per 30 s, here 2.6×) plus, for a seek a second, each seek's
 * 2-s grant and catch-up at 1.5× from its new position (3.6–5.2× in all; 4.6× while a
 * seek's grant was charged to the position it left, which froze an honest viewer's picture
 * for over 30 s after ten quick seeks). Unpaced, it was 113×.
 */
const MAX_BITRATE_MULTIPLE = 6;

// The three cases run side by side, each with a viewer (a session) of its own on the one server: pacing, bursts and the
// restart budget are a session's own, and another session's bytes move none of them. One after another they took ≈ 33 s,
// two 15-s runs of it.
describe.concurrent('row 23: viewer-chosen pacing', () => {
  const cluster = new Cluster({
    rotationMs: 0,
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [ASSET] }],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it(`play {fast: true} + a new play on every end pulls ≤ ${MAX_BITRATE_MULTIPLE}× the bitrate over 15 s`, async () => {
    const catalog = await getJson<{ assets: Array<{ id: string; bitrateBps?: number }> }>(`${cluster.hubUrl}/api/catalog`);
    const bitrateBps = catalog.assets.find((a) => a.id === ASSET)?.bitrateBps;
    expect(bitrateBps).toBeGreaterThan(0);
    const v = await openLoopViewer(cluster.hubUrl, ASSET, { restartOnEnd: true });
    try {
      await v.connected;
      await waitFor('the first media bytes', () => v.bytes > 0, 10_000, 10);
      await sleep(RUN_MS);
      const bytes = v.bytes;
      const multiple = bytes / ((bitrateBps! / 8) * (RUN_MS / 1000));
      expect(multiple, `${bytes} B in ${RUN_MS / 1000} s, ${v.ends} ends`).toBeLessThanOrEqual(MAX_BITRATE_MULTIPLE);
      recordFigure('viewer_pacing.restart_loop_bitrate_multiple', multiple);
      recordFigure('viewer_pacing.restart_loop_ends', v.ends);
    } finally {
      v.close();
    }
  }, 60_000);

  it(`more than ${MAX_RESTARTS_PER_WINDOW} restarts in the window are refused with rate-limited`, async () => {
    const v = await openLoopViewer(cluster.hubUrl, ASSET, { restartOnEnd: false });
    const TRIES = 3 * MAX_RESTARTS_PER_WINDOW;
    try {
      await v.connected;
      await waitFor('the first media bytes', () => v.bytes > 0, 10_000, 10);
      for (let i = 0; i < TRIES; i++) v.play(i % 2 === 0 ? 1_000 : 0);
      await waitFor('refusals', () => v.errors.filter((c) => c === 'rate-limited').length >= TRIES - MAX_RESTARTS_PER_WINDOW, 10_000, 20);
      recordFigure('viewer_pacing.restarts_refused', v.errors.filter((c) => c === 'rate-limited').length);
    } finally {
      v.close();
    }
  }, 60_000);

  it(`a seek a second, past the fresh bursts, pulls ≤ ${MAX_BITRATE_MULTIPLE}× the bitrate over 15 s (each seek's grant and catch-up are its own)`, async () => {
    const catalog = await getJson<{ assets: Array<{ id: string; bitrateBps?: number }> }>(`${cluster.hubUrl}/api/catalog`);
    const bitrateBps = catalog.assets.find((a) => a.id === ASSET)?.bitrateBps;
    const v = await openLoopViewer(cluster.hubUrl, ASSET, { restartOnEnd: false });
    try {
      await v.connected;
      await waitFor('the first media bytes', () => v.bytes > 0, 10_000, 10);
      const t0 = Date.now();
      // Just under MAX_RESTARTS_PER_WINDOW a window: every seek is taken, none refused.
      for (let i = 0; Date.now() - t0 < RUN_MS; i++) {
        v.play(i % 2 === 0 ? 1_000 : 0);
        await sleep((RESTART_WINDOW_MS / MAX_RESTARTS_PER_WINDOW) * 1.1);
      }
      const multiple = v.bytes / ((bitrateBps! / 8) * ((Date.now() - t0) / 1000));
      expect(v.errors.filter((c) => c === 'rate-limited')).toEqual([]);
      expect(multiple, `${v.bytes} B`).toBeLessThanOrEqual(MAX_BITRATE_MULTIPLE);
      recordFigure('viewer_pacing.seek_loop_bitrate_multiple', multiple);
    } finally {
      v.close();
    }
  }, 60_000);
});
