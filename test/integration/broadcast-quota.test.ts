// Per-stream quotas on real servers: a stream over its size quota is cut at a Cluster and the broadcaster is told why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor, type ServerSpec } from '../helpers/cluster.js';
import { publishFile } from '../../node-app/ingest/node-publisher.js';

const TWO: ServerSpec[] = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [] },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: [] },
];

describe('broadcast: size quota', () => {
  const cluster = new Cluster({ heartbeatMs: 300, rotationMs: 0, servers: TWO });
  beforeAll(async () => {
    // Inherited by the server processes: 1 MiB per stream.
    process.env.BATON_INGEST_MAX_MB = '1';
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('refuses bytes past the size quota with too-large; both copies keep the same whole Clusters', async () => {
    const src = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
    expect(src.length).toBeGreaterThan(1024 * 1024);
    await expect(publishFile({ hubUrl: cluster.hubUrl, file: join(MEDIA_DIR, 'demo-testsrc.webm'), location: 'Lisbon', streamKey: 'test-key', streamId: 'q-1', fast: true })).rejects.toMatchObject({ code: 'too-large' });
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
    for (const id of ['fra-1', 'iad-1']) expect(readdirSync(cluster.servers.get(id)!.storage).filter((f) => f.endsWith('.part'))).toEqual([]);
  }, 60_000);
});

describe('broadcast: bitrate quota', () => {
  const cluster = new Cluster({ heartbeatMs: 300, rotationMs: 0, servers: TWO });
  beforeAll(async () => {
    delete process.env.BATON_INGEST_MAX_MB;
    // 2 Mbit/s on average, after a 4 MiB burst.
    process.env.BATON_INGEST_MAX_MBPS = '2';
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('`--fast` goes as fast as the servers allow and no faster', async () => {
    const src = readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm'));
    const r = await publishFile({ hubUrl: cluster.hubUrl, file: join(MEDIA_DIR, 'demo-mandelbrot.webm'), location: 'Lisbon', streamKey: 'test-key', streamId: 'q-2', fast: true });
    // 4.5 MB is past the 4 MiB burst: had the upload gone faster than 2 Mbit/s after it,
    // the servers would have refused it (rate-limited) and publishFile would have failed.
    expect(src.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(r.sha256).toBe(createHash('sha256').update(src).digest('hex'));
    expect(r.stored.sort()).toEqual(['fra-1', 'iad-1']);
  }, 60_000);
});
