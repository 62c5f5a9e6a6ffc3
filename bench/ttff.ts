// Time to first frame in Chromium: the Baton player (WebRTC from the director's pick) against the same
// file fetched over plain HTTP into MSE, both measured from navigation start in a fresh page, and both from a
// click in a page already loaded (ttff-click.ts), same run.
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { DESKTOP, launchBrowser } from '../test/e2e/helpers/browser.js';
import { buildWebClient } from '../test/e2e/helpers/web-build.js';
import { MEDIA_DIR, startCluster, type Cluster } from '../test/helpers/cluster.js';
import { activeRun, type Figures } from './results-store.js';
import { alternating, percentile } from './sampling.js';
import { batonClickSample, clickFigures, httpClickSample, type ClickSample } from './ttff-click.js';
import { BATON_PROBE, httpProbe, waitForFrame } from './ttff-probes.js';

/** The demo clip both paths play: 1.6 MB, VP8 + Opus, about 640 kbit/s. */
export const TTFF_ASSET = 'demo-testsrc';
const QUICK_SAMPLES = 5;
const FULL_SAMPLES = 20;
/** A sample with no frame by then counts as failed (ms). */
const SAMPLE_TIMEOUT_MS = 20_000;
/** More failed samples than this and the figures would mean little: give up. */
const MAX_FAILED_SAMPLES = 3;
/** The hub page the HTTP baseline runs in: a tiny same-origin document, so page load costs almost nothing. */
const HTTP_PAGE_PATH = '/healthz';

type Source = { kind: 'media-server' | 'bench-loopback-server'; url: string; close: () => Promise<void> };

interface BatonSample {
  /** navigation start → first video frame presented (requestVideoFrameCallback `presentationTime`). */
  frameMs: number;
  playingMs: number | null;
  /** navigation start → the app's JavaScript defined <baton-player>. */
  appReadyMs: number | null;
  reason: string | null;
  server: string | null;
  /** Milestones from navigation start, where the page reached them. */
  phases: Partial<Record<BatonPhase, number>>;
}

/** Baton's milestones, in the order they happen. */
const BATON_PHASES = [
  'appReady',
  'socketStart',
  'socketOpen',
  'eioOpen',
  'nsConnect',
  'watchSent',
  'selected',
  'peer',
  'offer',
  'answer',
  'replyAnswer',
  'relayAnswer',
  'iceConnected',
  'dtlsConnected',
  'channelOpen',
  'firstData',
  'firstAppend',
  'frame',
] as const;
type BatonPhase = (typeof BATON_PHASES)[number];

interface HttpSample {
  frameMs: number;
  playingMs: number | null;
  /** navigation start → the fetch was issued. */
  fetchMs: number;
  firstByteMs: number | null;
}

/**
 * `ttff.*` figures. Each sample opens a fresh browser context (no HTTP cache,
 * no open sockets) in one warm Chromium process; Baton and HTTP samples alternate.
 *
 * - Baton: navigate to `#/watch?asset=demo-testsrc` on the hub → first frame. Includes
 *   loading the page and its JavaScript from the hub, the socket.io handshake, the
 *   director's choice, WebRTC setup, the first bytes over the data channel, MSE append
 *   and decode.
 * - HTTP: navigate to a tiny page on the hub's origin whose init script fetches the
 *   same file and streams it into MSE → first frame. Includes the (tiny) page load,
 *   the HTTP request, MSE append and decode.
 */
