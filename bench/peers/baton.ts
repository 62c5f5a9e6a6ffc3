// Baton's peers: its data-channel player (a real cluster, hub + 2 media servers, from
// test/helpers/cluster.ts) and the HTTP baseline (the same file from a media server's HTTP range
// endpoint into MSE). Both share one cluster. Live: a looped copy of the demo asset published by the
// Node publisher (load), or a clock drawn on a canvas that Chromium broadcasts through the normal
// broadcaster page (glass to glass).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext } from 'playwright-core';
import { publishStream } from '../../node-app/ingest/node-publisher.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { MatroskaReader } from '../../common/matroska-reader.js';
import { LateFrames } from './late.js';
import type { Viewer } from '../../client-sdk/viewer.js';
import { buildWebClient } from '../../test/e2e/helpers/web-build.js';
import { Cluster, THREE_SERVERS, waitFor } from '../../test/helpers/cluster.js';
import { DESKTOP } from '../../test/e2e/helpers/browser.js';
import { FEED_ASSET_ID, feedAsset } from './media.js';
import type { NodeViewer, PeerFactory, PeerStartOptions, RunningPeer } from './peer.js';
import { pageUrl } from './pages.js';
import { broadcasterScript } from './broadcaster.js';

export const STREAM_KEY = 'test-key';
/** The looped copy the Node publisher sends live: long enough for any load run (s). */
const LIVE_LOOP_S = 600;

/** What the Baton peers (data channel, WHEP, HTTP) share: one cluster, and its live streams. */
interface Shared {
  cluster: Promise<Cluster>;
  users: number;
  /** The canvas clock broadcast (glass to glass) and the looped publish (load), started by the first peer that needs each. */
  clock?: Promise<{ streamId: string; stop(): Promise<void> }>;
  loop?: Promise<string>;
  stops: Array<() => Promise<void>>;
}
let shared: Shared | undefined;

/**
 * Two media servers: a broadcast lands on a primary and a backup as Baton always does it, and a
 * viewer is served by one, against one Janus and one nginx. Their WebRTC is bound to loopback, where
 * the bench's Chromium looks for it (WHEP's media tracks need it; the data channel does not mind).
 */
const SERVERS = THREE_SERVERS.slice(0, 2).map((s) => ({ ...s, extraArgs: ['--rtc-bind-address', '127.0.0.1'] }));
/**
 * Baton's default heartbeat (ms; three missed and the hub removes a server), not the test cluster's 200: with 200, a media
 * server busy 600 ms (40 viewers joining on a loaded 2-core machine) was removed mid-run, its live copy and director seat with it.
 */
const HEARTBEAT_MS = 1_000;

