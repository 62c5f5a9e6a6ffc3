// Two real hubs on a real redis-server, two media servers: when the director hangs (SIGSTOP: its
// socket stays open, it answers nothing), a viewer on the hub that does not hold the rotation lease
// is placed at once: that hub asks the lease holder to move the baton (its own designation would be
// fenced), instead of asking the hung director again until its heartbeats run out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MEDIA_DIR, waitFor, type ApiState, type Proc } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { ask, connect } from '../faults/helpers/net.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { clusterKeys } from '../../signaling/redis/keys.js';
import type { Ack, DecisionEvent, WatchReply } from '../../signaling/protocol/index.js';

const ASSET = 'demo-smpte';
/** Heartbeats every 2 s: a hung server is removed only after 6 s, well after the director timeout (500 ms). */
const HEARTBEAT_MS = 2_000;

describe('director timeout on a hub without the rotation lease (2 hubs, real Redis)', () => {
  let redis: RedisProcess;
  const hubs: HubProc[] = [];
  const servers = new Map<string, Proc>();
  const tmp = mkdtempSync(join(tmpdir(), 'baton-hub-director-'));

  beforeAll(async () => {
    redis = await startRedis();
    for (const id of ['dir-a', 'dir-b'])
      hubs.push(await startRedisHub(redis.url, id, ['--heartbeat-ms', String(HEARTBEAT_MS), '--rotation-ms', '0']));
    await ensureDemoMedia(MEDIA_DIR);
    for (const [i, id] of ['srv-1', 'srv-2'].entries()) {
      const storage = join(tmp, id);
      mkdirSync(storage);
      linkSync(join(MEDIA_DIR, `${ASSET}.webm`), join(storage, `${ASSET}.webm`));
      const order = i === 0 ? hubs : [...hubs].reverse();
      servers.set(
        id,
        await startHubServer(
          order.map((h) => h.url),
          id,
          storage,
          ['--heartbeat-ms', String(HEARTBEAT_MS)],
        ),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of servers.values()) if (p.child.signalCode === null) p.child.kill('SIGCONT');
    await stopAll([...servers.values(), ...hubs]);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('SIGSTOP the director: a watch on the other hub is placed, and the lease holder moved the baton for director-timeout', async () => {
    const state = (h: HubProc) => fetch(`${h.url}/api/state`).then((r) => r.json() as Promise<ApiState>);
    const before = await waitFor('both servers and a director on both hubs', async () => {
      const all = await Promise.all(hubs.map(state));
      const ok = all.every((s) => s.servers.length === 2 && s.director && s.director.epoch === all[0]!.director?.epoch);
      return ok ? all[0]! : undefined;
    });
    const probe = new Redis(redis.url);
    const holderId = await probe.get(clusterKeys().rotationLease);
    probe.disconnect();
    const holder = hubs.find((h) => h.id === holderId)!;
    const other = hubs.find((h) => h.id !== holderId)!;
    expect(holder, `lease holder ${holderId}`).toBeDefined();
    const directorId = before.director!.id;
    const hung = servers.get(directorId)!;
    hung.child.kill('SIGSTOP');
    try {
      const viewer = await connect(other.url);
      const reply: Ack<WatchReply> = await ask(viewer, 'watch', { assetId: ASSET });
      viewer.close();
      expect(reply).toMatchObject({ ok: true });
      const { decisions } = (await (await fetch(`${holder.url}/api/decisions`)).json()) as { decisions: DecisionEvent[] };
      const moved = decisions.filter((d) => d.kind === 'director' && d.reason === 'director-timeout');
      expect(moved.length, JSON.stringify(decisions.filter((d) => d.kind === 'director'))).toBeGreaterThan(0);
      expect(moved.at(-1)).toMatchObject({ director: { id: expect.not.stringMatching(directorId) } });
      // The hung server is still in the table: the baton moved for the timeout, not for its removal.
      expect((await state(other)).servers.map((s) => s.id)).toContain(directorId);
    } finally {
      hung.child.kill('SIGCONT');
    }
  }, 60_000);
});
