// The Cluster charge of the bitrate quota: the server counts each indexed Cluster as `clusterBytes` more, so a stream of
// tiny Clusters is held to far fewer Clusters a second than its bytes alone would allow; the publisher counts the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { ClusterIdCount } from '../../node-app/ingest/cluster-id-count.js';
import { CLUSTER_CHARGE_BYTES, FREE_CLUSTERS_PER_S, ingestLimits } from '../../node-app/ingest/ingest-limits.js';
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import { makeOpusClusterPerFrame } from '../helpers/test-clip.js';

let dir = '';
let opus: Uint8Array;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-cluster-charge-'));
  makeOpusClusterPerFrame(join(dir, 'opus.webm'), 20, 10, true);
  opus = new Uint8Array(readFileSync(join(dir, 'opus.webm')));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writer(limits: IngestLimits, now: () => number): Promise<LiveWriter> {
  return LiveWriter.create({
    streamId: 'charged',
    finalPath: join(mkdtempSync(join(dir, 'w-')), 'charged.webm'),
    mime: 'audio/webm',
    limits,
    fsyncIntervalMs: 10_000,
    now,
  });
}

describe('the Cluster charge', () => {
  it('is announced with the quotas', () => {
    expect(ingestLimits().clusterBytes).toBe(CLUSTER_CHARGE_BYTES);
  });

  it('counts each Cluster against the bitrate quota: bytes within it pass only once their Clusters are paid for', async () => {
    const clusters = new ClusterIdCount().push(opus);
    // 10 s of a Cluster per 20-ms frame (the ids in the head's SeekHead, if any, make it count more, never fewer).
    expect(clusters).toBeGreaterThanOrEqual(500);
    const byteRate = 100_000;
    const limits = { maxBitrateBps: 8 * byteRate, burstBytes: opus.byteLength + 1_000, maxBytes: 1e9 };
    let t = 1_000_000;
    const free = await writer(limits, () => t);
    expect(free.append(0, 0, opus).kind).toBe('stored');
    await free.close();
    const charged = await writer({ ...limits, clusterBytes: 256 }, () => t);
    expect(charged.append(0, 0, opus)).toMatchObject({ kind: 'refused', fatal: true, error: { code: 'rate-limited' } });
    await charged.close();
    // Once the quota covers the Clusters' charge too, the same bytes pass.
    const later = await writer({ ...limits, clusterBytes: 256 }, () => t);
    t += Math.ceil((1000 * clusters * 256) / byteRate);
    expect(later.append(0, 0, opus).kind).toBe('stored');
    expect(later.index.clusterCount).toBeLessThanOrEqual(clusters);
    await later.close();
  });

  it('leaves a stream sent in real time its Clusters free: a Cluster per Opus frame is never cut under a quota its bytes fit', async () => {
    // 15 minutes at a Cluster per 20-ms frame (50 a second, ≈ 7 KB/s) under `--ingest-max-mbps 0.1` (12.5 KB/s, a
    // 4 MiB burst). Before, each Cluster cost 256 B more: 12.8 KB/s of charge alone, refused once the burst was spent
    // (here 661 s in), whatever the bytes.
    const seconds = 900;
    const path = join(dir, 'long-opus.webm');
    makeOpusClusterPerFrame(path, 20, seconds, true);
    const long = new Uint8Array(readFileSync(path));
    const limits = ingestLimits(0.1);
    expect((long.byteLength * 8) / seconds).toBeLessThan(limits.maxBitrateBps);
    const start = 1_000_000;
    let t = start;
    const w = await writer(limits, () => t);
    const piece = 4_096;
    let seq = 0;
    for (let at = 0; at < long.byteLength; at += piece) {
      // Sent as it plays: the clock at the media time this piece ends (its bytes spread evenly over the 15 minutes).
      t = start + (Math.min(long.byteLength, at + piece) / long.byteLength) * seconds * 1000;
      const r = w.append(seq++, at, long.subarray(at, at + piece));
      if (r.kind !== 'stored') throw new Error(`piece at ${at} (${Math.round((t - start) / 1000)} s in): ${JSON.stringify(r)}`);
    }
    expect(w.index.clusterCount).toBeGreaterThan(seconds * 49);
    expect(w.index.clusterCount).toBeLessThan(seconds * FREE_CLUSTERS_PER_S);
    await w.close();
  }, 120_000);

  it('the publisher counts every Cluster id, one split between two pieces once', () => {
    const c = new ClusterIdCount();
    const id = [0x1f, 0x43, 0xb6, 0x75];
    expect(c.push(new Uint8Array([1, ...id, 0x1f, 0x1f, 0x43, 0xb6]))).toBe(1);
    expect(c.push(new Uint8Array([0x75, 0, 0x1f, 0x43]))).toBe(1);
    expect(c.push(new Uint8Array([0xb6, 0x75, ...id]))).toBe(2);
    expect(c.count).toBe(4);
    // Over a real file, piece by piece as a publisher reads it: the same as whole.
    const pieces = new ClusterIdCount();
    for (let at = 0; at < opus.byteLength; at += 777) pieces.push(opus.subarray(at, at + 777));
    expect(pieces.count).toBe(new ClusterIdCount().push(opus));
  });
});
