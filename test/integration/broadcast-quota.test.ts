// Per-stream quotas on real servers: a stream over its size quota is cut at a Cluster and the broadcaster is told why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor, type ServerSpec } from '../helpers/cluster.js';
import { FAST_READ_BYTES, QUOTA_MARGIN, publishFile } from '../../node-app/ingest/node-publisher.js';
import { BURST_SECONDS, CLUSTER_CHARGE_BYTES, MIN_BURST_BYTES } from '../../node-app/ingest/ingest-limits.js';
import { ClusterIdCount } from '../../node-app/ingest/cluster-id-count.js';
import type { Publisher } from '../../client-sdk/publisher.js';
import { makeOpusClusterPerFrame } from '../helpers/test-clip.js';

const TWO: ServerSpec[] = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [] },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: [] },
];

describe('broadcast: size quota', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: TWO });
  beforeAll(async () => {
    // Inherited by the server processes: 1 MiB per stream.
    process.env.BATON_INGEST_MAX_MB = '1';
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('refuses bytes past the size quota with too-large; both copies keep the same whole Clusters', async () => {
    const src = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
    expect(src.length).toBeGreaterThan(1024 * 1024);
    await expect(
      publishFile({
        hubUrl: cluster.hubUrl,
        file: join(MEDIA_DIR, 'demo-testsrc.webm'),
        location: 'Lisbon',
        streamKey: 'test-key',
        streamId: 'q-1',
        fast: true,
      }),
    ).rejects.toMatchObject({ code: 'too-large' });
    const copies = await waitFor('both copies salvaged', () => {
      const files = ['fra-1', 'iad-1'].map((id) => join(cluster.servers.get(id)!.storage, 'q-1.webm'));
      return files.every((f) => existsSync(f)) && files;
    });
    const hashes = copies.map((f) => createHash('sha256').update(readFileSync(f)).digest('hex'));
    expect(hashes[0]).toBe(hashes[1]);
    const size = statSync(copies[0]!).size;
    expect(size).toBeLessThanOrEqual(1024 * 1024);
    // Cut exactly before a Cluster of the source, so the copy is a playable prefix.
    expect(src.subarray(size, size + 4).equals(Buffer.from([0x1f, 0x43, 0xb6, 0x75]))).toBe(true);
    expect(readFileSync(copies[0]!).equals(src.subarray(0, size))).toBe(true);
    for (const id of ['fra-1', 'iad-1'])
      expect(readdirSync(cluster.servers.get(id)!.storage).filter((f) => f.endsWith('.part'))).toEqual([]);
  }, 60_000);
});

describe('broadcast: bitrate quota', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: TWO });
  beforeAll(async () => {
    delete process.env.BATON_INGEST_MAX_MB;
    // 2 Mbit/s on average, after a 4 MiB burst.
    process.env.BATON_INGEST_MAX_MBPS = '2';
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('`--fast` goes as fast as the servers allow and no faster', async () => {
    const src = readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm'));
    const chunks: { end: number; n: number; atMs: number }[] = [];
    let publisher: Publisher | undefined;
    const r = await publishFile({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, 'demo-mandelbrot.webm'),
      location: 'Lisbon',
      streamKey: 'test-key',
      streamId: 'q-2',
      fast: true,
      onAssigned: (p) => (publisher = p),
      onChunk: (offset, n, atMs) => chunks.push({ end: offset + n, n, atMs }),
    });
    expect(r.sha256).toBe(createHash('sha256').update(src).digest('hex'));
    expect(r.stored.sort()).toEqual(['fra-1', 'iad-1']);

    // What the servers allow: the publisher was told their quota (2 Mbit/s after the burst, each Cluster charged).
    const rateBps = 2e6;
    const burstBytes = Math.max(MIN_BURST_BYTES, (BURST_SECONDS * rateBps) / 8);
    expect(publisher!.limits).toMatchObject({ maxBitrateBps: rateBps, burstBytes, clusterBytes: CLUSTER_CHARGE_BYTES });
    const charged = (end: number) => end + new ClusterIdCount().push(src.subarray(0, end)) * CLUSTER_CHARGE_BYTES;
    // 4.5 MB is past the burst, so the quota binds during this upload.
    expect(src.length).toBeGreaterThan(burstBytes);

    // No faster: had any chunk gone past the quota the servers would have refused it (rate-limited) and
    // publishFile would have thrown; and the whole upload cannot take less than the quota allows.
    expect(r.elapsedMs).toBeGreaterThanOrEqual(((src.length - burstBytes) * 8 * 1000) / rateBps);

    // As fast as allowed: every chunk is a full read (reading at full speed), the file's last, or reaches the
    // quota line (less the margin) as it stood when the previous chunk went out — never behind it.
    // Checked against the publisher's own clock readings, so a slow machine cannot make it pass or fail.
    const t0 = chunks[0]!.atMs;
    const allowedAt = (atMs: number) => QUOTA_MARGIN * (burstBytes + (rateBps / 8) * ((atMs - t0) / 1000));
    // The line less the charge of the Clusters sent before the chunk (its own are paid for by waiting).
    const behind = chunks.filter(
      (c, i) =>
        i > 0 && c.n < FAST_READ_BYTES && c.end < src.length && charged(c.end - c.n) + c.n < Math.floor(allowedAt(chunks[i - 1]!.atMs)) - 1,
    );
    expect(behind).toEqual([]);
    // And the quota did bind: some chunks were cut short by it.
    expect(chunks.some((c) => c.n < FAST_READ_BYTES && c.end < src.length)).toBe(true);
  }, 60_000);

  it('`--fast` uploads a file with a Cluster per 20-ms Opus frame whole: it paces to the Cluster charge the servers count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-quota-opus-'));
    try {
      const file = join(dir, 'opus-20ms.webm');
      // 300 s: 15,000 Clusters of ≈ 150 B, whose charge (3.8 MB) takes the upload past the 4-MiB burst.
      makeOpusClusterPerFrame(file, 20, 300, true);
      const src = readFileSync(file);
      const rateBps = 2e6;
      const burstBytes = Math.max(MIN_BURST_BYTES, (BURST_SECONDS * rateBps) / 8);
      const chargedBytes = src.length + new ClusterIdCount().push(src) * CLUSTER_CHARGE_BYTES;
      expect(src.length).toBeLessThan(burstBytes);
      expect(chargedBytes).toBeGreaterThan(burstBytes);
      const r = await publishFile({
        hubUrl: cluster.hubUrl,
        file,
        location: 'Lisbon',
        streamKey: 'test-key',
        streamId: 'q-opus',
        fast: true,
      });
      expect(r.sha256).toBe(createHash('sha256').update(src).digest('hex'));
      expect(r.stored.sort()).toEqual(['fra-1', 'iad-1']);
      // Paced by the charge: the bytes alone were within the burst.
      expect(r.elapsedMs).toBeGreaterThanOrEqual(((chargedBytes - burstBytes) * 8 * 1000) / rateBps / 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
