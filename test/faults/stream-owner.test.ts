// Fault row 22: one stream id, one owner. Two broadcasters racing for one id, and a second
// broadcaster trying to take over a live id after the hub restarted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor, type ServerSpec } from '../helpers/cluster.js';
import type { PublishResult } from '../../client-sdk/publisher.js';
import { recordFigure } from './helpers/figures.js';
import { ask, connect } from './helpers/net.js';
import { pacedPublish } from './helpers/paced-publish.js';

const CLIP = 'demo-testsrc';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SERVERS: ServerSpec[] = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [] },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: [] },
];

describe('row 22: one stream id has one owner', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: SERVERS });
  const src = readFileSync(join(MEDIA_DIR, `${CLIP}.webm`));
  const copies = (streamId: string) =>
    SERVERS.map((s) => {
      try {
        return sha256(readFileSync(join(cluster.servers.get(s.id)!.storage, `${streamId}.webm`)));
      } catch {
        return null;
      }
    }).filter((x): x is string => x !== null);
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('two concurrent publishes of one id: exactly one wins, the other gets conflict; every copy is the winner’s bytes', async () => {
    const file = join(MEDIA_DIR, `${CLIP}.webm`);
    const racers = [0, 1].map(() => pacedPublish({ hubUrl: cluster.hubUrl, file, streamId: 'owned-race', bytesPerSecond: src.length / 3 }));
    const outcomes = await Promise.allSettled(racers.map((r) => r.result));
    const won = outcomes.filter((o): o is PromiseFulfilledResult<PublishResult> => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won.length, JSON.stringify(lost.map((l) => (l.reason as Error).message))).toBe(1);
    expect(lost.map((l) => (l.reason as { code?: string }).code)).toEqual(['conflict']);
    expect(won[0]!.value.stored.sort()).toEqual(['fra-1', 'iad-1']);
    expect(copies('owned-race')).toEqual([sha256(src), sha256(src)]);
    recordFigure('stream_owner.race_winners', won.length);
  }, 90_000);

  it('after a hub restart a second broadcaster cannot take over a live id; the owner continues, and its secret still works', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const owner = pacedPublish({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, `${CLIP}.webm`),
      streamId: 'owned-live',
      bytesPerSecond: src.length / 4,
      holds: [{ at: Math.floor(src.length / 2), until: held }],
    });
    owner.result.catch(() => undefined);
    const reply = await owner.assigned;
    expect(reply.streamSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const liveOnBoth = async () =>
      (await cluster.state()).servers.filter((s) =>
        (s.live as Array<{ id: string; live: boolean }>).some((l) => l.id === 'owned-live' && l.live),
      ).length === 2;
    await waitFor('owned-live live on both entry servers', liveOnBoth, 20_000, 20);

    await cluster.killHub('SIGKILL');
    await cluster.startHub(cluster.hubPort);
    await waitFor('both servers re-registered with the live stream', liveOnBoth, 20_000, 20);

    const intruder = await connect(cluster.hubUrl);
    let refused = 0;
    try {
      const bare = await ask(intruder, 'publish', { streamKey: 'test-key', location: 'Lisbon', streamId: 'owned-live' });
      expect(bare).toMatchObject({ ok: false, code: 'conflict' });
      refused++;
      const forged = await ask(intruder, 'publish', {
        streamKey: 'test-key',
        location: 'Lisbon',
        streamId: 'owned-live',
        streamSecret: 'A'.repeat(43),
      });
      expect(forged).toMatchObject({ ok: false, code: 'conflict' });
      refused++;
    } finally {
      intruder.close();
    }
    // The owner, from a new connection with its secret, is let back in (e.g. to replace an entry server).
    const back = await connect(cluster.hubUrl);
    try {
      const r = await ask(back, 'publish', {
        streamKey: 'test-key',
        location: 'Lisbon',
        streamId: 'owned-live',
        streamSecret: reply.streamSecret,
      });
      expect(r).toMatchObject({ ok: true, streamId: 'owned-live', streamSecret: reply.streamSecret });
      for (const s of [r.primary, r.backup]) if (s) back.emit('leave', { sessionId: s.sessionId });
    } finally {
      back.close();
    }

    release();
    const done = await owner.result;
    expect(done.stored.sort()).toEqual(['fra-1', 'iad-1']);
    expect(copies('owned-live')).toEqual([sha256(src), sha256(src)]);
    recordFigure('stream_owner.takeovers_refused_after_hub_restart', refused);
  }, 120_000);
});
