// Seek in Chromium: the Baton player seeking to random points of a long asset against plain HTTP range
// requests into MSE from the same media server, same run: from setting currentTime to the new frame on screen.
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { DESKTOP, launchBrowser } from '../test/e2e/helpers/browser.js';
import { buildWebClient } from '../test/e2e/helpers/web-build.js';
import { startCluster, type Cluster } from '../test/helpers/cluster.js';
import { DiskStore } from '../node-app/storage/disk-store.js';
import { seekPointAt, type SeekIndex } from '../node-app/storage/seek-index.js';
import { seededRng } from '../test/helpers/seeded-rng.js';
import { alternating, percentile } from './sampling.js';
import type { Figures } from './results-store.js';
import { ensureLongAsset } from './long-asset.js';
import { httpPageScript, SEEK_PROBE, type Probe } from './seek-page-scripts.js';

/** The long asset: 10 minutes for a quick run, 2 hours (the case) for a full one. */
const QUICK_ASSET_S = 600;
const FULL_ASSET_S = 7200;
/** Pages (fresh contexts) per side; each seeks SEEKS_PER_PAGE times. */
const QUICK_PAGES = 5;
const FULL_PAGES = 15;
/**
 * Seeks per page: a session gets a fresh fast-start burst for 3 starts per 30 s (its start and two seeks,
 * restart-policy.ts); the later ones (a viewer scrubbing for a scene) get only a seek's grant (pacer.ts).
 * Both kinds are measured: FRESH_BURST_SEEKS per page, then the rest.
 */
const SEEKS_PER_PAGE = 4;
const FRESH_BURST_SEEKS = 2;
/** A seek with no frame by then counts as failed (ms). */
const SAMPLE_TIMEOUT_MS = 20_000;
const MAX_FAILED_SAMPLES = 3;
/** Seek targets stay this far from both ends (s). */
const EDGE_S = 10;
/** …and this far from the previous position (s): past anything buffered, so each seek fetches. */
const FAR_S = 120;
const HTTP_PAGE_PATH = '/healthz';

interface Sample {
  ms: number;
  /** Baton: the seek came after the session's fresh bursts were spent. */
  pastBursts?: boolean;
  /** currentTime set → the new position's first bytes handed to MSE. */
  appendMs: number | null;
  /** Baton: currentTime set → the server's answer (meta with seekMs) received. */
  answerMs?: number | null;
}

/**
 * `seek.*` figures. Each page opens a fresh browser context in one warm Chromium, plays from the
 * start, then seeks SEEKS_PER_PAGE times to random points (the same points for both sides, from a
 * fixed seed), waiting for each new frame. Baton and HTTP pages alternate.
 */
export async function benchSeek(opts: { quick: boolean }): Promise<Figures> {
  const assetS = opts.quick ? QUICK_ASSET_S : FULL_ASSET_S;
  const assetId = `bench-long-${assetS}s`;
  const storage = ensureLongAsset(assetId, assetS);
  const store = await DiskStore.open(storage);
  const index = await store.seekIndex(assetId);
  const mime = store.stat(assetId)?.mime;
  store.close();
  if (!index || !mime) throw new Error(`${assetId} has no seek index`);

  const staticDir = await buildWebClient();
  const cluster = await startCluster({
    staticDir,
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [] }],
  });
  let browser: Browser | undefined;
  try {
    const url = await mediaUrl(cluster, assetId);
    browser = await launchBrowser();
    const rng = seededRng(0x5eec);
    const pages = opts.quick ? QUICK_PAGES : FULL_PAGES;
    const baton: Sample[] = [];
    const http: Sample[] = [];
    let failed = 0;
    const attempt = async (run: () => Promise<Sample[]>, into: Sample[]) => {
      try {
        into.push(...(await run()));
      } catch (err) {
        // Said, not only counted: a failed seek is a player bug until shown otherwise.
        console.warn(`seek: a page failed: ${(err as Error).message}`);
        if (++failed > MAX_FAILED_SAMPLES) throw new Error(`too many failed samples; last: ${(err as Error).message}`);
      }
    };
    // A discarded page of each first: the first page in a fresh Chromium pays one-off costs.
    const warm = [EDGE_S + 1, assetS / 2];
    await attempt(() => batonPage(browser!, cluster.hubUrl, assetId, warm), []);
    await attempt(() => httpPage(browser!, cluster.hubUrl, url, mime, index, warm), []);
    // The same points for both sides of a pair of pages.
    const points = Array.from({ length: pages }, () => farPoints(rng, SEEKS_PER_PAGE, assetS));
    await alternating(
      pages,
      (i) => attempt(() => batonPage(browser!, cluster.hubUrl, assetId, points[i]!), baton),
      (i) => attempt(() => httpPage(browser!, cluster.hubUrl, url, mime, index, points[i]!), http),
    );
    if (baton.length === 0 || http.length === 0) throw new Error('no successful samples');
    const ms = baton.map((s) => s.ms);
    const httpMs = http.map((s) => s.ms);
    const p50 = percentile(ms, 50);
    const httpP50 = percentile(httpMs, 50);
    return {
      'seek.p50_ms': round(p50),
      'seek.p90_ms': round(percentile(ms, 90)),
      'seek.http_p50_ms': round(httpP50),
      'seek.http_p90_ms': round(percentile(httpMs, 90)),
      'seek.ratio_vs_http': round(p50 / httpP50, 3),
      // Where the time goes: currentTime set → the new position's first bytes appended to MSE.
      'seek.first_append_p50_ms': appendP50(baton),
      'seek.server_answer_p50_ms': p50Of(baton.map((s) => s.answerMs ?? null)),
      // The two kinds of Baton seek apart: with a fresh burst, and past them (a seek's grant only).
      'seek.fresh_burst_p50_ms': p50Of(baton.map((s) => (s.pastBursts ? null : s.ms))),
      'seek.past_bursts_p50_ms': p50Of(baton.map((s) => (s.pastBursts ? s.ms : null))),
      'seek.http_first_append_p50_ms': appendP50(http),
      'seek.asset_s': assetS,
      'seek.samples': ms.length,
      'seek.failed_samples': failed,
      'seek.samples_ms': ms.map((x) => round(x)),
      'seek.http_samples_ms': httpMs.map((x) => round(x)),
    };
  } finally {
    await browser?.close();
    await cluster.stop();
  }
}

