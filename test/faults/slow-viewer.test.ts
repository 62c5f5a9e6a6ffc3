// Fault row 5: a viewer that reads at 10% of the bitrate next to normal viewers on the same server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { watchStream, type WatchResult } from '../../node-app/delivery/node-viewer.js';
import { MAX_QUEUED_BYTES, type ServeStats } from '../../node-app/delivery/serve-options.js';
import { SLOW_FRACTION } from '../../node-app/delivery/slow-viewer.js';
import { recordFigure } from './helpers/figures.js';
import { getJson, rssBytes, serverUrl, sleep } from './helpers/net.js';
import { openRawViewer } from './helpers/raw-viewer.js';
import { openSlowLink } from './helpers/slow-link.js';

const SERVER = 'edge-1';
/** The slow one watches the high-bitrate clip; 10% of it is what it reads. */
const SLOW_ASSET = 'demo-mandelbrot';
const SLOW_SHARE = 0.1;
/** The normal viewers watch a clip that plays out (paced) in a few seconds. */
const NORMAL_ASSET = 'demo-testsrc';
const NORMAL_VIEWERS = 3;
/** The server's slow-viewer timeout, short so the row is quick (the default is 20 s). */
const SLOW_MS = 4_000;
const SAMPLE_EVERY_MS = 100;
/** The bottleneck router's queue on the slow link. */
const LINK_QUEUE_BYTES = 32 * 1024;
/** libdatachannel's SCTP send buffer: fixed per association, outside the channel's bufferedAmount. */
const SCTP_SEND_BUFFER_BYTES = 1024 * 1024;
/** Bytes sent and not yet received can sit in the channel queue, the SCTP buffer, or the link. */
const HELD_CAP_BYTES = MAX_QUEUED_BYTES + SCTP_SEND_BUFFER_BYTES + LINK_QUEUE_BYTES;

type Status = { sessionStats: (ServeStats & { sessionId: string })[] };

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Bytes per ms from the first byte to the end (paced, so about the same for every healthy viewer). */
const throughput = (r: WatchResult) => r.bytes / Math.max(1, r.totalMs - r.ttfbMs);

describe('row 5: a slow viewer', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: [] });
  beforeAll(async () => {
    await cluster.start();
    await cluster.startServer({
      id: SERVER,
      region: 'eu-central',
      lat: 50.11,
      lon: 8.68,
      assets: [SLOW_ASSET, NORMAL_ASSET],
      extraArgs: ['--slow-viewer-ms', String(SLOW_MS)],
    });
    await waitFor('the server in the table', async () => (await cluster.state()).servers.length === 1);
  }, 60_000);
  afterAll(() => cluster.stop());

  it('is capped in server memory, does not slow the others, and is told and dropped', async () => {
    const normalHash = sha256(readFileSync(join(MEDIA_DIR, `${NORMAL_ASSET}.webm`)));
    const watchNormal = () =>
      Promise.all(
        Array.from({ length: NORMAL_VIEWERS }, () =>
          watchStream({ hubUrl: cluster.hubUrl, assetId: NORMAL_ASSET, timeoutMs: 60_000 }, () => {}),
        ),
      );
    const baseline = await watchNormal();
    for (const r of baseline) expect(r.sha256).toBe(normalHash);

    const url = await serverUrl(cluster, SERVER);
    const pid = cluster.servers.get(SERVER)!.child.pid!;
    const catalog = await getJson<{ assets: { id: string; bitrateBps?: number }[] }>(`${cluster.hubUrl}/api/catalog`);
    const bitrateBps = catalog.assets.find((a) => a.id === SLOW_ASSET)?.bitrateBps ?? 0;
    expect(bitrateBps).toBeGreaterThan(0);

    const link = await openSlowLink((SLOW_SHARE * bitrateBps) / 8, LINK_QUEUE_BYTES);
    const slow = await openRawViewer(cluster.hubUrl, SLOW_ASSET, { toServer: link.toServer, toViewer: link.toViewer });
    let sampling = true;
    try {
      expect(slow.server).toBe(SERVER);
      // Connected is when the server starts sending, and the slow link starts to bite.
      await waitFor('the slow viewer connected', () => slow.connected, 20_000);
      const rssBefore = rssBytes(pid);
      const t0 = performance.now();
      let droppedAt: number | undefined;
      let linkRateBps = 0;
      let maxQueued = 0;
      let maxHeld = 0;
      let maxRss = rssBefore;
      const sampler = (async () => {
        for (let i = 0; sampling && i < 1_000; i++) {
          const s = await getJson<Status>(`${url}/api/status`).catch(() => undefined);
          const mine = s?.sessionStats.find((x) => x.sessionId === slow.sessionId);
          if (mine) {
            maxQueued = Math.max(maxQueued, mine.queuedBytes, mine.maxQueuedBytes);
            // Sent by the server and not yet at the viewer: what the stack holds for it, plus the link.
            maxHeld = Math.max(maxHeld, mine.bytesSent - slow.bytes);
            maxRss = Math.max(maxRss, rssBytes(pid));
          } else if (s && droppedAt === undefined) {
            droppedAt = performance.now();
            // Everything the link carried to it (media, SCTP and DTLS overhead, retransmissions).
            linkRateBps = (link.stats.forwardedBytes * 8) / ((droppedAt - t0) / 1000);
          }
          await sleep(SAMPLE_EVERY_MS);
        }
      })();

      const loaded = await watchNormal();
      await waitFor('the slow viewer dropped by the server', () => droppedAt !== undefined, SLOW_MS + 15_000);
      // Told through the hub (the data channel is the congested path, so the error frame may not make it).
      await waitFor('the slow viewer told', () => slow.hubCloses.length > 0, 5_000);
      sampling = false;
      await sampler;

      for (const r of loaded) expect(r.sha256).toBe(normalHash);
      const mean = (rs: WatchResult[]) => rs.reduce((a, r) => a + throughput(r), 0) / rs.length;
      const kept = mean(loaded) / mean(baseline);
      expect(kept).toBeGreaterThanOrEqual(0.95);
      // It really read at a fraction of the bitrate...
      expect(linkRateBps).toBeLessThan(SLOW_FRACTION * bitrateBps);
      // ...and what the server held for it stayed under a fixed cap however long it lasted.
      expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
      expect(maxHeld).toBeLessThanOrEqual(HELD_CAP_BYTES);
      const dropMs = droppedAt! - t0;
      expect(dropMs).toBeGreaterThanOrEqual(SLOW_MS * 0.9);

      recordFigure('slow_viewer.read_share_of_bitrate', linkRateBps / bitrateBps);
      recordFigure('slow_viewer.max_queued_bytes', maxQueued);
      recordFigure('slow_viewer.max_held_bytes', maxHeld);
      recordFigure('slow_viewer.held_cap_bytes', HELD_CAP_BYTES);
      recordFigure('slow_viewer.server_rss_growth_bytes', maxRss - rssBefore);
      recordFigure('slow_viewer.others_throughput_kept_share', kept);
      recordFigure('slow_viewer.dropped_after_ms', dropMs);
      recordFigure('slow_viewer.timeout_ms', SLOW_MS);
    } finally {
      sampling = false;
      await slow.close();
      link.close();
    }
  }, 120_000);
});
