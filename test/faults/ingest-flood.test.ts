// Fault row 21: a publisher flooding an entry server with 1-byte chunks, SIGTERM during a flood,
// and a second server process started on the same storage directory as a live stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor, waitForOutput, type ServerSpec } from '../helpers/cluster.js';
import { SHUTDOWN_FLUSH_MS } from '../../node-app/ingest/ingest-manager.js';
import { recordFigure } from './helpers/figures.js';
import { alive, rssBytes, sleep } from './helpers/net.js';
import { pacedPublish } from './helpers/paced-publish.js';
import { openRawPublisher } from './helpers/raw-publisher.js';

const MB = 1024 * 1024;
/** Far above what a flood may cost once refused; the unbounded server passed it within seconds. */
const RSS_BOUND_BYTES = 200 * MB;
/** A flood still open after this long was not refused. */
const FLOOD_DEADLINE_MS = 25_000;
const CLIP = 'demo-testsrc';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('row 21: tiny-chunk floods and shared storage on an entry server', () => {
  const ENTRY: ServerSpec = { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [] };
  const cluster = new Cluster({ rotationMs: 0, servers: [ENTRY] });
  const pidOf = (id: string) => cluster.servers.get(id)!.child.pid!;
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('a publisher sending 1-byte chunks as fast as it can is closed; RSS stays bounded and comes back', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, `${CLIP}.webm`)));
    const pid = pidOf('fra-1');
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    const pub = await openRawPublisher(cluster.hubUrl, 'flood-1');
    const started = performance.now();
    try {
      const flooding = pub.flood(src, 1);
      const outcome = await Promise.race([pub.closed, sleep(FLOOD_DEADLINE_MS).then(() => 'still open' as const)]);
      pub.stop();
      await flooding;
      peak = Math.max(peak, rssBytes(pid));
      expect(outcome, `after ${pub.chunks} chunks`).toEqual({ error: 'too-many-chunks' });
      const closedAfterMs = performance.now() - started;
      expect(peak - baseline, `RSS ${Math.round(baseline / MB)} → ${Math.round(peak / MB)} MB`).toBeLessThan(RSS_BOUND_BYTES);
      // The flooder's copy is cut at once (it holds no whole Cluster: nothing is kept), and its memory goes with it.
      await waitFor('the flooded .part gone', () => !existsSync(join(cluster.servers.get('fra-1')!.storage, 'flood-1.webm.part')), 10_000);
      const after = await waitFor(
        'RSS back near the baseline',
        () => {
          const now = rssBytes(pid);
          return now < baseline + 64 * MB ? now : undefined;
        },
        30_000,
        200,
      );
      recordFigure('ingest_flood.chunks_before_close', pub.chunks);
      recordFigure('ingest_flood.closed_after_ms', closedAfterMs);
      recordFigure('ingest_flood.rss_growth_mb', (peak - baseline) / MB);
      recordFigure('ingest_flood.rss_after_mb', after / MB);
    } finally {
      clearInterval(sampler);
      pub.close();
    }
    expect(alive(cluster.servers.get('fra-1')!)).toBe(true);
  }, 90_000);

  it("a second server started on the same storage directory leaves the first one's live .part alone", async () => {
    const src = readFileSync(join(MEDIA_DIR, `${CLIP}.webm`));
    const storage = cluster.servers.get('fra-1')!.storage;
    const part = join(storage, 'shared-live.webm.part');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Half the clip, then hold until the second instance is up: the stream is live all along.
    const pub = pacedPublish({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, `${CLIP}.webm`),
      streamId: 'shared-live',
      bytesPerSecond: src.length / 4,
      holds: [{ at: Math.floor(src.length / 2), until: held }],
    });
    pub.result.catch(() => undefined);
    await pub.assigned;
    await waitFor('the live .part on fra-1', () => existsSync(part), 20_000, 20);
    const second = await cluster.startServer({ ...ENTRY, id: 'fra-2', storageDir: storage }, { waitRegistered: false });
    await waitForOutput(second, /registered with hub/, 30_000);
    expect(existsSync(part), 'the live .part after the second instance started').toBe(true);
    release();
    const r = await pub.result;
    expect(r.stored).toContain('fra-1');
    expect(sha256(readFileSync(join(storage, 'shared-live.webm')))).toBe(sha256(src));
    second.child.kill('SIGTERM');
    await second.exited;
  }, 90_000);

  it('SIGTERM during a flood: the server exits within its flush deadline', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, `${CLIP}.webm`)));
    const pub = await openRawPublisher(cluster.hubUrl, 'flood-2');
    try {
      const flooding = pub.flood(src, 1);
      await waitFor('the flood under way', () => pub.chunks > 200, 10_000, 5);
      const p = cluster.servers.get('fra-1')!;
      const t0 = performance.now();
      p.child.kill('SIGTERM');
      const code = await Promise.race([p.exited, sleep(SHUTDOWN_FLUSH_MS + 10_000).then(() => 'still running' as const)]);
      const exitMs = performance.now() - t0;
      pub.stop();
      await flooding;
      expect(code).toBe(0);
      expect(exitMs).toBeLessThan(SHUTDOWN_FLUSH_MS + 5_000);
      recordFigure('ingest_flood.sigterm_exit_ms', exitMs);
    } finally {
      pub.close();
    }
  }, 60_000);
});
