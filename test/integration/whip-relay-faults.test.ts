// Faults around a WHIP broadcast's relay: a backup that dies mid-broadcast gets a replacement, filled from byte 0 from
// the primary's copy on disk (the recording ends byte-identical on two servers, as a browser broadcast's does); a hub
// restarted mid-broadcast still honours the publisher's DELETE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, waitFor } from '../helpers/cluster.js';
import { GI_PACKAGES, HAVE_GI, INGEST_PAIR, PYTHON, whipPublish, type Running } from '../helpers/gstreamer.js';

if (!HAVE_GI) console.warn(`whip-relay-faults tests skipped: ${PYTHON} cannot import gi/GstWebRTC (install ${GI_PACKAGES})`);

/** The relay's memory for its uploads (--whip-buffer-mb): the stream is past it when the backup dies. */
const BUFFER_MB = 0.5;
/** Stream bytes the backup holds when it is killed: well past the buffer, so the replacement's start is read from disk. */
const KILL_AT_BYTES = 1_200_000;
/** Stream bytes a carried-on broadcast's backup holds past the first part when it is killed. */
const CARRIED_KILL_AT_BYTES = 200_000;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!HAVE_GI)('WHIP relay faults', () => {
  // Paris is closest to par-1: the primary. The backup is nyc-1 or lon-1; the other one is the replacement.
  const [par, nyc] = INGEST_PAIR;
  const cluster = new Cluster({
    servers: [
      { ...par!, extraArgs: [...par!.extraArgs, '--whip-buffer-mb', String(BUFFER_MB)] },
      { ...nyc! },
      { id: 'lon-1', region: 'eu-west', lat: 51.51, lon: -0.13, ingest: true, assets: [], extraArgs: ['--rtc-bind-address', '127.0.0.1'] },
    ],
  });
  let publishing: Running | undefined;
  let resuming: Running | undefined;

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);

  afterAll(async () => {
    publishing?.kill();
    resuming?.kill();
    await cluster.stop();
  });

  /** Stops the publisher (SIGINT: it sends DELETE) and returns the DELETE's 200 body. */
  const deleted = async (p: Running) => {
    p.stop();
    const run = await p;
    expect(run.code, run.stderr).toBe(0);
    const ended = /DELETE 200 in \d+ ms: (\{.*\})/.exec(run.stderr);
    expect(ended, run.stderr).not.toBeNull();
    return JSON.parse(ended![1]!) as { bytes: number; sha256: string; stored: string[] };
  };

  /** The hub's log of `id`'s broadcast (resumed or carried on, or not) starting: [, primary, backup (if any)]. */
  const started = (id: string, resumed: boolean) =>
    new RegExp(`"primary":"([a-z0-9-]+)","backup":(?:"([a-z0-9-]+)"|null),"resumed":${resumed}.*"WHIP broadcast started"`).exec(
      cluster
        .hub!.output()
        .split('\n')
        .find((l) => l.includes(`"stream":"${id}"`) && l.includes(`"resumed":${resumed}`) && l.includes('WHIP broadcast started')) ?? '',
    );

  /** Restarts the servers a test killed: three in the table. */
  const threeServers = async () => {
    for (const p of cluster.servers.values())
      if (p.child.exitCode !== null || p.child.signalCode !== null) await cluster.startServer(p.spec);
    await waitFor('three servers in the table', async () => (await cluster.state()).servers.length === 3, 30_000);
  };

  /** Servers holding a live copy of `id` of more than `bytes`. */
  const liveHolders = async (id: string, bytes = 0) =>
    (await cluster.state()).servers
      .filter((s) => (s.live as { id: string; bytes: number }[]).some((l) => l.id === id && l.bytes > bytes))
      .map((s) => s.id);

  it('a backup SIGKILLed mid-broadcast is replaced: DELETE lists two servers, both copies byte-identical, two holders in the catalog', async () => {
    const id = 'whip-lost-backup';
    publishing = whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 60);
    let backup = '';
    await waitFor(
      `the backup of ${id} past ${KILL_AT_BYTES} bytes`,
      async () => {
        backup = (await liveHolders(id, KILL_AT_BYTES)).find((s) => s !== 'par-1') ?? '';
        return backup !== '';
      },
      60_000,
    );
    const replacement = backup === 'nyc-1' ? 'lon-1' : 'nyc-1';
    await cluster.kill(backup);
    // The relay asks the hub for a replacement at once (the hub's session close); it is filled from byte 0 and catches up.
    await waitFor(
      `${replacement} holding a live copy of ${id}`,
      async () => (await liveHolders(id, KILL_AT_BYTES)).includes(replacement),
      40_000,
    );
    const body = await deleted(publishing);
    expect(body.stored.sort()).toEqual(['par-1', replacement].sort());
    const [a, b] = ['par-1', replacement].map((s) => readFileSync(join(cluster.servers.get(s)!.storage, `${id}.webm`)));
    expect(a!.byteLength).toBe(body.bytes);
    expect(sha256(a!)).toBe(body.sha256);
    expect(sha256(b!)).toBe(sha256(a!));
    await waitFor(`${id} held by par-1 and ${replacement} in the catalog`, async () => {
      const r = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=${id}`)).json()) as {
        assets: { holders: string[]; live: boolean }[];
      };
      return r.assets[0]?.live === false && [...r.assets[0].holders].sort().join() === ['par-1', replacement].sort().join();
    });
    // The hub placed it as a replacement (a browser publisher's rules), passing over the dead server.
    expect(cluster.hub!.output()).toMatch(
      new RegExp(`"exclude":\\["${backup}"\\],"replacement":"${replacement}".*WHIP replacement entry server`),
    );
  }, 180_000);

  // After the first test: par-1 and one other server.
  it("a hub restarted mid-broadcast honours the DELETE (the primary gives the resource back for the POST's key), and the key carries it on", async () => {
    const id = 'whip-hub-restart';
    publishing = whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 60);
    await waitFor(`two copies of ${id} growing`, async () => (await liveHolders(id, 100_000)).length === 2, 30_000);
    const started = /"resource":"([A-Za-z0-9_.-]+)","primary":"par-1".*"WHIP broadcast started"/.exec(
      cluster
        .hub!.output()
        .split('\n')
        .find((l) => l.includes(`"stream":"${id}"`) && l.includes('WHIP broadcast started')) ?? '',
    );
    expect(started).not.toBeNull();
    const resource = `${cluster.hubUrl}/whip/${id}/${started![1]}`;
    await cluster.killHub();
    await cluster.startHub();
    // The servers register again with their live copies: the broadcast went on meanwhile (the uploads never pass the hub).
    await waitFor(
      `${id} live on two servers after the restart`,
      async () => (await liveHolders(id, 0).catch(() => [])).length === 2,
      30_000,
    );
    const del = (url: string, token: string) => fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    // Another key is not even told the resource exists (the hub cannot know it did).
    const stranger = await del(resource, 'other-key');
    expect(stranger.status).toBe(404);
    expect((await del(`${cluster.hubUrl}/whip/${id}/no-such-resource`, 'test-key')).status).toBe(404);
    expect(await liveHolders(id, 0)).toHaveLength(2);
    // Before, the hub answered 404 (it had lost the resource); the broadcast ended only when the publisher's peer closed.
    const body = await deleted(publishing);
    expect(body.stored).toHaveLength(2);
    const copies = body.stored.map((s) => readFileSync(join(cluster.servers.get(s)!.storage, `${id}.webm`)));
    for (const c of copies) expect(sha256(c)).toBe(body.sha256);
    // The primary gave the stream's secret back with the resource (whip-adopt): the DELETE opened the carry-on window.
    const back = await whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 3);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(/POST 201/);
    const whole = body.stored.map((s) => readFileSync(join(cluster.servers.get(s)!.storage, `${id}.webm`)));
    expect(whole[0]!.byteLength).toBeGreaterThan(copies[0]!.byteLength);
    expect(sha256(whole[0]!)).toBe(sha256(whole[1]!));
  }, 180_000);

  it("a carried-on broadcast whose backup is SIGKILLed is replaced, filled from byte 0 of the primary's copy: both copies byte-identical", async () => {
    // A third server again (the first test killed one): the replacement.
    await threeServers();
    const id = 'whip-carried-lost-backup';
    const first = await whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 3);
    expect(first.code, first.stderr).toBe(0);
    const firstEnd = JSON.parse(/DELETE 200 in \d+ ms: (\{.*\})/.exec(first.stderr)![1]!) as { bytes: number; stored: string[] };
    expect(firstEnd.stored).toHaveLength(2);
    // The same key within the window: carried on where the recording is stored (the relay starts at the copy's end).
    publishing = whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 60);
    await waitFor(`${id} carried on`, async () => started(id, true) !== null, 30_000);
    const [, primary, backup] = started(id, true)!;
    expect([primary, backup].sort()).toEqual([...firstEnd.stored].sort());
    const replacement = [...cluster.servers.keys()].find((s) => s !== primary && s !== backup)!;
    // Every byte the relay did not push itself (the first part) is read from the primary's copy: no need to pass the buffer.
    const killAt = firstEnd.bytes + CARRIED_KILL_AT_BYTES;
    await waitFor(`the backup of ${id} past ${killAt} bytes`, async () => (await liveHolders(id, killAt)).includes(backup!), 60_000);
    await cluster.kill(backup!);
    // Before, the relay refused to ask (it held the stream from the carry-on only): the recording ended on one server.
    await waitFor(
      `${replacement} holding a live copy of ${id} past ${killAt} bytes`,
      async () => (await liveHolders(id, killAt)).includes(replacement),
      40_000,
    );
    const body = await deleted(publishing);
    expect(body.stored.sort()).toEqual([primary, replacement].sort());
    const [a, b] = [primary!, replacement].map((s) => readFileSync(join(cluster.servers.get(s)!.storage, `${id}.webm`)));
    expect(a!.byteLength).toBe(body.bytes);
    expect(a!.byteLength).toBeGreaterThan(killAt);
    expect(sha256(b!)).toBe(sha256(a!));
    expect(body.sha256).toBe(sha256(a!));
  }, 240_000);

  it("a broadcast resumed after its primary's SIGKILL gets a second copy again, from byte 0 of the resumed one: byte-identical", async () => {
    await threeServers();
    const id = 'whip-resumed-second-copy';
    const url = `${cluster.hubUrl}/whip/${id}?location=Paris`;
    publishing = whipPublish(url, 'test-key', 60);
    await waitFor(`${id} started`, async () => started(id, false) !== null, 30_000);
    const [, primary, backup] = started(id, false)!;
    await waitFor(`the backup of ${id} past ${CARRIED_KILL_AT_BYTES} bytes`, async () =>
      (await liveHolders(id, CARRIED_KILL_AT_BYTES)).includes(backup!),
    );
    await cluster.kill(primary!);
    await waitFor(`the hub without ${primary}`, async () => !(await cluster.state()).servers.some((x) => x.id === primary));
    // The same key resumes it on the backup, the copy's only server (the publisher's first peer died with the primary).
    resuming = whipPublish(url, 'test-key', 60);
    await waitFor(`${id} resumed`, async () => started(id, true) !== null, 30_000);
    // Placed on the copy's server alone (the hub names no backup for a resume).
    expect(started(id, true)!.slice(1)).toEqual([backup, undefined]);
    const second = [...cluster.servers.keys()].find((s) => s !== primary && s !== backup)!;
    // Before, the resumed broadcast went on with one copy; now the relay asks for a second one, filled from byte 0.
    await waitFor(
      `${second} holding a live copy of ${id} past ${CARRIED_KILL_AT_BYTES} bytes`,
      async () => (await liveHolders(id, CARRIED_KILL_AT_BYTES)).includes(second),
      40_000,
    );
    publishing.stop();
    await publishing;
    const body = await deleted(resuming);
    expect(body.stored.sort()).toEqual([backup, second].sort());
    const [a, b] = [backup!, second].map((s) => readFileSync(join(cluster.servers.get(s)!.storage, `${id}.webm`)));
    expect(a!.byteLength).toBe(body.bytes);
    expect(sha256(b!)).toBe(sha256(a!));
    expect(body.sha256).toBe(sha256(a!));
  }, 240_000);
});
