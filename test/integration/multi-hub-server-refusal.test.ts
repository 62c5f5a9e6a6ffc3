// A media server refused for good by one hub of its list (a heartbeat period that hub cannot keep: one hub restarted
// with a shorter --heartbeat-ms in a rolling change) registers with the next hub instead of exiting; it exits only when
// every hub it knows refused it, naming each. Before, the first such refusal ended the process, though the next hub
// of its list would have taken it (found by hand: `--hub hub-d,hub-a` with hub-d at --heartbeat-ms 500 exited 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, SECRET, waitFor, type Proc } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';

interface HubsReply {
  hubs: { id: string; servers: number }[];
}

describe('a server refused by one hub of its list (real Redis, real hubs and servers)', () => {
  let redis: RedisProcess;
  const procs: Proc[] = [];
  let usual: HubProc;
  let short1: HubProc;
  let short2: HubProc;
  const tmp = mkdtempSync(join(tmpdir(), 'baton-server-refusal-'));

  beforeAll(async () => {
    redis = await startRedis({ appendfsync: 'everysec' });
    usual = await startRedisHub(redis.url, 'usual');
    procs.push(usual);
    short1 = await startRedisHub(redis.url, 'short-1', ['--heartbeat-ms', '500']);
    procs.push(short1);
    short2 = await startRedisHub(redis.url, 'short-2', ['--heartbeat-ms', '500']);
    procs.push(short2);
  }, 120_000);

  afterAll(async () => {
    await stopAll(procs);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('refused by the first hub (heartbeat period), it registers with the next and stays up', async () => {
    const s = await startHubServer([short1.url, usual.url], 'refused-once', join(tmp, 'a'), ['--hub-return-s', '1']);
    procs.push(s);
    expect(s.output()).toContain('heartbeat period mismatch');
    expect(s.output()).toContain('this hub refused the server; trying the next hub of the list');
    const hubs = await waitFor('the server on the usual hub', async () => {
      const r = (await fetch(`${usual.url}/api/hubs`).then((x) => x.json())) as HubsReply;
      return r.hubs.find((h) => h.id === 'usual')?.servers === 1 && r;
    });
    expect(hubs.hubs.find((h) => h.id === 'short-1')?.servers).toBe(0);
    expect(s.child.exitCode).toBe(null);
    // Its first hub is attached and up: with --hub-return-s 1 it would go back there every second or two, to be
    // refused again. It stays where it was taken.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(s.output().match(/registering there again/g) ?? []).toEqual([]);
    expect(s.output().match(/heartbeat period mismatch/g)?.length).toBe(1);
    expect(s.child.exitCode).toBe(null);
  }, 90_000);

  it('a hung first hub (it takes the connection, never answers) holds the registration one connect timeout, not 20 s', async () => {
    // short-2 hangs (SIGSTOP: the kernel still accepts its TCP connections); the server lists it first.
    short2.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      const s = await startHubServer([short2.url, usual.url], 'past-a-hung-hub', join(tmp, 'c'));
      procs.push(s);
      // HUB_CONNECT_TIMEOUT_MS (5 s) and the start-up; socket.io's default connect timeout alone is 20 s.
      expect(s.output()).toContain('hub unreachable; trying the next');
      await waitFor('the server counted on the usual hub', async () => {
        const r = (await fetch(`${usual.url}/api/hubs`).then((x) => x.json())) as HubsReply;
        return (r.hubs.find((h) => h.id === 'usual')?.servers ?? 0) >= 2;
      });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      short2.child.kill('SIGCONT');
    }
  }, 60_000);

  it('refused by every hub of its list, it exits 1 naming each hub and why', async () => {
    const s = run([
      'server',
      '--no-renditions',
      '--hub',
      `${short1.url},${short2.url}`,
      '--cluster-secret',
      SECRET,
      '--id',
      'refused-twice',
      '--storage',
      join(tmp, 'b'),
    ]);
    procs.push(s);
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(
      new RegExp(`every hub refused this server: ${short1.url}: heartbeat period mismatch.*; ${short2.url}: heartbeat period mismatch`),
    );
  }, 90_000);
});
