// A live viewer keeps going when its server is SIGKILLed mid-broadcast, and the broadcast still lands complete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { publishFile } from '../../node-app/ingest/node-publisher.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('broadcast: live viewing through a server failure', () => {
  const cluster = new Cluster({ heartbeatMs: 300, rotationMs: 0 });
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
    // Join as soon as the stream is live (before its second Cluster): the viewer's offsets are the file's.
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
    expect(Buffer.concat(chunks).equals(src)).toBe(true);
    const r = await pub;
    expect(r.sha256).toBe(sha256(src));
    expect(r.stored).not.toContain(killed);
    expect(r.stored.length).toBe(2);
    expect(r.failovers).toMatchObject([{ from: killed }]);
  }, 90_000);
});