export async function benchTtff(opts: { quick: boolean }): Promise<Figures> {
  const n = opts.quick ? QUICK_SAMPLES : FULL_SAMPLES;
  const staticDir = await buildWebClient();
  const cluster = await startCluster({ staticDir });
  let browser: Browser | undefined;
  let source: Source | undefined;
  try {
    const mime = await assetMime(cluster, TTFF_ASSET);
    source = await httpSource(cluster, TTFF_ASSET);
    browser = await launchBrowser();

    // One discarded run of each: the first page in a fresh Chromium pays one-off costs (codec and shader setup).
    await batonSample(browser, cluster.hubUrl);
    await httpSample(browser, cluster.hubUrl, source.url, mime);

    const baton: BatonSample[] = [];
    const plain: HttpSample[] = [];
    let failed = 0;
    const attempt = async <T>(what: string, run: () => Promise<T>, into: T[]) => {
      try {
        into.push(await run());
      } catch (err) {
        if (++failed > MAX_FAILED_SAMPLES) throw new Error(`too many failed samples; last (${what}): ${(err as Error).message}`);
      }
    };
    await alternating(
      n,
      () => attempt('baton', () => batonSample(browser!, cluster.hubUrl), baton),
      () => attempt('http', () => httpSample(browser!, cluster.hubUrl, source!.url, mime), plain),
    );
    if (baton.length === 0 || plain.length === 0) throw new Error('no successful samples');

    // From a click on the loaded catalog (ttff-click.ts), both sides alike.
    const batonClicks: ClickSample[] = [];
    const httpClicks: ClickSample[] = [];
    const httpPage = { url: source.url, mime, path: HTTP_PAGE_PATH };
    await alternating(
      n,
      () => attempt('baton click', () => batonClickSample(browser!, cluster.hubUrl, TTFF_ASSET, SAMPLE_TIMEOUT_MS), batonClicks),
      () => attempt('http click', () => httpClickSample(browser!, cluster.hubUrl, httpPage, SAMPLE_TIMEOUT_MS), httpClicks),
    );

    const frames = baton.map((s) => s.frameMs);
    const httpFrames = plain.map((s) => s.frameMs);
    const p50 = percentile(frames, 50);
    const httpP50 = percentile(httpFrames, 50);
    const appReady = baton.map((s) => s.appReadyMs).filter((x): x is number => x !== null);
    const afterApp = baton.filter((s) => s.appReadyMs !== null).map((s) => s.frameMs - s.appReadyMs!);
    const fromFetch = plain.map((s) => s.frameMs - s.fetchMs);
    writeSamples({ opts, source: source.kind, mime, baton, plain, clicks: { baton: batonClicks, http: httpClicks } });
    return {
      ...clickFigures(batonClicks, httpClicks),
      'ttff.p50_ms': round(p50),
      'ttff.p90_ms': round(percentile(frames, 90)),
      'ttff.http_p50_ms': round(httpP50),
      'ttff.ratio_vs_http': round(p50 / httpP50, 3),
      'ttff.http_p90_ms': round(percentile(httpFrames, 90)),
      'ttff.playing_p50_ms': round(
        percentile(
          baton.map((s) => s.playingMs ?? s.frameMs),
          50,
        ),
      ),
      'ttff.app_ready_p50_ms': appReady.length ? round(percentile(appReady, 50)) : NaN,
      'ttff.after_app_ready_p50_ms': afterApp.length ? round(percentile(afterApp, 50)) : NaN,
      'ttff.http_from_fetch_p50_ms': round(percentile(fromFetch, 50)),
      // Baton's milestones (navigation start → …, medians): where its time goes.
      'ttff.socket_open_p50_ms': phaseP50(baton, 'socketOpen'),
      'ttff.peer_created_p50_ms': phaseP50(baton, 'peer'),
      'ttff.offer_made_p50_ms': phaseP50(baton, 'offer'),
      'ttff.watch_sent_p50_ms': phaseP50(baton, 'watchSent'),
      'ttff.channel_open_p50_ms': phaseP50(baton, 'channelOpen'),
      'ttff.first_data_p50_ms': phaseP50(baton, 'firstData'),
      'ttff.first_append_p50_ms': phaseP50(baton, 'firstAppend'),
      'ttff.samples': baton.length,
      // Every sample, for the CDF plot (bench/plots.ts).
      'ttff.samples_ms': frames.map((x) => round(x)),
      'ttff.http_samples_ms': httpFrames.map((x) => round(x)),
      'ttff.failed_samples': failed,
      /** 1 when the baseline came from a media server's own HTTP side, 0 when from the bench's loopback server. */
      'ttff.http_from_media_server': source.kind === 'media-server' ? 1 : 0,
    };
  } finally {
    await browser?.close();
    await source?.close();
    await cluster.stop();
  }
}

// ---- one sample of each --------------------------------------------------------------

async function batonSample(browser: Browser, hubUrl: string): Promise<BatonSample> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: BATON_PROBE });
    const page = await context.newPage();
    await page.goto(`${hubUrl}/#/watch?asset=${TTFF_ASSET}`, { waitUntil: 'commit' });
    const t = await waitForFrame(page, SAMPLE_TIMEOUT_MS);
    const reason = page.locator('baton-player [data-testid=reason]');
    const server = page.locator('baton-player [data-testid=server-id]');
    return {
      frameMs: t.frame!,
      playingMs: t.playing ?? null,
      appReadyMs: t.appReady ?? null,
      reason: (await reason.count()) ? await reason.getAttribute('data-reason') : null,
      server: (await server.count()) ? ((await server.textContent())?.trim() ?? null) : null,
      phases: Object.fromEntries(BATON_PHASES.filter((k) => typeof t[k] === 'number').map((k) => [k, t[k]!])),
    };
  } finally {
    await context.close();
  }
}

async function httpSample(browser: Browser, hubUrl: string, url: string, mime: string): Promise<HttpSample> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: httpProbe({ url, mime, path: HTTP_PAGE_PATH }) });
    const page = await context.newPage();
    await page.goto(`${hubUrl}${HTTP_PAGE_PATH}`, { waitUntil: 'commit' });
    const t = await waitForFrame(page, SAMPLE_TIMEOUT_MS);
    return { frameMs: t.frame!, playingMs: t.playing ?? null, fetchMs: t.fetch!, firstByteMs: t.firstByte ?? null };
  } finally {
    await context.close();
  }
}

// ---- the HTTP side -----------------------------------------------------------------------

async function assetMime(cluster: Cluster, id: string): Promise<string> {
  const r = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: Array<{ id: string; mime: string }> };
  const a = r.assets.find((x) => x.id === id);
  if (!a) throw new Error(`${id} is not in the catalog`);
  return a.mime;
}

