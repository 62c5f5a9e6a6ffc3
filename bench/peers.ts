// `npm run bench -- --peers`: Baton against the servers users already know, on this machine, in one run,
// on the same media — Janus 1.1.2 (streaming plugin), nginx-rtmp + HLS (hls.js), plain HTTP range + MSE
// from a Baton media server, and Baton's data-channel player. bench/README.md says what each figure covers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../test/e2e/helpers/browser.js';
import { ensureDemoMedia } from '../scripts/make-demo-media.js';
import { MEDIA_DIR } from '../test/helpers/cluster.js';
import { MAX_LATE_SHARE } from './peers/late.js';
import { idleLoad, loadRun } from './peers/load.js';
import { startPageServer } from './peers/pages.js';
import { BROWSER_ARGS, type Feed, type PeerFactory, type PeerName, type RunningPeer } from './peers/peer.js';
import { portRange } from './peers/ports.js';
import { PEER_FACTORIES } from './peers/registry.js';
import { viewerSample } from './peers/sample.js';
import type { Figures } from './results-store.js';
import { percentile } from './sampling.js';

const SIZES = {
  quick: { ttffRounds: 10, g2gRounds: 3, loadViewers: [1, 10, 40], loadWindowMs: 5_000 },
  full: { ttffRounds: 20, g2gRounds: 6, loadViewers: [1, 10, 40, 80], loadWindowMs: 10_000 },
};
/** Glass to glass: skip this long after the first frame, then read every frame for this long (ms). */
const G2G_SETTLE_MS = 2_000;
const G2G_COLLECT_MS = 4_000;
const LOAD_SETTLE_MS = 2_000;
/** More failed samples than this for one peer and its figure would mean little: it is left out. */
const MAX_FAILED_SAMPLES = 3;
/** The peers that stream live (the HTTP baseline is a file). */
const LIVE: readonly PeerName[] = ['baton', 'baton_whep', 'janus', 'hls'];

const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : NaN);

