// The WHIP carry-on (OBS: DELETE, then a new POST of the same key within the hub's window) under faults between the
// DELETE and the new POST: a server restarted, a recording rewritten in place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { ffprobeFrames, INGEST_PAIR } from '../helpers/gstreamer.js';
import { obsClip, obsOffer, obsWhipPublish, type ObsWhipRun } from '../helpers/obs-whip.js';

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
  // copy is carried on, and the final DELETE names only it, with its hash. The backup restarted, or the primary (the
  // server nearest the POST's place, which the director picks first: it refuses the stored id, and the carry-on is
  // placed again on the other; before, every retry got 409 "already stored here" — found by a new-user pass).
  it.each([
    ['backup', 1],
    ['primary', 0],
  ] as const)(
    'the %s restarted between the DELETE and the new POST: carried on on the other, the restarted one keeps the first part',
    async (_role, restarted) => {
      const ids = SERVERS.map((s) => s.id);
      const b = ids[restarted]!;
      const a = ids[1 - restarted]!;
      const id = `chaos-restart-${restarted}`;
      const run = await obsWhipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', clip, {
        loseConnectionAtS: 2.5,
        afterLoss: async () => {
          await cluster.kill(b, 'SIGKILL');
          await cluster.startServer(cluster.servers.get(b)!.spec);
        },
      });
      const first = carriedOnAlone(run, id, a, b);
      expect(sha256(readFileSync(stored(id, b)))).toBe(first.sha256);
      expect(ffprobeFrames(stored(id, a)).h264).toBeGreaterThan(ffprobeFrames(stored(id, b)).h264 + 10 * FPS);
    },
    240_000,
  );

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

  // Encoders with the same key (or OBS and a retry) POST at once inside the window: the hub hands each the stream's
  // secret, with which one claim took another's over while both were placed, and several got 201 for one recording.
  // One carries the recording on, the others are refused; the recording stays whole and alike on both servers.
  it('three POSTs of the same key at once inside the window: one carries it on, the others are refused, the copies identical', async () => {
    const url = `${cluster.hubUrl}/whip/chaos-twice?location=Paris`;
    const once = await obsWhipPublish(url, 'test-key', clip, { stopAtS: 3 });
    const first = doneOf(once.deletes[0]!.body);
    const offers = [obsOffer(), obsOffer(), obsOffer()];
    const auth = { Authorization: 'Bearer test-key' };
    const posts = await Promise.all(
      offers.map((o) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth }, body: o.sdp })),
    );
    for (const o of offers) o.close();
    const statuses = posts.map((p) => p.status);
    const bodies = await Promise.all(posts.map((p) => p.text()));
    for (const p of posts.filter((p) => p.status === 201))
      await fetch(new URL(p.headers.get('location')!, url), { method: 'DELETE', headers: auth });
    expect(statuses.sort(), bodies.join('\n')).toEqual([201, 409, 409]);
    for (const b of bodies.filter((b) => !b.startsWith('v=0')))
      expect(b).toMatch(/another POST of stream chaos-twice is being answered|chaos-twice is still on air from an earlier POST/);
    await waitFor(
      'both copies finalized again',
      () => SERVERS.every((s) => existsSync(stored('chaos-twice', s.id)) && !existsSync(`${stored('chaos-twice', s.id)}.part`)),
      60_000,
    );
    for (const s of SERVERS) expect(sha256(readFileSync(stored('chaos-twice', s.id)))).toBe(first.sha256);
  }, 240_000);

  // A WHIP client that reconnects at once (no 2-s wait as OBS's): its POST just after the DELETE's 200 carries the
  // recording on. The hub listed the copies live for moments after the 200 (≈ 40 ms) and refused it with 409.
  it('a POST at once after the DELETE is answered carries the recording on', async () => {
    const url = `${cluster.hubUrl}/whip/chaos-at-once?location=Paris`;
    const once = await obsWhipPublish(url, 'test-key', clip, { stopAtS: 3 });
    const first = doneOf(once.deletes[0]!.body);
    const offer = obsOffer();
    const auth = { Authorization: 'Bearer test-key' };
    const post = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth }, body: offer.sdp });
    offer.close();
    const body = await post.text();
    expect(post.status, body).toBe(201);
    expect(post.headers.get('x-baton-resumed')).toBe('true');
    const end = await fetch(new URL(post.headers.get('location')!, url), { method: 'DELETE', headers: auth });
    expect(end.status).toBe(200);
    const done = doneOf(await end.text());
    expect(done.sha256).toBe(first.sha256);
    for (const s of SERVERS) expect(sha256(readFileSync(stored('chaos-at-once', s.id)))).toBe(first.sha256);
  }, 240_000);
});