async function batonPage(browser: Browser, hubUrl: string, assetId: string, points: number[]): Promise<Sample[]> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: SEEK_PROBE });
    const page = await context.newPage();
    await page.goto(`${hubUrl}/#/watch?asset=${assetId}`);
    const video = page.locator('baton-player video');
    await waitPlaying(page, () => video.evaluate((v: HTMLVideoElement) => v.currentTime));
    const out: Sample[] = [];
    for (const t of points) {
      const r = await withTimeout(
        video.evaluate((v: HTMLVideoElement, to: number) => (window as unknown as Probe).__seekFrame(v, to), t),
        async () => `Baton, seek ${out.length + 1} of the page, to ${t.toFixed(1)} s; ${await videoState(page, 'baton-player video')}`,
      );
      out.push({ ms: r.ms, appendMs: r.appendMs, answerMs: r.answerMs, pastBursts: out.length >= FRESH_BURST_SEEKS });
    }
    return out;
  } finally {
    await context.close();
  }
}

async function httpPage(
  browser: Browser,
  hubUrl: string,
  url: string,
  mime: string,
  index: SeekIndex,
  points: number[],
): Promise<Sample[]> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: SEEK_PROBE });
    await context.addInitScript({ content: httpPageScript({ url, mime, path: HTTP_PAGE_PATH }) });
    const page = await context.newPage();
    await page.goto(`${hubUrl}${HTTP_PAGE_PATH}`);
    await waitPlaying(page, () => page.evaluate(() => (window as unknown as Probe).__video.currentTime));
    const out: Sample[] = [];
    for (const t of points) {
      const offset = seekPointAt(index, t * 1000).offset;
      const r = await withTimeout(
        page.evaluate(
          ({ to, at }) => {
            const w = window as unknown as Probe;
            return w.__seekFrame(w.__video, to, () => w.__httpSeek(at));
          },
          { to: t, at: offset },
        ),
        async () => `HTTP, seek ${out.length + 1} of the page, to ${t.toFixed(1)} s; ${await videoState(page, 'video')}`,
      );
      out.push({ ms: r.ms, appendMs: r.appendMs });
    }
    return out;
  } finally {
    await context.close();
  }
}

async function waitPlaying(page: Page, time: () => Promise<number>): Promise<void> {
  const t0 = Date.now();
  while ((await time()) < 0.5) {
    if (Date.now() - t0 > SAMPLE_TIMEOUT_MS) throw new Error('never started playing');
    await page.waitForTimeout(50);
  }
}

/** `p`, or after SAMPLE_TIMEOUT_MS an error naming the seek and the page's video as it is then (`what`). */
function withTimeout<T>(p: Promise<T>, what: () => Promise<string>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, fail) =>
      setTimeout(
        () =>
          void what().then(
            (w) => fail(new Error(`no frame after the seek (${w})`)),
            () => fail(new Error('no frame after the seek')),
          ),
        SAMPLE_TIMEOUT_MS,
      ).unref(),
    ),
  ]);
}

/** What a page's video is doing: playhead, buffered ranges, readyState, paused, seeking, error. */
function videoState(page: Page, selector: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .evaluate(
      (v: HTMLVideoElement) =>
        `t=${v.currentTime.toFixed(2)} buffered=[${Array.from({ length: v.buffered.length }, (_, i) => `${v.buffered.start(i).toFixed(1)}-${v.buffered.end(i).toFixed(1)}`).join(',')}] readyState=${v.readyState} paused=${v.paused} seeking=${v.seeking} error=${v.error?.message ?? null}`,
    );
}

/** A media server's own `GET /media/<id>.webm` (ranges, CORS): the HTTP baseline's source. */
async function mediaUrl(cluster: Cluster, id: string): Promise<string> {
  const state = await cluster.state();
  const s = state.servers.find((x) => x.httpUrl);
  if (!s?.httpUrl) throw new Error('no media server publishes an HTTP URL');
  return `${s.httpUrl}/media/${id}.webm`;
}

function appendP50(samples: Sample[]): number {
  return p50Of(samples.map((s) => s.appendMs));
}

function p50Of(values: Array<number | null>): number {
  const xs = values.filter((x): x is number => x !== null);
  return xs.length ? round(percentile(xs, 50)) : NaN;
}

/**
 * Seek targets for one page: each more than FAR_S from the start and from the previous one, so
 * every seek leaves what either player has buffered (Baton reads up to 60 s ahead).
 */
function farPoints(rng: () => number, n: number, assetS: number): number[] {
  const out: number[] = [];
  let last = 0;
  while (out.length < n) {
    const t = Math.round((EDGE_S + rng() * (assetS - 2 * EDGE_S)) * 10) / 10;
    if (Math.abs(t - last) <= FAR_S) continue;
    out.push(t);
    last = t;
  }
  return out;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// `node bin/run-ts.js bench/seek.ts [--quick]` runs this suite alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchSeek({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(figures, null, 2));
}