async function startBatonCluster(): Promise<Cluster> {
  const cluster = new Cluster({ staticDir: await buildWebClient(), servers: SERVERS, heartbeatMs: HEARTBEAT_MS });
  // If the bench dies, the cluster's processes must not outlive it (stop() is the normal path).
  process.once('exit', () => {
    for (const p of [cluster.hub, ...cluster.servers.values()]) p?.child.kill('SIGKILL');
  });
  try {
    return await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** One cluster for the Baton peers, started by the first and stopped (with its live streams) by the last. */
export async function acquireCluster(): Promise<Cluster> {
  shared ??= { cluster: startBatonCluster(), users: 0, stops: [] };
  shared.users++;
  return shared.cluster;
}

export async function releaseCluster(): Promise<void> {
  if (!shared) return;
  if (--shared.users > 0) return;
  const s = shared;
  shared = undefined;
  if (s.clock) await (await s.clock.catch(() => undefined))?.stop();
  for (const stop of s.stops) await stop();
  await (await s.cluster).stop();
}

/** The shared canvas clock broadcast's stream id (one broadcast for every Baton peer's glass-to-glass viewers). */
export async function clockStream(browser: Browser): Promise<string> {
  const s = shared!;
  s.clock ??= s.cluster.then((c) => broadcastClock(browser, c.hubUrl));
  return (await s.clock).streamId;
}

/** The shared looped live stream the load runs' Node viewers watch. */
export async function loopStream(tmpDir: string): Promise<string> {
  const s = shared!;
  // Assigned before any await: viewers start five at a time, and each awaiting first started a publisher of its own.
  s.loop ??= s.cluster.then((c) => publishLoop(c, tmpDir, s.stops));
  return s.loop;
}

export const batonPeer: PeerFactory = {
  name: 'baton',
  feeds: ['file', 'clock'],
  unavailable: () => null,
  start: startBaton,
};

export const httpPeer: PeerFactory = {
  name: 'http',
  feeds: ['file'],
  unavailable: () => null,
  start: async (o) => {
    const cluster = await acquireCluster();
    const { url, mime } = await mediaServerUrl(cluster, FEED_ASSET_ID);
    return {
      name: 'http',
      viewerUrl: () => pageUrl(o.pagesBase, 'http.html', { src: url, mime }),
      serverPids: () => [...cluster.servers.values()].map((s) => s.child.pid!),
      startNodeViewer: () => Promise.reject(new Error('the HTTP baseline has no live stream')),
      stop: releaseCluster,
    };
  },
};

/** A Baton peer on the shared cluster: `viewerUrl(hubUrl, assetId)` and `nodeViewer(hubUrl, assetId)` say how it plays. */
export async function startBatonPeer(
  name: 'baton' | 'baton_whep' | 'baton_low_latency',
  o: PeerStartOptions,
  play: { viewerUrl(hubUrl: string, assetId: string): string; nodeViewer(hubUrl: string, assetId: string): Promise<NodeViewer> },
): Promise<RunningPeer> {
  const cluster = await acquireCluster();
  const viewers = new Set<NodeViewer>();
  let clock: string | undefined;
  try {
    if (o.feed === 'clock') {
      if (!o.browser) throw new Error('the Baton clock feed is broadcast from Chromium: pass a browser');
      clock = await clockStream(o.browser);
    }
  } catch (err) {
    await releaseCluster();
    throw err;
  }
  return {
    name,
    viewerUrl: () => play.viewerUrl(cluster.hubUrl, clock ?? FEED_ASSET_ID),
    serverPids: () => clusterPids(cluster),
    startNodeViewer: async () => {
      // Load runs watch a live stream, as Janus's and nginx's viewers do: published by settleForLoad, before the first idle window.
      const v = await play.nodeViewer(cluster.hubUrl, clock ?? (await loopStream(o.tmpDir)));
      viewers.add(v);
      const close = () => {
        viewers.delete(v);
        return v.close();
      };
      return { bytes: v.bytes, late: v.late, close };
    },
    feedLive: async () => {
      if (clock) await assertLive(cluster.hubUrl, clock);
    },
    settleForLoad: async () => {
      if (!clock) await loopStream(o.tmpDir);
      // The page samples of the phase before and the viewers of the step before have left every server.
      await waitFor(
        'no viewer session left on the servers',
        async () => (await cluster.state()).servers.every((s) => s.sessions === 0),
        30_000,
        100,
      );
    },
    stop: async () => {
      await Promise.all([...viewers].map((v) => v.close()));
      await releaseCluster();
    },
  };
}

/** The hub's and the media servers' pids: the processes whose CPU and memory count as Baton's. */
export const clusterPids = (cluster: Cluster): number[] => [
  cluster.hub!.child.pid!,
  ...[...cluster.servers.values()].map((s) => s.child.pid!),
];

/** Rejects unless the hub's catalog lists `id` as live. */
export async function assertLive(hubUrl: string, id: string): Promise<void> {
  const r = (await (await fetch(`${hubUrl}/api/catalog`)).json()) as { assets: Array<{ id: string; live: boolean }> };
  if (!r.assets.some((a) => a.id === id && a.live)) throw new Error(`the broadcast ${id} is not live`);
}

function startBaton(o: PeerStartOptions): Promise<RunningPeer> {
  return startBatonPeer('baton', o, {
    viewerUrl: (hubUrl, assetId) => `${hubUrl}/#/watch?asset=${encodeURIComponent(assetId)}&latency=normal`,
    nodeViewer: batonNodeViewer,
  });
}

/**
 * Baton's own player with its "Low latency" switch on (`latency=low`): a live stream plays over WebRTC media (WHEP)
 * instead of the data channel + MSE. Live clock feed only (a stored asset plays the same either way).
 */
export const batonLowLatencyPeer: PeerFactory = {
  name: 'baton_low_latency',
  feeds: ['clock'],
  unavailable: () => null,
  start: (o) =>
    startBatonPeer('baton_low_latency', o, {
      viewerUrl: (hubUrl, assetId) => `${hubUrl}/#/watch?asset=${encodeURIComponent(assetId)}&latency=low`,
      nodeViewer: batonNodeViewer,
    }),
};

/**
 * Publishes the demo asset looped live, as the other peers' feeds are made: ffmpeg -re remuxes it to WebM, each block
 * written when its time comes, piped to `baton publish --file -`'s publishStream. Resolves with the stream id once
 * servers hold it live.
 */
async function publishLoop(cluster: Cluster, tmpDir: string, stops: Array<() => Promise<void>>): Promise<string> {
  mkdirSync(tmpDir, { recursive: true });
  const loops = Math.ceil(LIVE_LOOP_S / 20);
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', String(loops), '-i', feedAsset()],
      // Short Clusters: the muxer holds a Cluster until it closes, so they set how bursty the feed is (as timeslices do).
      ...['-c', 'copy', '-f', 'webm', '-live', '1', '-cluster_time_limit', '100', '-flush_packets', '1', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  stops.push(async () => void ffmpeg.kill('SIGKILL'));
  const streamId = `peers-load-${process.pid}`;
  const controller = { stopped: false };
  const published = publishStream({
    hubUrl: cluster.hubUrl,
    input: ffmpeg.stdout,
    name: 'ffmpeg',
    location: 'Frankfurt',
    streamKey: STREAM_KEY,
    streamId,
    onAssigned: (p) =>
      stops.push(async () => {
        controller.stopped = true;
        p.close();
      }),
  }).catch((err: Error) => {
    if (!controller.stopped) console.error(`baton live publisher: ${err.message}`);
  });
  stops.push(async () => void (await Promise.race([published, new Promise((r) => setTimeout(r, 3_000))])));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = await cluster.state();
    if (s.servers.some((x) => (x.live as Array<{ id: string }>).some((l) => l.id === streamId))) return streamId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the Baton live stream never showed up in /api/state');
}

/** A Node viewer (node-datachannel, the same Viewer the web player runs) of `assetId`. */
async function batonNodeViewer(hubUrl: string, assetId: string): Promise<NodeViewer> {
  let bytes = 0;
  let viewer: Viewer | undefined;
  let closed = false;
  const late = new LateFrames();
  const frames = webmVideoFrames(late);
  const first = new Promise<void>((resolve, reject) => {
    void watchStream({ hubUrl, assetId, timeoutMs: 3_600_000 }, (b, v) => {
      viewer = v;
      bytes += b.byteLength;
      frames(b);
      if (closed) v.close();
      resolve();
    }).catch((err: Error) => (closed ? undefined : reject(err)));
    setTimeout(() => reject(new Error(`no bytes of ${assetId} in 20 s`)), 20_000);
  });
  await first;
  return {
    bytes: () => bytes,
    late: () => late.count(),
    close: async () => {
      closed = true;
      viewer?.close();
    },
  };
}

/** The HTTP baseline's URL: the first media server that serves the asset with CORS. */
async function mediaServerUrl(cluster: Cluster, id: string): Promise<{ url: string; mime: string }> {
  const catalog = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: Array<{ id: string; mime: string }> };
  const mime = catalog.assets.find((a) => a.id === id)?.mime;
  if (!mime) throw new Error(`${id} is not in the catalog`);
  for (const s of (await cluster.state()).servers) {
    if (!s.httpUrl) continue;
    const url = `${s.httpUrl}/media/${id}.webm`;
    const res = await fetch(url, { headers: { origin: 'http://127.0.0.1', range: 'bytes=0-0' } }).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.ok && res.headers.get('access-control-allow-origin')) return { url, mime };
  }
  throw new Error('no media server serves GET /media/<id>.webm with CORS');
}

/**
 * Chromium broadcasts a canvas with the clock drawn in (its getUserMedia replaced by the canvas's
 * stream) through the normal broadcaster page: MediaRecorder chunks to a primary and a backup server.
 */
async function broadcastClock(browser: Browser, hubUrl: string): Promise<{ streamId: string; stop(): Promise<void> }> {
  let context: BrowserContext | undefined = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: await broadcasterScript() });
    const page = await context.newPage();
    await page.goto(`${hubUrl}/#/broadcast`);
    await page.locator('baton-broadcast-setup [data-source=camera]').click();
    await page.locator('baton-broadcast-setup [data-testid=source-info]').waitFor({ timeout: 15_000 });
    await page.locator('baton-broadcast-setup #key').fill(STREAM_KEY);
    await page.locator('baton-place-field input').fill('Frankf');
    const option = page.locator('baton-place-field [role=option]', { hasText: /Frankfurt am Main, DE/ }).first();
    await option.waitFor({ timeout: 10_000 });
    await option.click();
    const go = page.locator('baton-broadcast-setup [data-testid=go-live]');
    for (let i = 0; i < 150 && !(await go.isEnabled()); i++) await new Promise((r) => setTimeout(r, 100));
    await go.click();
    const state = page.locator('baton-broadcaster [data-testid=broadcast-state]');
    for (let i = 0; i < 300 && (await state.getAttribute('data-phase')) !== 'live'; i++) await new Promise((r) => setTimeout(r, 100));
    if ((await state.getAttribute('data-phase')) !== 'live') throw new Error('the Baton broadcaster never went live');
    const streamId = ((await page.locator('baton-broadcaster [data-testid=stream-id]').textContent()) ?? '').trim();
    const ctx = context;
    context = undefined;
    return { streamId, stop: () => ctx.close() };
  } finally {
    await context?.close();
  }
}

/** Feeds the video blocks of a WebM stream, as its bytes arrive, to `late`; a stream it cannot read counts no more frames. */
function webmVideoFrames(late: LateFrames): (bytes: Uint8Array) => void {
  const reader = new MatroskaReader();
  let video: number | undefined;
  let broken = false;
  return (bytes) => {
    if (broken) return;
    try {
      const r = reader.push(bytes);
      if (r.tracks) video = r.tracks.find((t) => t.codecId.startsWith('V_'))?.number;
      const now = performance.now();
      for (const f of r.frames) if (f.track === video) late.frame(f.timestampS * 1000, now);
    } catch {
      broken = true;
    }
  };
}
