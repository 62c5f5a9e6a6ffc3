// The Cluster charge of the bitrate quota: the server counts each indexed Cluster as `clusterBytes` more, so a stream of
// tiny Clusters is held to far fewer Clusters a second than its bytes alone would allow; the publisher counts the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { ClusterIdCount } from '../../node-app/ingest/cluster-id-count.js';
import { CLUSTER_CHARGE_BYTES, ingestLimits } from '../../node-app/ingest/ingest-limits.js';
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
