// Fault row 26: the primary entry server stalls (SIGSTOP) mid-upload long enough for the hub to drop it, then
// runs on (SIGCONT). It was never dead: its copy must be finished and whole, like the backup's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, THREE_SERVERS, waitFor } from '../helpers/cluster.js';
import type { Publisher } from '../../client-sdk/publisher.js';
import { recordFigure } from './helpers/figures.js';
import { pacedPublish } from './helpers/paced-publish.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('row 26: SIGSTOP the primary entry server mid-upload until the hub drops it, then SIGCONT', () => {
  const CLIP = 'demo-testsrc';
  const STREAM = 'fault-ingest-stall';
  const HEARTBEAT_MS = 300;
  const cluster = new Cluster({ heartbeatMs: HEARTBEAT_MS, rotationMs: 0, servers: THREE_SERVERS.map((s) => ({ ...s, assets: [] })) });
  const storageOf = (id: string) => cluster.servers.get(id)!.storage;
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('the stalled primary finishes its copy byte for byte, and the backup does too', async () => {
    const src = readFileSync(join(MEDIA_DIR, `${CLIP}.webm`));
    let publisher: Publisher | undefined;
    const warnings: string[] = [];
    // The 20-s clip in about 10 s.
    const pub = pacedPublish({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, `${CLIP}.webm`),
      streamId: STREAM,
      bytesPerSecond: src.length / 10,
      onPublisher: (p) => {
        publisher = p;
        p.addEventListener('warning', (e) => warnings.push(`${e.detail.code}: ${e.detail.message}`));
      },
    });
    pub.result.catch(() => undefined);
    const reply = await pub.assigned;
    const primary = reply.primary.serverId;
    const backup = reply.backup!.serverId;
    const part = join(storageOf(primary), `${STREAM}.webm.part`);
    await waitFor('a quarter of the stream on the primary', () => existsSync(part) && statSync(part).size > src.length / 4, 30_000, 20);

    const proc = cluster.servers.get(primary)!;
    const registered = () => (proc.output().match(/registered with hub/g) ?? []).length;
    const before = registered();
    const atStop = statSync(part).size;
    const stoppedAt = performance.now();
    proc.child.kill('SIGSTOP');
    try {
      await waitFor(`the hub without ${primary}`, async () => !(await cluster.state()).servers.some((x) => x.id === primary), 20_000);
    } finally {
      proc.child.kill('SIGCONT');
    }
    const stoppedMs = performance.now() - stoppedAt;
    await waitFor(`${primary} registered again`, async () => registered() > before, 20_000);

    const result = await pub.result;
    expect(result.sha256).toBe(sha256(src));
    // The primary was only slow: it keeps its place and stores the whole stream; so does the backup.
    expect(result.stored, JSON.stringify({ uploads: publisher?.uploads(), warnings })).toEqual(expect.arrayContaining([primary, backup]));
    for (const id of result.stored) expect(sha256(readFileSync(join(storageOf(id), `${STREAM}.webm`))), id).toBe(sha256(src));
    // The hub's catalog lists every finished copy, the primary's among them, once it is back.
    await waitFor(`${STREAM} in the catalog on ${result.stored.join(', ')}`, async () => {
      const r = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as {
        assets: { id: string; holders: string[]; live: boolean }[];
      };
      const e = r.assets.find((x) => x.id === STREAM);
      return e && !e.live && result.stored.every((id) => e.holders.includes(id));
    });
    recordFigure('ingest_primary_stall.stopped_ms', stoppedMs);
    recordFigure('ingest_primary_stall.copies_stored', result.stored.length);
    recordFigure('ingest_primary_stall.primary_bytes_at_stop', atStop);
    recordFigure('ingest_primary_stall.stream_bytes', src.length);
  }, 120_000);
});