export async function benchPeers(opts: { quick: boolean }): Promise<Figures> {
  const size = opts.quick ? SIZES.quick : SIZES.full;
  await ensureDemoMedia(MEDIA_DIR);
  const figures: Figures = {};
  const available: PeerFactory[] = [];
  // BATON_BENCH_PEERS=a,b: only these peers (a development run; the figures of the others are then absent).
  const only = process.env.BATON_BENCH_PEERS?.split(',').filter(Boolean);
  for (const f of PEER_FACTORIES) {
    if (only && !only.includes(f.name)) continue;
    const why = f.unavailable();
    if (why) console.log(`\n  peers: ${f.name} left out: ${why}`);
    else available.push(f);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'baton-peers-'));
  const pages = await startPageServer();
  const ports = await portRange();
  let browser: Browser | undefined;
  let running: RunningPeer[] = [];
  const stopAll = async () => {
    for (const p of running.reverse()) await p.stop().catch((err: Error) => console.error(`  peers: stopping ${p.name}: ${err.message}`));
    running = [];
  };
  const startAll = async (feed: Feed) => {
    for (const f of available.filter((x) => x.feeds.includes(feed))) {
      log(`starting ${f.name} (${feed} feed)`);
      running.push(await f.start({ feed, tmpDir: join(tmp, feed), ports, pagesBase: pages.base, browser }));
    }
  };
  try {
    browser = await launchBrowser([...BROWSER_ARGS]);

    // ---- time to first frame: the demo asset; live for Janus and HLS, from storage for Baton and HTTP.
    await startAll('file');
    const ttff = await interleave(browser, running, size.ttffRounds, (b, p) => viewerSample(b, p.viewerUrl()).then((s) => s.frameMs));
    for (const [name, ms] of ttff) {
      figures[`peers.ttff_p50_ms.${name}`] = round(percentile(ms, 50));
      figures[`peers.ttff_p90_ms.${name}`] = round(percentile(ms, 90));
      figures[`peers.ttff_samples_ms.${name}`] = ms.map((x) => round(x));
    }
    const p50 = (name: string) => figures[`peers.ttff_p50_ms.${name}`] as number | undefined;
    for (const [name] of ttff) if (p50('http')) figures[`peers.ttff_ratio_vs_http.${name}`] = round(p50(name)! / p50('http')!, 3);
    if (p50('baton') && p50('janus')) figures['peers.ttff_ratio_vs_janus.baton'] = round(p50('baton')! / p50('janus')!, 3);

    // ---- server cost per viewer: Node viewers of each live peer, one peer at a time.
    for (const peer of running.filter((p) => LIVE.includes(p.name))) {
      log(`load: ${peer.name}`);
      for (const n of size.loadViewers) {
        try {
          // Each step against an idle window of its own, just before it: the machine and the peer drift.
          await peer.settleForLoad?.();
          const idle = await idleLoad(peer, size.loadWindowMs);
          const r = await loadRun(peer, n, idle, { windowMs: size.loadWindowMs, settleMs: LOAD_SETTLE_MS });
          figures[`peers.server_cpu_ms_per_viewer_s.${peer.name}.v${n}`] = round(r.cpuMsPerViewerS, 2);
          figures[`peers.rss_mb_per_viewer.${peer.name}.v${n}`] = round(r.rssMbPerViewer, 2);
          const spread = figures[`peers.rss_idle_spread_mb.${peer.name}`] as number | undefined;
          figures[`peers.rss_idle_spread_mb.${peer.name}`] = round(Math.max(spread ?? 0, r.rssIdleSpreadMb), 2);
          figures[`peers.viewers_receiving.${peer.name}.v${n}`] = r.receiving;
          figures[`peers.late_share.${peer.name}.v${n}`] = round(r.lateShare, 4);
          figures[`peers.frames_in_window.${peer.name}.v${n}`] = r.frames;
          // The largest count of the steps tried that every viewer received, with ≤ 1 % of frames late.
          if (r.receiving === n && r.frames > 0 && r.lateShare <= MAX_LATE_SHARE) figures[`peers.max_viewers_on_time.${peer.name}`] = n;
        } catch (err) {
          log(`load ${peer.name} × ${n}: ${(err as Error).message}`);
        }
      }
    }
    // Pooled over the steps of 10 viewers and more: their extra CPU summed ÷ their viewer-seconds (one
    // step's reading moves by a few ms per viewer-second between runs; the 1-viewer step is mostly noise).
    for (const peer of running.filter((p) => LIVE.includes(p.name))) {
      const steps = size.loadViewers.filter((n) => n >= 10 && figures[`peers.server_cpu_ms_per_viewer_s.${peer.name}.v${n}`] !== undefined);
      const viewers = steps.reduce((a, n) => a + n, 0);
      // Memory pooled alike: the steps' extra RSS summed ÷ their viewers (a 1-viewer step's reading is mostly the heap's own swing).
      const pooled = (figure: string) =>
        round(steps.reduce((a, n) => a + (figures[`peers.${figure}.${peer.name}.v${n}`] as number) * n, 0) / viewers, 2);
      if (viewers > 0) {
        figures[`peers.server_cpu_ms_per_viewer_s.${peer.name}`] = pooled('server_cpu_ms_per_viewer_s');
        figures[`peers.rss_mb_per_viewer.${peer.name}`] = pooled('rss_mb_per_viewer');
      }
    }
    const cpu = (name: string) => figures[`peers.server_cpu_ms_per_viewer_s.${name}`] as number | undefined;
    for (const other of ['janus', 'hls'])
      if (cpu('baton') !== undefined && cpu(other))
        figures[`peers.server_cpu_ratio_vs_${other}.baton`] = round(cpu('baton')! / cpu(other)!, 3);
    // Issue 15's names: WHEP beside the data channel, the same cluster, the same run.
    if (p50('baton_whep') !== undefined) figures['whep.ttff_p50_ms'] = p50('baton_whep')!;
    if (p50('baton_whep') && p50('baton')) figures['whep.ttff_ratio_vs_data_channel'] = round(p50('baton_whep')! / p50('baton')!, 3);
    if (cpu('baton_whep') !== undefined) figures['whep.cpu_ms_per_viewer_second'] = cpu('baton_whep')!;
    await stopAll();

    // ---- glass to glass: a clock drawn into each source frame, read back in the viewer.
    await startAll('clock');
    const g2g = await interleave(browser, running, size.g2gRounds, (b, p) =>
      viewerSample(b, p.viewerUrl(), { settleMs: G2G_SETTLE_MS, collectMs: G2G_COLLECT_MS }).then(async (s) => {
        if (s.latencies.length === 0) throw new Error(`no clock read back (${s.misreads} misreads)`);
        // Read after the broadcast ended, the clock would time a recording played from its start, not the live path.
        await p.feedLive?.();
        return s;
      }),
    );
    for (const [name, runs] of g2g) {
      const all = runs.flatMap((s) => s.latencies);
      const ahead = runs.flatMap((s) => s.aheadMs);
      // Where an MSE player's latency sits: media already in its buffer, waiting for the playhead.
      if (ahead.length) figures[`peers.glass_to_glass_buffered_ms_p50.${name}`] = round(percentile(ahead, 50));
      figures[`peers.glass_to_glass_ms_p50.${name}`] = round(percentile(all, 50));
      figures[`peers.glass_to_glass_ms_p95.${name}`] = round(percentile(all, 95));
      figures[`peers.glass_to_glass_frames.${name}`] = all.length;
    }
    const g = (name: string) => figures[`peers.glass_to_glass_ms_p50.${name}`] as number | undefined;
    for (const name of ['baton', 'baton_low_latency'])
      for (const other of ['janus', 'hls'])
        if (g(name) && g(other)) figures[`peers.glass_to_glass_ratio_vs_${other}.${name}`] = round(g(name)! / g(other)!, 3);
    // Issue 15's name: a WHIP publisher (Chromium, plain RTCPeerConnection) → a WHEP viewer in Chromium.
    if (g('baton_whip') !== undefined) figures['whip.glass_to_glass_ms_p50'] = g('baton_whip')!;
    // Issue 14's name: Baton's own player (data channel + MSE) of a broadcast from Baton's broadcaster page, camera to screen.
    if (g('baton') !== undefined) figures['live.glass_to_glass_ms_p50'] = g('baton')!;
    // The same player with its "Low latency" switch on: the broadcast page's stream over WebRTC media (WHEP).
    if (g('baton_low_latency') !== undefined) figures['live.glass_to_glass_ms_p50.low_latency'] = g('baton_low_latency')!;
    figures['peers.left_out'] = PEER_FACTORIES.length - available.length;
    return figures;
  } finally {
    await stopAll();
    await browser?.close();
    await pages.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Rounds of one sample per peer, in A B C order each round, so the machine's drift hits all alike; one
 * discarded warm-up sample each first (a fresh Chromium pays one-off codec setup on its first page).
 */
async function interleave<T>(
  browser: Browser,
  peers: RunningPeer[],
  rounds: number,
  sample: (b: Browser, p: RunningPeer) => Promise<T>,
): Promise<Map<PeerName, T[]>> {
  const out = new Map<PeerName, T[]>(peers.map((p) => [p.name, []]));
  const failed = new Map<PeerName, number>();
  for (const p of peers) await sample(browser, p).catch((err: Error) => log(`warm-up ${p.name}: ${err.message}`));
  for (let i = 0; i < rounds; i++) {
    for (const p of peers) {
      try {
        out.get(p.name)!.push(await sample(browser, p));
      } catch (err) {
        const n = (failed.get(p.name) ?? 0) + 1;
        failed.set(p.name, n);
        log(`${p.name} sample failed (${n}): ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  for (const [name, n] of failed) if (n > MAX_FAILED_SAMPLES) out.delete(name);
  for (const [name, xs] of out) if (xs.length === 0) out.delete(name);
  return out;
}

function log(msg: string): void {
  console.log(`\n  peers: ${msg}`);
}

// `node bin/run-ts.js bench/peers.ts [--quick]` runs this suite alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchPeers({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(figures, null, 2));
}
