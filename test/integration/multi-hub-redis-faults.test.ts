// Several hubs on a Redis that hangs (SIGSTOP) or outlives a hub, all real processes on loopback: a hung Redis takes the
// degraded path like a dead one, a hub stops within seconds whatever Redis does, and a dead hub leaves no key without expiry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MEDIA_DIR, run, waitFor, waitForOutput, type ApiState, type Proc } from '../helpers/cluster.js';
import { type HubProc, startHubServer, startRedisHub, stopAll } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { hubsOf } from '../../client-sdk/hub-list.js';
import { MAX_LISTED_HUBS } from '../../signaling/redis/hub-list.js';

const HEARTBEAT_MS = 300;
const ASSET = 'demo-testsrc';
/** A stopping hub waits on Redis one command timeout (1 s) per step at most; the bug it guards against was 30 s and more. */
const STOP_BOUND_MS = 5_000;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

const health = (h: HubProc) => getJson<{ ok: boolean; redis?: string }>(`${h.url}/healthz`);
const hubIds = (h: HubProc) => getJson<{ hubs: { id: string }[] }>(`${h.url}/api/hubs`).then((r) => r.hubs.map((x) => x.id));

describe('several hubs on a Redis that hangs or outlives a hub', () => {
  let redis: RedisProcess;
  let probe: Redis;
  const procs: Proc[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'baton-redis-faults-'));

  // No rotation: the director stays the first server (on hub B) for the whole file.
  const hubArgs = ['--heartbeat-ms', String(HEARTBEAT_MS), '--rotation-ms', '3600000', '--http-rate', '1000', '--stream-keys', 'test-key'];
  const startHub = async (id: string, args: string[] = []): Promise<HubProc> => {
    const h = await startRedisHub(redis.url, id, [...hubArgs, ...args]);
    procs.push(h);
    return h;
  };
  const startServer = async (id: string, hub: HubProc | HubProc[], args: string[] = []): Promise<Proc> => {
    const storage = join(tmp, id);
    mkdirSync(storage);
    linkSync(join(MEDIA_DIR, `${ASSET}.webm`), join(storage, `${ASSET}.webm`));
    const hubs = Array.isArray(hub) ? hub.map((h) => h.url) : [hub.url];
    const p = await startHubServer(hubs, id, storage, ['--heartbeat-ms', String(HEARTBEAT_MS), ...args]);
    procs.push(p);
    return p;
  };
  const listed = () => getJson<{ hubs: { id: string; servers: number }[] }>(`${a.url}/api/hubs`).then((r) => r.hubs);
  const registeredOn = async (hub: string) => (await listed()).find((h) => h.id === hub)?.servers ?? 0;
  /** SIGTERM, then how long the hub took to exit (ms), or Infinity past `STOP_BOUND_MS` × 2 (then SIGKILLed). */
  const stopTime = async (h: HubProc): Promise<number> => {
    const t0 = performance.now();
    h.child.kill('SIGTERM');
    const exited = await Promise.race([h.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), STOP_BOUND_MS * 2))]);
    if (!exited) h.child.kill('SIGKILL');
    return exited ? performance.now() - t0 : Number.POSITIVE_INFINITY;
  };

  let a: HubProc;
  let b: HubProc;

  beforeAll(async () => {
    await ensureDemoMedia(MEDIA_DIR);
    redis = await startRedis();
    probe = new Redis(redis.url);
    probe.on('error', () => undefined); // while Redis is stopped on purpose
    a = await startHub('hub-a');
    b = await startHub('hub-b');
    // The director is the first server: on hub B, so a watch on hub A asks across hubs while Redis answers.
    await startServer('m2', b);
    await startServer('m1', a);
    await waitFor('hub A knows both servers, m2 directing', async () => {
      const s = await getJson<ApiState>(`${a.url}/api/state`);
      return s.servers.length === 2 && s.director?.id === 'm2';
    });
  }, 180_000);

  afterAll(async () => {
    redis?.resume();
    await stopAll(procs);
    probe?.disconnect();
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 30_000);

  it('Redis hung (SIGSTOP): health says degraded and a watch of an asset on the hub’s own server is served by it', async () => {
    const source = readFileSync(join(MEDIA_DIR, `${ASSET}.webm`));
    expect((await health(a)).redis).toBe('ok');
    redis.pause();
    try {
      const t0 = performance.now();
      await waitFor('hub A degraded', async () => (await health(a)).redis === 'degraded', 10_000);
      console.log(`hung Redis seen as unreachable after ${Math.round(performance.now() - t0)} ms`);
      await waitFor('the log says so', () => a.output().includes('Redis unreachable'), 5_000);
      // The director (m2) is on hub B, beyond the hung Redis: hub A places the viewer on its own server.
      const r = await watchStream({ hubUrl: a.url, assetId: ASSET, timeoutMs: 30_000, fast: true }, () => {});
      expect(r.server).toBe('m1');
      expect(r.sha256).toBe(sha256(source));
    } finally {
      redis.resume();
    }
    await waitFor('hub A back to normal', async () => (await health(a)).redis === 'ok', 15_000);
  }, 60_000);

  it('SIGKILL a hub right after a cross-hub watch: its inbox expires and it leaves the hub list', async () => {
    const c = await startHub('hub-c');
    await waitFor('hub C listed', async () => (await hubIds(a)).includes('hub-c'));
    // No server on hub C: the director and the chosen server are on other hubs, whose answers land in C's inbox.
    const r = await watchStream({ hubUrl: c.url, assetId: ASSET, timeoutMs: 30_000, fast: true }, () => {});
    expect(r.bytes).toBeGreaterThan(0);
    c.child.kill('SIGKILL');
    await c.exited;
    expect(await probe.exists('baton:inbox:hub-c')).toBe(1);
    expect(await probe.pttl('baton:inbox:hub-c')).toBeGreaterThan(0);
    await waitFor('hub C gone from the list and from Redis', async () => {
      const listed = (await hubIds(a)).includes('hub-c');
      const indexed = (await probe.zscore('baton:hub-index', 'hub-c')) !== null;
      return !listed && !indexed && (await probe.exists('baton:hub:hub-c')) === 0;
    });
    // Every key about hubs expires.
    expect(await probe.pttl('baton:hub-index')).toBeGreaterThan(0);
    expect(await probe.pttl('baton:hub:hub-a')).toBeGreaterThan(0);
  }, 90_000);

  it('a server given one hub registers with another that hub named when it is SIGKILLed', async () => {
    const d = await startHub('hub-d');
    await waitFor('hub D listed', async () => (await hubIds(a)).includes('hub-d'));
    await startServer('m3', d);
    await waitFor('m3 registered with hub D', async () => (await registeredOn('hub-d')) === 1);
    d.child.kill('SIGKILL');
    await d.exited;
    // Given only D's address, it knows A and B from D's hub list: it registers with one of them, not waiting for D.
    await waitFor(
      'm3 registered with hub A or B',
      async () => {
        const l = await listed();
        return l.filter((h) => h.id === 'hub-a' || h.id === 'hub-b').reduce((n, h) => n + h.servers, 0) === 3 ? l : undefined;
      },
      20_000,
    );
    const s = await getJson<ApiState>(`${a.url}/api/state`);
    expect(s.servers.map((x) => x.id).sort()).toEqual(['m1', 'm2', 'm3']);
  }, 60_000);

  it('a server whose first hub was SIGKILLed registers there again once it is back (--hub-return-s), staying in the table', async () => {
    const e = await startHub('hub-e');
    await waitFor('hub E listed', async () => (await hubIds(a)).includes('hub-e'));
    const onA = await registeredOn('hub-a');
    const m4 = await startServer('m4', [e, a], ['--hub-return-s', '1']);
    await waitFor('m4 registered with hub E', async () => (await registeredOn('hub-e')) === 1);
    e.child.kill('SIGKILL');
    await e.exited;
    await waitFor('m4 registered with hub A', async () => (await registeredOn('hub-a')) === onA + 1, 20_000);
    // E again, on its address: m4 attaches there, and once E has been up 1–1.5 s it registers there again.
    const e2 = await startHub('hub-e', ['--port', new URL(e.url).port]);
    await waitFor('m4 back on hub E', async () => (await registeredOn('hub-e')) === 1 && (await registeredOn('hub-a')) === onA, 20_000);
    expect(m4.output()).toMatch(/first hub of the list is back; registering there again/);
    // A move, not a departure: no hub took m4 out of the table on the way.
    const s = await getJson<ApiState>(`${a.url}/api/state`);
    expect(s.servers.map((x) => x.id)).toContain('m4');
    for (const h of [a, b, e2]) expect(h.output()).not.toMatch(/"server":"m4"[^\n]*server removed/);
    await stopAll([m4, e2]);
  }, 90_000);

  it('thousands of dead hubs in the index: pruned by the next report, and the hub list stays bounded meanwhile', async () => {
    const [s] = await probe.time();
    const nowMs = Number(s) * 1000;
    // Hubs that reported an hour ago, and MAX_LISTED_HUBS × 2 reporting now without a status key (dead, not yet pruned).
    const stale: (string | number)[] = [];
    for (let i = 0; i < 10_000; i++) stale.push(nowMs - 3_600_000, `dead-${i}`);
    const fresh: (string | number)[] = [];
    for (let i = 0; i < MAX_LISTED_HUBS * 2; i++) fresh.push(nowMs + 60_000, `fresh-${i}`);
    await probe.zadd('baton:hub-index', ...stale, ...fresh);
    // Listed: only hubs with a live status key, read from at most MAX_LISTED_HUBS entries (the newest).
    expect(await hubIds(a)).toEqual([]);
    expect((await getJson<{ hubs: string[] }>(`${a.url}/api/config`)).hubs).toEqual([a.url]);
    await waitFor('the hour-old entries pruned', async () => (await probe.zcount('baton:hub-index', '-inf', nowMs - 60_000)) === 0);
    await probe.zrem('baton:hub-index', ...fresh.filter((x) => typeof x === 'string'));
    await waitFor('both hubs listed again', async () => (await hubIds(a)).join() === 'hub-a,hub-b');
  }, 60_000);

  it('a headless viewer (baton watch) whose hub and then server die resumes through another hub at the same byte', async () => {
    // Its own asset on two servers of its own, so the servers this kills are not the file's.
    const copy = 'demo-copy';
    const storages = ['m5', 'm6'].map((id) => join(tmp, `${id}-extra`));
    for (const dir of storages) {
      mkdirSync(dir);
      linkSync(join(MEDIA_DIR, `${ASSET}.webm`), join(dir, `${copy}.webm`));
    }
    const source = readFileSync(join(MEDIA_DIR, `${ASSET}.webm`));
    const servers = new Map<string, Proc>();
    for (const [i, id] of ['m5', 'm6'].entries()) {
      const p = await startHubServer([a.url], id, storages[i]!, ['--heartbeat-ms', String(HEARTBEAT_MS), '--allow-fast']);
      procs.push(p);
      servers.set(id, p);
    }
    const f = await startHub('hub-f');
    await waitFor('hub F listed', async () => (await hubIds(a)).includes('hub-f'));
    // `baton watch --hub F`, as a user runs it: F lists A and B, which it falls back on.
    expect((await hubsOf(f.url)).sort()).toEqual([a.url, b.url].sort());
    const out = join(tmp, 'watched.webm');
    const watch = run(['watch', '--hub', f.url, '--asset', copy, '--out', out, '--fast', '--limit-kbps', '2000', '--json']);
    // A quarter in (the server's own count of bytes sent), its hub dies, then — while its socket is away — its server.
    const serving = await waitFor(
      'a quarter sent',
      async () => {
        const s = await getJson<ApiState>(`${a.url}/api/state`);
        for (const x of s.servers.filter((x) => servers.has(x.id) && x.httpUrl)) {
          const status = await getJson<{ sessionStats: { bytesSent: number }[] }>(`${x.httpUrl}/api/status`);
          if ((status.sessionStats[0]?.bytesSent ?? 0) >= source.length / 4) return x.id;
        }
        return undefined;
      },
      20_000,
    );
    f.child.kill('SIGKILL');
    await f.exited;
    servers.get(serving)!.child.kill('SIGKILL');
    await servers.get(serving)!.exited;
    const killedAt = performance.now();
    await watch.exited;
    const r = JSON.parse(watch.output().trim().split('\n').at(-1)!) as {
      server: string;
      sha256: string;
      bytes: number;
      totalMs: number;
      failovers: { from: string; to: string; offset: number }[];
    };
    console.log(`baton watch: its hub and server SIGKILLed, it finished ${Math.round(performance.now() - killedAt)} ms later`);
    expect(r.server).toBe(serving);
    expect(r.failovers).toEqual([{ from: serving, to: [...servers.keys()].find((id) => id !== serving), offset: expect.any(Number) }]);
    expect(r.failovers[0]!.offset).toBeGreaterThanOrEqual(source.length / 4);
    expect(r.bytes).toBe(source.length);
    expect(r.sha256).toBe(sha256(source));
    expect(readFileSync(out).equals(source)).toBe(true);
    await stopAll([...servers.values()]);
  }, 90_000);

  // At its bitrate the primary's silence is noticed mid-upload; at 4× the upload (5 s) has ended first, and the copy
  // lost at the end is made again after it: the publisher still holds the whole stream and resends it to a new server.
  it.each([
    { speed: 1, when: 'mid-upload' },
    { speed: 4, when: 'after its end' },
  ])(
    'a broadcaster (baton publish --speed $speed) whose hub and then primary die keeps two copies: the next hub gives it a replacement $when',
    async ({ speed }) => {
      const ingest = new Map<string, Proc>();
      const ids = [1, 2, 3].map((n) => `i${speed}x${n}`);
      for (const [i, id] of ids.entries()) {
        const dir = join(tmp, id);
        mkdirSync(dir);
        const args = ['--heartbeat-ms', String(HEARTBEAT_MS), '--ingest', '--lat', '50', '--lon', String(8 + i)];
        const p = await startHubServer([a.url], id, dir, args);
        procs.push(p);
        ingest.set(id, p);
      }
      const g = await startHub(`hub-g${speed}`);
      await waitFor('hub G listed', async () => (await hubIds(a)).includes(g.id));
      const file = join(MEDIA_DIR, `${ASSET}.webm`);
      const source = readFileSync(file);
      const streamId = `pub-failover-${speed}x`;
      // 20 s of media at `speed` × its bitrate; a second in, its hub dies, then (its socket away) its primary.
      const args = [
        '--file',
        file,
        '--location',
        'Frankfurt',
        '--stream-key',
        'test-key',
        '--stream-id',
        streamId,
        '--speed',
        String(speed),
      ];
      const t0 = performance.now();
      const pub = run(['publish', '--hub', g.url, ...args]);
      const primary = (await waitForOutput(pub, /primary (i\w+) /, 30_000))[1]!;
      await new Promise((r) => setTimeout(r, 1_000));
      g.child.kill('SIGKILL');
      await g.exited;
      ingest.get(primary)!.child.kill('SIGKILL');
      await ingest.get(primary)!.exited;
      expect(await pub.exited, pub.output().slice(-3000)).toBe(0);
      console.log(`baton publish --speed ${speed}, hub and primary SIGKILLed: exited after ${Math.round(performance.now() - t0)} ms`);
      const done = new RegExp(
        `published ${streamId}: (\\d+) bytes, sha256 ([0-9a-f]+), stored on (\\w+) and (\\w+) after \\d+ failover`,
      ).exec(pub.output());
      expect(done, pub.output().slice(-3000)).not.toBeNull();
      expect(Number(done![1])).toBe(source.length);
      expect(done![2]).toBe(sha256(source));
      const stored = [done![3]!, done![4]!];
      expect(stored).not.toContain(primary);
      // No hub could say the primary left the table: its silence did (before its channel's own timeout).
      expect(pub.output()).toContain(`${primary} failed: server-silent`);
      for (const id of stored) expect(readFileSync(join(tmp, id, `${streamId}.webm`)).equals(source)).toBe(true);
      await stopAll([...ingest.values()]);
    },
    90_000,
  );

  it('a server the lease holder removed while its hub was stalled registers again: none beats on outside the table', async () => {
    const list = await getJson<{ hubs: { id: string; leaseHolder: boolean }[] }>(`${a.url}/api/hubs`);
    const [stalled, judge, server] = list.hubs.find((h) => h.leaseHolder)?.id === 'hub-a' ? [b, a, 'm2'] : [a, b, 'm1'];
    const inTable = async () => (await getJson<ApiState>(`${judge.url}/api/state`)).servers.some((x) => x.id === server);
    expect(await inTable()).toBe(true);
    // Stalled past the heartbeat TTL (the hub's servers stay connected): the lease holder's sweep removes its servers.
    stalled.child.kill('SIGSTOP');
    try {
      await waitFor(`${server} removed by ${judge.id}'s sweep`, async () => !(await inTable()), 15_000);
    } finally {
      stalled.child.kill('SIGCONT');
    }
    // Its hub reads the removal back and has it register again (before: it beat there for ever, out of the table).
    await waitFor(`${server} back in the table`, inTable, 15_000);
    expect(stalled.output()).toMatch(new RegExp(`"server":"${server}"[^\\n]*no longer in the table`));
  }, 60_000);

  it('SIGTERM to hubs while Redis is hung: each exits within seconds', async () => {
    redis.pause();
    try {
      // At once (the hub still believes Redis is there), and once the hub has seen it hung.
      const atOnce = await stopTime(a);
      await waitFor('hub B degraded', async () => (await health(b)).redis === 'degraded', 10_000);
      const seen = await stopTime(b);
      console.log(`hub exit after SIGTERM with Redis hung: ${Math.round(atOnce)} ms at once, ${Math.round(seen)} ms once seen`);
      expect(atOnce).toBeLessThan(STOP_BOUND_MS);
      expect(seen).toBeLessThan(STOP_BOUND_MS);
    } finally {
      redis.resume();
    }
  }, 60_000);
});
