// Baton fed over WHIP, played over WHEP: what an OBS or GStreamer broadcaster and a WHEP player get.
// The clock canvas is published from Chromium by a plain RTCPeerConnection page (pages/whip.html) —
// WebRTC encoding, then Baton's WHIP ingest (RTP → WebM, stored on a primary and a backup) — and
// played by the same plain WHEP page as `baton_whep`. Live clock feed only: its glass to glass is
// issue 15's `whip.glass_to_glass_ms_p50`.
import type { Browser, BrowserContext } from 'playwright-core';
import { DESKTOP } from '../../test/e2e/helpers/browser.js';
import { acquireCluster, assertLive, clusterPids, releaseCluster, STREAM_KEY } from './baton.js';
import { whepNodeViewer } from './baton-whep.js';
import { broadcasterScript } from './broadcaster.js';
import { pageUrl } from './pages.js';
import type { NodeViewer, PeerFactory, PeerStartOptions, RunningPeer } from './peer.js';

const ANSWER_TIMEOUT_MS = 20_000;
const LIVE_TIMEOUT_MS = 20_000;

export const batonWhipPeer: PeerFactory = {
  name: 'baton_whip',
  feeds: ['clock'],
  unavailable: () => null,
  start: startWhipPeer,
};

async function startWhipPeer(o: PeerStartOptions): Promise<RunningPeer> {
  if (o.feed !== 'clock') throw new Error('baton_whip is a live source only: it has no file feed');
  if (!o.browser) throw new Error('the WHIP clock is published from Chromium: pass a browser');
  const cluster = await acquireCluster();
  const streamId = `peers-whip-${process.pid}`;
  let publisher: BrowserContext;
  try {
    publisher = await publishClock(o.browser, o.pagesBase, cluster.hubUrl, streamId);
  } catch (err) {
    await releaseCluster();
    throw err;
  }
  const endpoint = `${cluster.hubUrl}/whep/${encodeURIComponent(streamId)}`;
  const viewers = new Set<NodeViewer>();
  return {
    name: 'baton_whip',
    viewerUrl: () => pageUrl(o.pagesBase, 'whep.html', { endpoint }),
    serverPids: () => clusterPids(cluster),
    startNodeViewer: async () => {
      const v = await whepNodeViewer(endpoint);
      viewers.add(v);
      return { bytes: v.bytes, late: v.late, close: async () => (viewers.delete(v), v.close()) };
    },
    feedLive: () => assertLive(cluster.hubUrl, streamId),
    stop: async () => {
      await Promise.all([...viewers].map((v) => v.close()));
      await publisher.close();
      await releaseCluster();
    },
  };
}

/** Opens the WHIP page on the clock canvas; resolves with its context once the hub's catalog shows the stream live. */
async function publishClock(browser: Browser, pagesBase: string, hubUrl: string, streamId: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    await context.addInitScript({ content: await broadcasterScript() });
    const page = await context.newPage();
    const endpoint = `${hubUrl}/whip/${encodeURIComponent(streamId)}?location=Frankfurt`;
    await page.goto(pageUrl(pagesBase, 'whip.html', { endpoint, key: STREAM_KEY }));
    const answered = await page.waitForFunction(
      () => {
        const s = (window as unknown as { __whip?: { phase: string; error?: string } }).__whip;
        return s && s.phase !== 'starting' ? s : undefined;
      },
      undefined,
      { timeout: ANSWER_TIMEOUT_MS, polling: 100 },
    );
    const s = (await answered.jsonValue()) as { phase: string; error?: string };
    if (s.phase !== 'answered') throw new Error(`the WHIP publisher failed: ${s.error}`);
    const deadline = Date.now() + LIVE_TIMEOUT_MS;
    for (;;) {
      const live = await assertLive(hubUrl, streamId).then(
        () => true,
        () => false,
      );
      if (live) return context;
      if (Date.now() > deadline) throw new Error(`the WHIP stream ${streamId} was answered but never showed up live in the catalog`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await context.close();
    throw err;
  }
}
