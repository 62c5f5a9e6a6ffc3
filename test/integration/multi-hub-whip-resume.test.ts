// Several hubs behind a load balancer: a WHIP publisher whose entry server died re-POSTs within the resume window,
// and the re-POST reaches another hub than the one that took the broadcast. Before, that hub knew nothing of the
// window (it was kept in the first hub's memory) and answered 409: the broadcast was lost. Now the hubs find it
// through Redis. Real redis-server, two hubs, two ingest servers, GStreamer's webrtcbin as the WHIP client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, waitFor, waitForOutput, type ApiState, type Proc } from '../helpers/cluster.js';
import { copyBefore, expectResumedCopy, GI_PACKAGES, HAVE_GI, PYTHON, type Running, whipPublish } from '../helpers/gstreamer.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';

if (!HAVE_GI) console.warn(`multi-hub WHIP resume tests skipped: ${PYTHON} cannot import gi/GstWebRTC (install ${GI_PACKAGES})`);

const KEY = 'resume-stream-key';

describe.skipIf(!HAVE_GI)('WHIP resume through another hub (2 hubs, real Redis)', () => {
  let redis: RedisProcess;
  const hubs: HubProc[] = [];
  const servers = new Map<string, Proc & { storage: string }>();
  const tmp = mkdtempSync(join(tmpdir(), 'baton-whip-resume-'));
  /** The first publishers (their DELETE cannot succeed): killed after the tests, whatever they did. */
  const publishers: Running[] = [];

  // Paris is closest to par-1: the primary for `?location=Paris`; nyc-1 the backup.
  const startServer = async (id: string, lat: number, lon: number) => {
    const storage = join(tmp, id);
    mkdirSync(storage, { recursive: true });
    const args = ['--ingest', '--lat', String(lat), '--lon', String(lon), '--rtc-bind-address', '127.0.0.1'];
    const p = await startHubServer(
      hubs.map((h) => h.url),
      id,
      storage,
      args,
    );
    servers.set(id, Object.assign(p, { storage }));
  };

  beforeAll(async () => {
    redis = await startRedis();
    for (const id of ['wr-a', 'wr-b']) hubs.push(await startRedisHub(redis.url, id, ['--stream-keys', KEY]));
    await startServer('par-1', 48.86, 2.35);
    await startServer('nyc-1', 40.71, -74.0);
  }, 120_000);

  afterAll(async () => {
    for (const p of publishers) p.kill();
    await stopAll([...servers.values(), ...hubs]);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Through `h`: another key cannot take the id over (409); the stream key that started it resumes it for 4 s. */
  const resumeThrough = async (h: HubProc, stream: string) => {
    const stranger = await fetch(`${h.url}/whip/${stream}?location=Paris`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer other-key' },
      body: readFileSync(join(ROOT, 'test/fixtures/whip-offer.sdp'), 'utf8'),
    });
    const reason = await stranger.text();
    expect(stranger.status, reason).toBe(409);
    expect(reason).toMatch(/only the stream key that started it may resume it/);
    const resumed = await whipPublish(`${h.url}/whip/${stream}?location=Paris`, KEY, 4);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/POST 201/);
    expect(resumed.stderr).toMatch(/DELETE 200/);
  };
  // The hub that placed a resume logs it (`resumed: true`).
  const resumedOn = (h: HubProc, stream: string) =>
    h
      .output()
      .split('\n')
      .some((l) => l.includes('WHIP broadcast started') && l.includes(`"stream":"${stream}"`) && l.includes('"resumed":true'));
  const state = (h: HubProc) => fetch(`${h.url}/api/state`).then((r) => r.json() as Promise<ApiState>);
  const stored = (h: HubProc, server: string, stream: string) =>
    state(h).then((s) =>
      (s.servers.find((x) => x.id === server)?.live as { id: string; bytes: number }[] | undefined)?.some(
        (l) => l.id === stream && l.bytes > 100_000,
      ),
    );

  // First: both entry servers up. OBS sends DELETE before its reconnect POST; behind a load balancer the POST may
  // reach the other hub, which finds the window in Redis (before, only hub a held it, and hub b answered 409).
  it("a broadcast ended by DELETE through hub a is carried on by the same key's POST through hub b, on both servers", async () => {
    const [a, b] = [hubs[0]!, hubs[1]!];
    const stream = 'across-carry-on';
    const first = await whipPublish(`${a.url}/whip/${stream}?location=Paris`, KEY, 3);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/DELETE 200/);
    const files = ['par-1', 'nyc-1'].map((id) => join(servers.get(id)!.storage, `${stream}.webm`));
    const head = readFileSync(files[0]!);
    expect(readFileSync(files[1]!).equals(head)).toBe(true);

    const again = await whipPublish(`${b.url}/whip/${stream}?location=Paris`, KEY, 3);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/POST 201/);
    expect(resumedOn(b, stream)).toBe(true);
    const whole = readFileSync(files[0]!);
    expect(readFileSync(files[1]!).equals(whole)).toBe(true);
    expect(whole.byteLength).toBeGreaterThan(head.byteLength);
    expect(whole.subarray(0, head.byteLength).equals(head)).toBe(true);
  }, 120_000);

  it('a re-POST through hub b resumes a broadcast hub a took, on the server holding its copy; nothing stored is lost', async () => {
    const [a, b] = [hubs[0]!, hubs[1]!];
    const stream = 'across-resume';
    const publishing = whipPublish(`${a.url}/whip/${stream}?location=Paris`, KEY, 30);
    publishers.push(publishing);
    await waitFor('the backup storing the broadcast', () => stored(b, 'nyc-1', stream), 30_000);
    const par = servers.get('par-1')!;
    par.child.kill('SIGKILL');
    await par.exited;
    await waitFor('both hubs without par-1', async () => {
      for (const h of [a, b]) if ((await state(h)).servers.some((x) => x.id === 'par-1')) return false;
      return true;
    });
    // Whatever the backup holds now must survive the resume unchanged.
    const backup = servers.get('nyc-1')!.storage;
    const before = copyBefore(join(backup, `${stream}.webm.part`));

    // Through hub b: another key cannot take the id over; the stream key that started it resumes it on nyc-1.
    await resumeThrough(b, stream);
    // Hub b relayed it to hub a, which held the window and placed the resume.
    expect(resumedOn(a, stream)).toBe(true);
    expect(resumedOn(b, stream)).toBe(false);
    // The publisher's first peer died with the primary: its DELETE cannot succeed.
    publishing.stop();
    expect((await publishing).code).not.toBe(0);

    expectResumedCopy(join(backup, `${stream}.webm`), before);
  }, 180_000);

  // Last: it kills hub a.
  it('after hub a died, a broadcast it took whose primary then dies is resumed through hub b (from the record in Redis)', async () => {
    const [a, b] = [hubs[0]!, hubs[1]!];
    const stream = 'hub-died-resume';
    await startServer('par-2', 48.86, 2.35);
    const publishing = whipPublish(`${a.url}/whip/${stream}?location=Paris`, KEY, 60);
    publishers.push(publishing);
    await waitFor('the backup storing the broadcast', () => stored(b, 'nyc-1', stream), 30_000);
    // Hub a dies with the broadcast's resource: its servers move to hub b, the media goes on (it never passes a hub).
    a.child.kill('SIGKILL');
    await a.exited;
    for (const id of ['par-2', 'nyc-1']) await waitForOutput(servers.get(id)!, /registered with hub[\s\S]*registered with hub/, 60_000);
    const growing = (await state(b)).servers.find((x) => x.id === 'nyc-1')!.live as { id: string; bytes: number }[];
    const then = growing.find((l) => l.id === stream)!.bytes;
    await waitFor('the broadcast going on without hub a', async () => {
      const live = (await state(b)).servers.find((x) => x.id === 'nyc-1')?.live as { id: string; bytes: number }[] | undefined;
      return (live?.find((l) => l.id === stream)?.bytes ?? 0) > then;
    });
    // Then its primary dies: nobody holds a resume window in memory any more.
    const par = servers.get('par-2')!;
    par.child.kill('SIGKILL');
    await par.exited;
    await waitFor('hub b without par-2', async () => !(await state(b)).servers.some((x) => x.id === 'par-2'), 30_000);
    const backup = servers.get('nyc-1')!.storage;
    const before = copyBefore(join(backup, `${stream}.webm.part`));

    await resumeThrough(b, stream);
    // Hub b placed it itself, from the record hub a had left in Redis.
    expect(resumedOn(b, stream)).toBe(true);
    publishing.stop();
    expect((await publishing).code).not.toBe(0);
    expectResumedCopy(join(backup, `${stream}.webm`), before);
  }, 240_000);
});