/**
 * Where the HTTP baseline fetches the file: a media server's own HTTP side when it
 * serves `GET /media/<id>.webm` with CORS, else a loopback server started here that
 * serves the same bytes (the demo clip the cluster's storage links to).
 */
async function httpSource(cluster: Cluster, id: string): Promise<Source> {
  const state = await cluster.state();
  for (const s of state.servers) {
    if (!s.httpUrl) continue;
    const url = `${s.httpUrl}/media/${id}.webm`;
    try {
      const res = await fetch(url, { headers: { origin: cluster.hubUrl } });
      await res.arrayBuffer();
      if (res.ok && res.headers.get('access-control-allow-origin')) return { kind: 'media-server', url, close: async () => undefined };
    } catch {
      // Not served there: fall through to the loopback server.
    }
  }
  const file = join(MEDIA_DIR, `${id}.webm`);
  const size = statSync(file).size;
  const server: Server = createServer((req, res) => {
    if (req.url !== `/media/${id}.webm`) {
      res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'video/webm',
      'content-length': size,
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kind: 'bench-loopback-server',
    url: `http://127.0.0.1:${port}/media/${id}.webm`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---- figures -------------------------------------------------------------------------------

function phaseP50(samples: readonly BatonSample[], phase: BatonPhase): number {
  const xs = samples.map((s) => s.phases[phase]).filter((x): x is number => x !== undefined);
  return xs.length ? round(percentile(xs, 50)) : NaN;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundAll(xs: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, round(v)]));
}

function writeSamples(o: {
  opts: { quick: boolean };
  source: Source['kind'];
  mime: string;
  baton: BatonSample[];
  plain: HttpSample[];
  clicks: { baton: ClickSample[]; http: ClickSample[] };
}): void {
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const count = (xs: Array<string | null>) =>
    xs.reduce<Record<string, number>>((m, x) => ((m[x ?? 'unknown'] = (m[x ?? 'unknown'] ?? 0) + 1), m), {});
  const notes = [
    'Both figures run from navigation start (performance.timeOrigin) of a fresh browser context to the first video frame presented (requestVideoFrameCallback presentationTime).',
    `Baton: the player page ${'#/watch?asset=' + TTFF_ASSET} served by the hub: page + JS from the hub, socket.io handshake, watch → director, WebRTC setup, data channel, MSE.`,
    `HTTP: a tiny page on the hub's origin (${HTTP_PAGE_PATH}); an init script fetches the file at document creation and streams it into MSE.`,
    o.source === 'media-server'
      ? "The HTTP file came from a media server's own HTTP side (GET /media/<id>.webm)."
      : 'The media servers do not serve GET /media/<id>.webm yet: the HTTP file came from a loopback Node HTTP server started by the bench, serving the same bytes.',
    'One discarded warm-up sample of each; samples alternate Baton/HTTP in one Chromium process.',
    `Click figures (clicks): a fresh context loads the page and shows it for 1.5 s; Baton's catalog entry for ${TTFF_ASSET} is clicked, or the HTTP page (whose click handler fetches the file into MSE); from the click's event time to the first frame presented, milestones from the click.`,
  ];
  const out = {
    // The bench run that wrote this file (command, commit, date, machine, mode); absent when the suite runs alone.
    provenance: activeRun() ?? null,
    quick: o.opts.quick,
    asset: TTFF_ASSET,
    mime: o.mime,
    httpSource: o.source,
    notes,
    baton: {
      samples_ms: o.baton.map((s) => round(s.frameMs)),
      playing_ms: o.baton.map((s) => (s.playingMs === null ? null : round(s.playingMs))),
      app_ready_ms: o.baton.map((s) => (s.appReadyMs === null ? null : round(s.appReadyMs))),
      phases_ms: o.baton.map((s) => Object.fromEntries(Object.entries(s.phases).map(([k, v]) => [k, round(v)]))),
      reasons: count(o.baton.map((s) => s.reason)),
      servers: count(o.baton.map((s) => s.server)),
    },
    http: {
      samples_ms: o.plain.map((s) => round(s.frameMs)),
      playing_ms: o.plain.map((s) => (s.playingMs === null ? null : round(s.playingMs))),
      fetch_start_ms: o.plain.map((s) => round(s.fetchMs)),
      first_byte_ms: o.plain.map((s) => (s.firstByteMs === null ? null : round(s.firstByteMs))),
    },
    clicks: {
      baton: o.clicks.baton.map((s) => ({ frame_ms: round(s.frameMs), phases_ms: roundAll(s.phases) })),
      http: o.clicks.http.map((s) => ({ frame_ms: round(s.frameMs), phases_ms: roundAll(s.phases) })),
    },
  };
  writeFileSync(join(dir, `ttff-samples-${o.opts.quick ? 'quick' : 'full'}.json`), JSON.stringify(out, null, 2) + '\n');
}

// `node bin/run-ts.js bench/ttff.ts [--quick]` runs this suite alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchTtff({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(figures, null, 2));
}
