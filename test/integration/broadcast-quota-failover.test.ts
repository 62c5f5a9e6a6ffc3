// The bitrate quota across the loss of both entry servers at once: the replacement counts the stream's allowance from
// when the hub first granted the stream id, so the publisher's resend of the whole stream from byte 0 is taken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR } from '../helpers/cluster.js';
import { publishFile } from '../../node-app/ingest/node-publisher.js';
import { MIN_BURST_BYTES } from '../../node-app/ingest/ingest-limits.js';

describe('broadcast: bitrate quota after both entry servers die', () => {
  // fra-1, iad-1 and sin-1: two entry servers, and a third to take over.
  const cluster = new Cluster({ rotationMs: 0 });
  beforeAll(async () => {
    // Inherited by the server processes: 0.5 Mbit/s on average after the 4-MiB burst.
    process.env.BATON_INGEST_MAX_MBPS = '0.5';
    await cluster.start();
  }, 120_000);
  afterAll(() => {
    delete process.env.BATON_INGEST_MAX_MBPS;
    return cluster.stop();
  });

  it('a replacement takes the resend of a stream past its burst from byte 0', async () => {
    const file = join(MEDIA_DIR, 'demo-mandelbrot.webm');
    const src = readFileSync(file);
    // The kill comes once more than the burst went out: a replacement whose clock started at its own creation
    // would refuse the resend (rate-limited); one counting from the stream's start has rate × elapsed more.
    const killAt = MIN_BURST_BYTES + 64 * 1024;
    expect(src.length).toBeGreaterThan(killAt + 64 * 1024);
    let entry: string[] = [];
    let killing: Promise<unknown> | undefined;
    let sentAtKill = 0;
    const r = await publishFile({
      hubUrl: cluster.hubUrl,
      file,
      location: 'Lisbon',
      streamKey: 'test-key',
      streamId: 'qf-1',
      fast: true,
      onAssigned: (p) => {
        entry = p.uploads().map((u) => u.serverId);
      },
      onChunk: (offset, n) => {
        if (killing || offset + n < killAt) return;
        sentAtKill = offset + n;
        // Both at once: the cluster table keeps no live holder of the stream to learn its start from.
        killing = Promise.all(entry.map((id) => cluster.kill(id, 'SIGKILL')));
      },
      timeoutMs: 120_000,
    });
    await killing;
    expect(entry.sort()).toEqual(['fra-1', 'iad-1']);
    expect(sentAtKill).toBeGreaterThan(MIN_BURST_BYTES);
    expect(r.sha256).toBe(createHash('sha256').update(src).digest('hex'));
    expect(r.stored).toEqual(['sin-1']);
    expect(readFileSync(join(cluster.servers.get('sin-1')!.storage, 'qf-1.webm')).equals(src)).toBe(true);
  }, 150_000);
});
