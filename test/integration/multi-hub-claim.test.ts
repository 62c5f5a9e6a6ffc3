// Two hubs on one Redis that must not be one cluster: a second hub started with a live hub's --hub-id (a copied command
// line, a shared config file) and a hub started with another cluster secret stop with what to change, and leave the
// cluster as it was. Before, the first held the rotation lease beside its twin and read its inbox; the second joined
// its servers to this table, listed itself in /api/hubs and /api/config, and served viewers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, SECRET, waitFor, waitForOutput, type ApiState, type Proc } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';

interface HubsReply {
  hubs: { id: string; url: string; leaseHolder: boolean }[];
}

describe('hubs that do not belong together on one Redis (real Redis, real processes)', () => {
  let redis: RedisProcess;
  const procs: Proc[] = [];
  let hubA: HubProc;
  const tmp = mkdtempSync(join(tmpdir(), 'baton-hub-claim-'));
  const json = <T>(url: string) => fetch(url).then((r) => r.json() as Promise<T>);

  beforeAll(async () => {
    redis = await startRedis({ appendfsync: 'everysec' });
    hubA = await startRedisHub(redis.url, 'claim-a');
    procs.push(hubA, await startHubServer([hubA.url], 'claim-s1', join(tmp, 's1')));
    await waitFor('the server in the table', async () => (await json<ApiState>(`${hubA.url}/api/state`)).servers.length === 1 || undefined);
  }, 120_000);

  afterAll(async () => {
    await stopAll(procs);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Starts `baton hub` on this Redis and waits for it to exit; a hub that starts instead fails the test. */
  async function refused(args: string[]): Promise<string> {
    const p = run(['hub', '--port', '0', '--redis', redis.url, ...args]);
    procs.push(p);
    const code = await Promise.race([
      p.exited,
      waitForOutput(p, /listening on/, 30_000).then(
        () => 'started',
        () => 'neither',
      ),
    ]);
    expect(code, p.output().slice(-2000)).toBe(1);
    return p.output();
  }

  it('a second hub with a live hub’s --hub-id stops, naming the id and the other hub; the cluster is unchanged', async () => {
    const out = await refused(['--hub-id', 'claim-a', '--cluster-secret', SECRET]);
    expect(out).toContain(`hub id "claim-a" is in use by another live hub on this Redis (key prefix "baton:", at ${hubA.url})`);
    expect(out).toContain('give every hub its own --hub-id');
    const { hubs } = await json<HubsReply>(`${hubA.url}/api/hubs`);
    expect(hubs.map((h) => [h.id, h.url, h.leaseHolder])).toEqual([['claim-a', hubA.url, true]]);
  }, 60_000);

  it('a hub with another cluster secret stops, saying to use one secret or another --redis-prefix; it is never listed', async () => {
    const out = await refused(['--hub-id', 'claim-x', '--cluster-secret', 'another-cluster-secret-0123']);
    expect(out).toContain('another hub on this Redis (key prefix "baton:") runs with a different cluster secret');
    expect(out).toContain('--redis-prefix');
    const { hubs } = await json<HubsReply>(`${hubA.url}/api/hubs`);
    expect(hubs.map((h) => h.id)).toEqual(['claim-a']);
    const state = await json<ApiState>(`${hubA.url}/api/state`);
    expect(state.servers.map((s) => s.id)).toEqual(['claim-s1']);
  }, 60_000);

  it('the same secret under another --redis-prefix is another cluster, and starts', async () => {
    const other = await startRedisHub(redis.url, 'claim-a', ['--redis-prefix', 'other:']);
    procs.push(other);
    expect((await json<HubsReply>(`${other.url}/api/hubs`)).hubs.map((h) => h.url)).toEqual([other.url]);
  }, 60_000);

  it('a hub stalled past its claim while a new process took its id steps down when it resumes; the new one keeps the id', async () => {
    const old = await startRedisHub(redis.url, 'claim-twin');
    procs.push(old);
    const listedAt = async () => (await json<HubsReply>(`${hubA.url}/api/hubs`)).hubs.find((h) => h.id === 'claim-twin')?.url;
    await waitFor('the hub listed', async () => (await listedAt()) === old.url);
    old.child.kill('SIGSTOP');
    try {
      // Its claim and its hub-list entry expire with it (a liveness timeout); a new process of the id then starts.
      await waitFor('the stalled hub gone from the list', async () => (await listedAt()) === undefined, 30_000);
      const twin = await startRedisHub(redis.url, 'claim-twin');
      procs.push(twin);
      await waitFor('the new process listed', async () => (await listedAt()) === twin.url, 30_000);
    } finally {
      old.child.kill('SIGCONT');
    }
    const code = await Promise.race([old.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code, old.output().slice(-2000)).toBe(1);
    expect(old.output()).toContain('another live hub took the hub id "claim-twin" while this process was stalled; this one stops');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await listedAt()).not.toBe(old.url);
    expect(await listedAt()).toBeDefined();
  }, 120_000);

  it('a hub SIGKILLed and started again at once with its id waits out its old claim and starts', async () => {
    hubA.child.kill('SIGKILL');
    await hubA.exited;
    const again = await startRedisHub(redis.url, 'claim-a');
    procs.push(again);
    await waitFor(
      'the restarted hub in the hub list',
      async () => (await json<HubsReply>(`${again.url}/api/hubs`)).hubs.find((h) => h.id === 'claim-a')?.url === again.url || undefined,
      30_000,
    );
  }, 90_000);
});
