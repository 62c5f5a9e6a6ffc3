// The WHIP carry-on (OBS: DELETE, then a new POST of the same key within the hub's window) under faults between the
// DELETE and the new POST: a server restarted, a recording rewritten in place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR } from '../helpers/cluster.js';
import { ffprobeFrames, INGEST_PAIR } from '../helpers/gstreamer.js';
import { obsClip, obsWhipPublish, type ObsWhipRun } from '../helpers/obs-whip.js';

const SERVERS = [...INGEST_PAIR];
const SECONDS = 40;
const FPS = 30;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('WHIP carry-on under faults', () => {
  const cluster = new Cluster({ servers: SERVERS });
  let clip: string;

  beforeAll(async () => {
    clip = obsClip(mkdtempSync(join(tmpdir(), 'whip-chaos-')), { seconds: SECONDS, fps: FPS, size: '320x180', videoKbps: 300 });
    await cluster.start();
  }, 120_000);

  afterAll(async () => {
    await cluster.stop();
  });

  const stored = (id: string, server: string) => join(cluster.servers.get(server)!.storage, `${id}.webm`);
  const doneOf = (body: string) => JSON.parse(body) as { bytes: number; sha256: string; stored: string[] };

  /** Both POSTs taken; `a` held the whole broadcast (the first part its head), the final DELETE named only it. */
  function carriedOnAlone(run: ObsWhipRun, id: string, a: string, b: string) {
    expect(run.postStatuses).toEqual([201, 201]);
    const [first, whole] = run.deletes.map((d) => doneOf(d.body)) as [ReturnType<typeof doneOf>, ReturnType<typeof doneOf>];
    expect(first.stored.sort()).toEqual([a, b].sort());
    expect(whole.stored).toEqual([a]);
    const all = readFileSync(stored(id, a));
    expect(sha256(all)).toBe(whole.sha256);
    expect(sha256(all.subarray(0, first.bytes))).toBe(first.sha256);
    return first;
  }

  // The restarted server no longer holds the finished writer: its copy stays the first part, as it was; the other
  // copy is carried on, and the final DELETE names only it, with its hash.
  it('a server restarted between the DELETE and the new POST: carried on on the other, the restarted one keeps the first part', async () => {
    const [a, b] = SERVERS.map((s) => s.id) as [string, string];
    const run = await obsWhipPublish(`${cluster.hubUrl}/whip/chaos-restart?location=Paris`, 'test-key', clip, {
      loseConnectionAtS: 2.5,
      afterLoss: async () => {
        await cluster.kill(b, 'SIGKILL');
        await cluster.startServer(cluster.servers.get(b)!.spec);
      },
    });
    const first = carriedOnAlone(run, 'chaos-restart', a, b);
    expect(sha256(readFileSync(stored('chaos-restart', b)))).toBe(first.sha256);
    expect(ffprobeFrames(stored('chaos-restart', a)).h264).toBeGreaterThan(ffprobeFrames(stored('chaos-restart', b)).h264 + 10 * FPS);
  }, 240_000);

  // An operator copies another file over one server's recording inside the window (`cp` keeps the inode): that copy
  // is not reopened (the stream would go on at its old end inside someone else's bytes); the other copy carries on.
  it('a recording rewritten in place between the DELETE and the new POST is not carried on there: left as it is', async () => {
    const [a, b] = SERVERS.map((s) => s.id) as [string, string];
    const other = readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'));
    const run = await obsWhipPublish(`${cluster.hubUrl}/whip/chaos-cp?location=Paris`, 'test-key', clip, {
      loseConnectionAtS: 2.5,
      afterLoss: async () => {
        const ino = statSync(stored('chaos-cp', b)).ino;
        writeFileSync(stored('chaos-cp', b), other);
        expect(statSync(stored('chaos-cp', b)).ino).toBe(ino);
      },
    });
    carriedOnAlone(run, 'chaos-cp', a, b);
    expect(sha256(readFileSync(stored('chaos-cp', b)))).toBe(sha256(other));
    expect(existsSync(`${stored('chaos-cp', b)}.part`)).toBe(false);
  }, 240_000);
});
