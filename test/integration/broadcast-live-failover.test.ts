// A live viewer keeps going when its server is SIGKILLed mid-broadcast, and the broadcast still lands complete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { publishFile } from '../../node-app/ingest/node-publisher.js';

/** The EBML id of a Cluster. */
const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('broadcast: live viewing through a server failure', () => {
  const cluster = new Cluster({ rotationMs: 0 });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('a viewer that joined at the start resumes on the other copy at the same byte offset', async () => {
    const src = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
    const pub = publishFile({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, 'demo-testsrc.webm'),
      location: 'Lisbon',
      streamKey: 'test-key',
      streamId: 'lf-1',
      speed: 2,
    });
    pub.catch(() => undefined);
    // Join as soon as the stream is live, so that the failover comes well inside the stream.
    await waitFor(
      'lf-1 live',
      async () => (await cluster.state()).servers.some((s) => (s.live as Array<{ id: string }>).some((l) => l.id === 'lf-1')),
      20_000,
      20,
    );
    let killed: string | undefined;
    let killing: Promise<unknown> | undefined;
    const chunks: Buffer[] = [];
    const w = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'lf-1', timeoutMs: 60_000 }, (bytes, viewer) => {
      chunks.push(Buffer.from(bytes));
      if (!killing && viewer.bytesReceived > src.length * 0.4) {
        killed = viewer.session!.server.id;
        killing = cluster.kill(killed, 'SIGKILL');
      }
    });
    await killing;
    expect(w.reason).toBe('live');
    expect(w.failovers.length).toBeGreaterThanOrEqual(1);
    expect(w.failovers[0]!.from).toBe(killed);
    expect(w.failovers[0]!.offset).toBeGreaterThan(src.length * 0.4);
    // A live viewer gets the stream's head (EBML header to the first Cluster) and then every byte from the Cluster it
    // joined at: the first one if it joined at once, a later keyframe Cluster if the machine was slow getting it there.
    // Either way the rest is the file's bytes without a gap or a repeat across the failover.
    const got = Buffer.concat(chunks);
    const head = src.indexOf(CLUSTER_ID);
    const joinedAt = src.indexOf(got.subarray(head, head + 4096), head);
    expect(got.subarray(0, head).equals(src.subarray(0, head)), 'the stream head').toBe(true);
    expect(joinedAt, 'the first Cluster received is one of the file').toBeGreaterThanOrEqual(head);
    const rest = src.subarray(joinedAt);
    let firstDiff = 0;
    while (firstDiff < Math.min(got.length - head, rest.length) && got[head + firstDiff] === rest[firstDiff]) firstDiff++;
    expect(
      got.subarray(head).equals(rest),
      `from the Cluster at ${joinedAt}: received ${got.length - head} of ${rest.length} bytes, first difference at ${joinedAt + firstDiff}; failovers ${JSON.stringify(w.failovers)}`,
    ).toBe(true);
    const r = await pub;
    expect(r.sha256).toBe(sha256(src));
    expect(r.stored).not.toContain(killed);
    expect(r.stored.length).toBe(2);
    expect(r.failovers).toMatchObject([{ from: killed }]);
  }, 90_000);
});
