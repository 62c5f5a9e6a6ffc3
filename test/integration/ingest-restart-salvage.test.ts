// An entry server SIGKILLed mid-broadcast (or after the last byte reached its disk, before the end) and restarted on
// the same storage: its `.part` is salvaged to `<id>.webm` and listed, it plays, and viewers go to the whole copy first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor, type ServerSpec } from '../helpers/cluster.js';
import { ffprobeFrames } from '../helpers/gstreamer.js';
import type { Publisher } from '../../client-sdk/publisher.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { pacedPublish } from '../faults/helpers/paced-publish.js';

const CLIP = 'demo-testsrc';
const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function clusterStarts(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = b.indexOf(CLUSTER_ID); i >= 0; i = b.indexOf(CLUSTER_ID, i + 1)) out.push(i);
  return out;
}

/** The entry server nearest Lisbon (the broadcaster's place): the primary, the one killed and restarted. */
const PRIMARY = 'fra-1';
const SERVERS: ServerSpec[] = [
  { id: PRIMARY, region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [] },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: [] },
];

describe('an entry server killed mid-broadcast and restarted keeps its copy', () => {
  const cluster = new Cluster({ servers: SERVERS, rotationMs: 0 });
  const src = readFileSync(join(MEDIA_DIR, `${CLIP}.webm`));
  const storageOf = (id: string) => cluster.servers.get(id)!.storage;
  /** Who stores `streamId` (and how many bytes) and who has it live, in the replica of the server not restarted. */
  const stateOf = async (streamId: string) => {
    const other = (await cluster.state()).servers.find((s) => s.id === 'iad-1')!;
    const table = (await (await fetch(`${other.httpUrl}/api/table`)).json()) as {
      servers: Array<{ id: string; storage: Array<{ id: string; bytes: number }>; live: Array<{ id: string; live: boolean }> }>;
    };
    return {
      stored: Object.fromEntries(table.servers.flatMap((s) => s.storage.filter((a) => a.id === streamId).map((a) => [s.id, a.bytes]))),
      live: table.servers.filter((s) => s.live.some((l) => l.id === streamId && l.live)).map((s) => s.id),
    };
  };

  beforeAll(async () => {
    await cluster.start();
    for (const s of (await cluster.state()).servers) {
      await waitFor(
        `${s.id}'s replica holds both servers`,
        async () => ((await (await fetch(`${s.httpUrl}/api/table`)).json()) as { servers: unknown[] }).servers.length === SERVERS.length,
        20_000,
        50,
      );
    }
  }, 120_000);
  afterAll(() => cluster.stop());

  /** Publishes the clip at 4× its bitrate, holding the end until `release`; kills the primary at `killWhen`, restarts it. */
  async function killAndRestart(streamId: string, killWhen: (part: string, publisher: Publisher) => boolean) {
    let publisher!: Publisher;
    let release!: () => void;
    const pub = pacedPublish({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, `${CLIP}.webm`),
      streamId,
      bytesPerSecond: src.length / 5,
      holds: [{ at: src.length, until: new Promise<void>((r) => (release = r)) }],
      onPublisher: (p) => (publisher = p),
    });
    pub.result.catch(() => undefined);
    const reply = await pub.assigned;
    expect(reply.primary.serverId).toBe(PRIMARY);
    const backup = reply.backup!.serverId;
    const storage = storageOf(PRIMARY);
    const part = join(storage, `${streamId}.webm.part`);
    const killedAtBytes = await waitFor(
      'the kill point',
      () => existsSync(part) && killWhen(part, publisher) && statSync(part).size,
      30_000,
      5,
    );
    await cluster.kill(PRIMARY, 'SIGKILL');
    // Back on the same storage while the stream is still live on the backup (the hub has it live there).
    await cluster.startServer({ ...SERVERS[0]!, storageDir: storage });
    return { pub, release, backup, storage, killedAtBytes };
  }

  it('SIGKILLed with every byte on its disk but before the end: the whole stream is finalized and listed at restart', async () => {
    const streamId = 'salvage-end';
    const acked = (p: Publisher) => p.uploads().find((u) => u.serverId === PRIMARY)?.ackedBytes ?? 0;
    const { pub, release, backup, storage } = await killAndRestart(streamId, (_part, p) => acked(p) === src.length);

    // Listed by the restarted server while the stream is still live on the backup.
    const kept = readFileSync(join(storage, `${streamId}.webm`));
    await waitFor('the salvaged copy in the table', async () => (await stateOf(streamId)).stored[PRIMARY] === kept.length, 10_000);
    expect(await stateOf(streamId)).toEqual({ stored: { [PRIMARY]: kept.length }, live: [backup] });
    // Neither the `.part` nor its lock is left (the live poster beside it stays).
    expect(readdirSync(storage).filter((f) => f.startsWith(`${streamId}.webm`))).toEqual([`${streamId}.webm`]);
    // Every byte was on its disk and the clip ends with its last Cluster: the copy is the source, byte for byte, as the
    // backup's will be once it is finalized (one fingerprint: a viewer may move between them).
    expect(kept.equals(src)).toBe(true);
    const frames = ffprobeFrames(join(storage, `${streamId}.webm`));
    const srcFrames = ffprobeFrames(join(MEDIA_DIR, `${CLIP}.webm`));
    expect(frames.vp8).toBe(srcFrames.vp8);

    // It plays from the restarted server (a watch that passes over the live copy).
    const watched = await watchStream(
      { hubUrl: cluster.hubUrl, assetId: streamId, avoid: [backup], timeoutMs: 60_000, fast: true },
      () => {},
    );
    expect(watched).toMatchObject({ server: PRIMARY, reason: 'storage', bytes: kept.length, sha256: sha256(kept) });

    release();
    const r = await pub.result;
    expect(r.sha256).toBe(sha256(src));
    expect(r.stored).toEqual([backup]);
    expect(readFileSync(join(storageOf(backup), `${streamId}.webm`)).equals(kept)).toBe(true);
  }, 150_000);

  it('SIGKILLed mid-broadcast: the copy up to its last whole Cluster plays; viewers go to the whole copy first', async () => {
    const streamId = 'salvage-mid';
    const { pub, release, backup, storage, killedAtBytes } = await killAndRestart(streamId, (part) => statSync(part).size > src.length / 3);
    const path = join(storage, `${streamId}.webm`);
    const kept = readFileSync(path);
    const whole = clusterStarts(src).filter((c) => c <= killedAtBytes);
    // At least what was on the disk when it was looked at, cut at a Cluster's end; never past the source.
    expect(kept.equals(src.subarray(0, kept.length))).toBe(true);
    expect(clusterStarts(src)).toContain(kept.length);
    expect(kept.length).toBeGreaterThanOrEqual(whole.at(-1)!);
    expect(kept.length).toBeLessThan(src.length);
    await waitFor('the salvaged copy in the table', async () => (await stateOf(streamId)).stored[PRIMARY] === kept.length, 10_000);
    expect(await stateOf(streamId)).toEqual({ stored: { [PRIMARY]: kept.length }, live: [backup] });
    const frames = ffprobeFrames(path).vp8!;
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(ffprobeFrames(join(MEDIA_DIR, `${CLIP}.webm`)).vp8!);

    release();
    const r = await pub.result;
    expect(r.sha256).toBe(sha256(src));
    await waitFor('stored on both, live nowhere', async () => {
      const s = await stateOf(streamId);
      return s.live.length === 0 && s.stored[backup] === src.length && s.stored[PRIMARY] === kept.length;
    });
    // The catalog describes the whole copy, and a watch is sent to it (before, to the salvaged one: its server's id
    // comes first on a tie).
    const catalog = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=${streamId}`)).json()) as { assets: Array<{ bytes: number }> };
    expect(catalog.assets[0]).toMatchObject({ bytes: src.length, holders: expect.arrayContaining([PRIMARY, backup]) });
    for (let i = 0; i < 2; i++) {
      const w = await watchStream({ hubUrl: cluster.hubUrl, assetId: streamId, timeoutMs: 60_000, fast: true }, () => {});
      expect(w).toMatchObject({ server: backup, bytes: src.length, sha256: sha256(src) });
    }
    // With the whole copy passed over, the salvaged one plays: a recording cut short, not nothing.
    const chunks: Uint8Array[] = [];
    const cut = await watchStream({ hubUrl: cluster.hubUrl, assetId: streamId, avoid: [backup], timeoutMs: 60_000, fast: true }, (b) => {
      chunks.push(Buffer.from(b));
    });
    expect(cut).toMatchObject({ server: PRIMARY, bytes: kept.length, sha256: sha256(kept) });
    const got = join(storage, '..', `${streamId}-watched.webm`);
    writeFileSync(got, Buffer.concat(chunks));
    expect(ffprobeFrames(got).vp8).toBe(frames);
  }, 150_000);
});
