// A dashboard that never reads the deltas the hub pushes (and answers pings it never read) is disconnected once it
// holds more than MAX_DASHBOARD_BACKLOG_BYTES past its snapshot; before, the hub kept every batch for it, for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape } from '../helpers/prometheus.js';
import { Cluster } from '../helpers/cluster.js';
import { bareDescriptor } from '../helpers/descriptor.js';
import { MAX_DASHBOARD_BACKLOG_BYTES } from '../../signaling/transport/outbound-backlog.js';
import { recordFigure } from './helpers/figures.js';
import { alive, ask, connect, connectServer, rssBytes, unreadSocket } from './helpers/net.js';

/** Assets a fake server adds and removes in one report: two delta batches of ≈ 140 KB for every dashboard. */
const ASSETS_PER_REPORT = 2_000;

describe('a dashboard that does not read', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [] }] });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it(`is disconnected past ${MAX_DASHBOARD_BACKLOG_BYTES} unread bytes of deltas; a reading dashboard stays`, async () => {
    const slowReaders = async () =>
      (await scrape(`${cluster.hubUrl}/metrics`)).get('baton_hub_rejected_messages_total{code="slow-reader"}') ?? 0;
    const before = await slowReaders();
    // It joins /dashboard (loopback, no operator token), stops reading, and sends a pong every 2 s it never read a ping for.
    const ws = await unreadSocket(cluster.hubUrl, '/dashboard');
    const pongs = setInterval(() => ws.send('3'), 2_000);
    // A dashboard that reads, as the operator's page does.
    const reader = await connect(cluster.hubUrl, '/dashboard');
    let readerDeltas = 0;
    reader.on('deltas', () => readerDeltas++);
    // A server (the cluster secret's) whose reports make deltas: each adds and removes 2,000 assets.
    const fake = await connectServer(cluster.hubUrl, 'churn-1');
    expect(await ask(fake, 'register', bareDescriptor('churn-1', { region: 'synthetic' }))).toMatchObject({ ok: true });
    const beat = setInterval(() => fake.emit('heartbeat', {}), 300);
    const pid = cluster.hub!.child.pid!;
    const rssBefore = rssBytes(pid);
    let rssPeak = rssBefore;
    const t0 = Date.now();
    let reports = 0;
    try {
      while ((await slowReaders()) === before && Date.now() - t0 < 60_000) {
        for (let i = 0; i < 5; i++) {
          const assets = Array.from({ length: ASSETS_PER_REPORT }, (_, k) => ({
            id: `churn-${reports}-${k}`,
            bytes: 1_000,
            mime: 'video/webm',
          }));
          expect(await ask(fake, 'report', [{ type: 'storage-add', assets }])).toEqual({ ok: true });
          expect(await ask(fake, 'report', [{ type: 'storage-remove', assets: assets.map((a) => a.id) }])).toEqual({ ok: true });
          reports++;
        }
        rssPeak = Math.max(rssPeak, rssBytes(pid));
      }
      // Before, the hub held every batch for it: no disconnect within the minute, the hub growing with each report.
      expect(await slowReaders(), `${reports} reports in ${Date.now() - t0} ms`).toBeGreaterThan(before);
      expect(reader.connected).toBe(true);
      expect(readerDeltas).toBeGreaterThan(reports);
      expect(alive(cluster.hub!)).toBe(true);
      recordFigure('dashboard_slow_reader.reports_until_disconnected', reports);
      recordFigure('dashboard_slow_reader.disconnected_after_ms', Date.now() - t0);
      recordFigure('dashboard_slow_reader.hub_rss_growth_mb', Math.round((rssPeak - rssBefore) / 1e5) / 10);
    } finally {
      clearInterval(pongs);
      clearInterval(beat);
      ws.terminate();
      reader.close();
      fake.close();
    }
  }, 120_000);
});
