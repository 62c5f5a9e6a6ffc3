// The shared-cluster building blocks against a real redis-server: ordered global versions, fencing, lease hand-over, shared guards, and what a Redis outage does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectBlockingRedis, connectRedis, RedisProbe, whenRedisReady } from '../../signaling/redis/connect.js';
import { parseRedisUrl, RedisUrlError } from '../../signaling/redis/redis-url.js';
import { FencedError, RedisDeltaLog } from '../../signaling/redis/delta-log.js';
import { CodedError } from '../../common/coded-error.js';
import { SharedHeartbeats } from '../../signaling/redis/heartbeats.js';
import { clusterKeys } from '../../signaling/redis/keys.js';
import { LeaseKeeper, RotationLease } from '../../signaling/redis/lease.js';
import { SharedNonces, SharedStreamOwners } from '../../signaling/redis/shared-guards.js';
import { SharedRateWindows } from '../../signaling/redis/shared-rate.js';
import { SharedWhipStreams } from '../../signaling/redis/shared-whip.js';
import { SharedIpSessions } from '../../signaling/redis/shared-sessions.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { Delta, ServerEntry } from '../../signaling/protocol/types.js';
import { waitFor } from '../helpers/cluster.js';
import { freePort, startRedis, type RedisProcess } from '../helpers/redis-process.js';

let redis: RedisProcess;
const clients: Redis[] = [];
function client(): Redis {
  const c = connectRedis(redis.url);
  clients.push(c);
  return c;
}
let prefixN = 0;
const fresh = () => clusterKeys(`t${++prefixN}:`);

function server(id: string): ServerEntry {
  return {
    id,
    region: 'eu',
    lat: 50,
    lon: 8,
    roles: ['edge'],
    maxSessions: 10,
    uplinkMbps: 1000,
    joinedAtMs: 1,
    load: { sessions: 0, egressMbps: 0, cpu: 0 },
    cache: [],
    storage: [],
    live: [],
  } as unknown as ServerEntry;
}

beforeAll(async () => {
  redis = await startRedis();
  for (const c of [client()]) await waitFor('redis ready', () => c.status === 'ready');
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

describe('redis URL', () => {
  it('accepts redis:// and rediss:// with a db, refuses anything else with a clear error', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toMatchObject({ host: '127.0.0.1', port: 6380, db: 2, tls: false });
    expect(parseRedisUrl('rediss://r.example').port).toBe(6379);
    expect(() => parseRedisUrl('http://x:1')).toThrow(RedisUrlError);
    expect(() => parseRedisUrl('http://x:1')).toThrow(expect.objectContaining({ code: 'bad-redis-url' }));
    expect(() => parseRedisUrl('redis://x:1/99')).toThrow(/database number/);
    expect(() => parseRedisUrl('localhost:6379')).toThrow(/scheme|URL/);
  });
});

describe('delta log', () => {
  it('gives deltas from several hubs one gap-free version sequence that every reader applies alike', async () => {
    const keys = fresh();
    const hubs = [client(), client(), client()].map((c) => new RedisDeltaLog(c, keys));
    await waitFor('clients ready', () => clients.every((c) => c.status === 'ready'));
    const ids = Array.from({ length: 30 }, (_, i) => `s${i}`);
    const versions = (await Promise.all(ids.map((id, i) => hubs[i % 3]!.append([{ type: 'server-joined', server: server(id) }])))).flat();
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const read = await hubs[1]!.readAfter(0);
    expect(read.kind).toBe('deltas');
    if (read.kind !== 'deltas') return;
    expect(read.deltas.map((d) => d.v)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const a = new StateTable();
    const b = new StateTable();
    for (const d of read.deltas) {
      expect(a.offer(d)).toBe('applied');
      b.offer(d);
    }
    expect(a.version).toBe(30);
    expect(b.snapshot()).toEqual(a.snapshot());
    const after = await hubs[2]!.readAfter(25);
    expect(after.kind === 'deltas' && after.deltas.map((d) => d.v)).toEqual([26, 27, 28, 29, 30]);
  });

  it('wakes a blocked reader when another hub appends', async () => {
    const keys = fresh();
    const writer = new RedisDeltaLog(client(), keys);
    const blocking = connectBlockingRedis(redis.url, 5_000);
    clients.push(blocking);
    await waitFor('blocking client ready', () => blocking.status === 'ready');
    const reading = writer.readAfter(0, 5_000, blocking);
    await new Promise((r) => setTimeout(r, 100));
    await writer.append([{ type: 'server-left', id: 'x', reason: 'test' }]);
    const read = await reading;
    expect(read.kind === 'deltas' && read.deltas.map((d) => d.v)).toEqual([1]);
  });

  it('reports a gap once the log is trimmed past a reader, and a snapshot plus the tail catches it up', async () => {
    const keys = fresh();
    const c = client();
    await whenRedisReady(c);
    const log = new RedisDeltaLog(c, keys, 10);
    const table = new StateTable();
    for (let i = 0; i < 200; i++) {
      const d: Delta = { type: 'server-joined', server: server(`s${i}`) };
      const [v] = await log.append([d]);
      table.offer({ v: v!, d });
      if (v! % log.snapshotEvery === 0) await log.saveSnapshot(table.snapshot());
    }
    const behind = await log.readAfter(3);
    expect(behind.kind).toBe('gap');
    const { snapshot, read } = await log.catchUp();
    expect(read.kind).toBe('deltas');
    const replica = snapshot ? StateTable.fromSnapshot(snapshot) : new StateTable();
    if (read.kind === 'deltas') for (const d of read.deltas) expect(replica.offer(d)).toBe('applied');
    expect(replica.snapshot()).toEqual(table.snapshot());
    expect(await log.saveSnapshot({ ...table.snapshot(), version: 5 })).toBe(false); // an older snapshot never replaces a newer one
  });
});

describe('rotation lease', () => {
  it('has one holder at a time, fences appends by the holder, and hands over with a higher epoch when the holder stops renewing', async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    const a = new RotationLease(ca, keys, 'hub-a', 300);
    const b = new RotationLease(cb, keys, 'hub-b', 300);
    const got = await a.tryAcquire();
    expect(got.held).toBe(true);
    expect(await b.tryAcquire()).toEqual({ held: false, holder: 'hub-a' });
    const log = new RedisDeltaLog(ca, keys);
    const director: Delta = { type: 'director', director: { id: 's1', epoch: 1, sinceMs: 0 } };
    await expect(log.append([director], 'hub-a')).resolves.toEqual([1]);
    await expect(new RedisDeltaLog(cb, keys).append([director], 'hub-b')).rejects.toBeInstanceOf(FencedError);
    await expect(new RedisDeltaLog(cb, keys).append([director], 'hub-b')).rejects.toBeInstanceOf(CodedError);
    // hub-a stops renewing (paused or dead): the lease expires and hub-b takes it with a new fencing token.
    const taken = await waitFor('hub-b takes the lease', async () => {
      const s = await b.tryAcquire();
      return s.held ? s : undefined;
    });
    expect(got.held && taken.epoch).toBeGreaterThan(got.held ? got.epoch : 0);
    await expect(log.append([director], 'hub-a')).rejects.toBeInstanceOf(FencedError);
    expect(await log.version()).toBe(1); // the fenced appends changed nothing
  });

  it('a keeper that cannot reach Redis stops acting as holder before its lease could pass to another hub', async () => {
    const keys = fresh();
    const c = client();
    await waitFor('client ready', () => c.status === 'ready');
    let nowMs = 1_000;
    const changes: boolean[] = [];
    const keeper = new LeaseKeeper(
      new RotationLease(c, keys, 'hub-a', 3_000),
      (held) => changes.push(held),
      () => nowMs,
    );
    await keeper.tick();
    expect(keeper.epoch()).toBeGreaterThan(0);
    c.disconnect(); // Redis unreachable from this hub
    nowMs += 1_500;
    await keeper.tick(); // fails: keeps the lease it had…
    expect(keeper.epoch()).toBeGreaterThan(0);
    nowMs += 600; // …until last renewal + 2/3 of the lease, while Redis still holds it for hub-a
    expect(keeper.epoch()).toBe(0);
    await keeper.tick();
    expect(changes).toEqual([true, false]);
  });
});

describe('shared guards', () => {
  /** Stream owners of two hubs on one Redis, each with its own connection, claims living 60 s. */
  async function twoHubsOwners() {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    return { keys, ca, onA: new SharedStreamOwners(ca, keys, 60_000), onB: new SharedStreamOwners(cb, keys, 60_000) };
  }

  it('lets exactly one of two hubs racing for a stream id win; the owner comes back with its secret', async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    const onA = new SharedStreamOwners(ca, keys);
    const onB = new SharedStreamOwners(cb, keys);
    const results = await Promise.all([onA.claim('live-1', 'hub-a/sock1', 'secret-a'), onB.claim('live-1', 'hub-b/sock9', 'secret-b')]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const winner = results.find((r) => r.ok) as { ok: true; secret: string; fresh: boolean };
    expect(winner.fresh).toBe(true);
    // The loser may take over only with the winner's secret (the owner reconnecting through another hub).
    const retake = await onB.claim('live-1', 'hub-b/sock10', 'ignored', winner.secret);
    expect(retake).toEqual({ ok: true, secret: winner.secret, fresh: false });
    expect(await onA.claim('live-1', 'hub-a/other', 'x', 'wrong')).toEqual({ ok: false, reason: 'owned' });
    expect(await onA.release('live-1', 'hub-a/other')).toBe(false);
    expect(await onB.release('live-1', 'hub-b/sock10')).toBe(true);
  });

  it('counts the ids of a stream key across hubs: two hubs racing for its last slot, one wins; a resume is not counted twice', async () => {
    const { keys, ca, onA, onB } = await twoHubsOwners();
    const slot = (nowMs = 1_000) => ({ keyId: 'k1', max: 2, nowMs });
    const first = await onA.claim('s1', 'hub-a/1', 'sec-1', undefined, slot());
    expect(first).toMatchObject({ ok: true, fresh: true });
    const race = await Promise.all([
      onA.claim('s2', 'hub-a/2', 'sec-2', undefined, slot()),
      onB.claim('s3', 'hub-b/3', 'sec-3', undefined, slot()),
    ]);
    expect(race.filter((r) => r.ok)).toHaveLength(1);
    expect(race.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'key-full' }]);
    const [won, lost] = race[0]!.ok ? (['s2', 's3'] as const) : (['s3', 's2'] as const);
    // The refused id holds nothing: another key may take it.
    expect(await onB.claim(lost, 'hub-b/9', 'sec-x', undefined, { ...slot(), keyId: 'k2' })).toMatchObject({ ok: true });
    // s1's publisher comes back through hub B with its secret: the key still holds two ids.
    expect(await onB.claim('s1', 'hub-b/7', 'ignored', 'sec-1', slot())).toMatchObject({ ok: true, fresh: false });
    expect(await ca.zcard(keys.keySlots('k1'))).toBe(2);
    // Hub A's release of s1 (its old connection) leaves the slot: hub B holds the id now.
    expect(await onA.release('s1', 'hub-a/1', 'k1')).toBe(false);
    expect(await ca.zcard(keys.keySlots('k1'))).toBe(2);
    expect(await onB.release('s1', 'hub-b/7', 'k1')).toBe(true);
    expect(await onA.claim('s4', 'hub-a/4', 'sec-4', undefined, slot())).toMatchObject({ ok: true, fresh: true });
    // A dead hub's slots expire unless renewed: renewed ones stay, the other goes.
    await onA.renew([{ streamId: 's4', keyId: 'k1' }], 100_000);
    expect(await onB.claim('s5', 'hub-b/5', 'sec-5', undefined, slot(90_000))).toMatchObject({ ok: true, fresh: true });
    expect((await ca.zrange(keys.keySlots('k1'), 0, -1)).sort()).toEqual(['s4', 's5']);
    expect(won).toMatch(/^s[23]$/);
  });

  it('a resume with another stream key through another hub moves the id to that key: it never counts against both', async () => {
    const { keys, ca, onA, onB } = await twoHubsOwners();
    const key = (keyId: string, nowMs = 1_000) => ({ keyId, max: 1, nowMs });
    expect(await onA.claim('m1', 'hub-a/1', 'sec-1', undefined, key('k1'))).toMatchObject({ ok: true, fresh: true });
    // Its publisher resumes through hub B with its secret and another key (hub B never saw k1).
    expect(await onB.claim('m1', 'hub-b/1', 'ignored', 'sec-1', key('k2'))).toMatchObject({ ok: true, fresh: false });
    expect(await ca.zrange(keys.keySlots('k1'), 0, -1)).toEqual([]);
    expect(await ca.zrange(keys.keySlots('k2'), 0, -1)).toEqual(['m1']);
    // k1's slot is free at once (before: held up to 60 s, refusing k1's next broadcast at a cap of 1).
    expect(await onA.claim('m2', 'hub-a/2', 'sec-2', undefined, key('k1'))).toMatchObject({ ok: true, fresh: true });
    // Hub A keeps its reservation of m1 under k1 until its old session ends: its renewals do not put m1 back there.
    await onA.renew(
      [
        { streamId: 'm1', keyId: 'k1' },
        { streamId: 'm2', keyId: 'k1' },
      ],
      2_000,
    );
    expect(await ca.zrange(keys.keySlots('k1'), 0, -1)).toEqual(['m2']);
    // Hub B's renewals keep it in k2's, which is full.
    await onB.renew([{ streamId: 'm1', keyId: 'k2' }], 2_000);
    expect(await ca.zrange(keys.keySlots('k2'), 0, -1)).toEqual(['m1']);
    expect(await onB.claim('m3', 'hub-b/3', 'sec-3', undefined, key('k2'))).toEqual({ ok: false, reason: 'key-full' });
    // Hub A's release (its old connection) leaves k2's slot; hub B's frees it.
    expect(await onA.release('m1', 'hub-a/1', 'k1')).toBe(false);
    expect(await ca.zrange(keys.keySlots('k2'), 0, -1)).toEqual(['m1']);
    expect(await onB.release('m1', 'hub-b/1', 'k2')).toBe(true);
    expect(await ca.zcard(keys.keySlots('k2'))).toBe(0);
  });

  it('a claim the holding hub renews outlives its TTL, so another publisher cannot take a live id; one not renewed expires', async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    const TTL = 600;
    const onA = new SharedStreamOwners(ca, keys, TTL);
    const onB = new SharedStreamOwners(cb, keys, TTL);
    expect(await onA.claim('kept', 'hub-a/1', 'sec-1')).toMatchObject({ ok: true, fresh: true });
    expect(await onA.claim('keyed', 'hub-a/2', 'sec-2', undefined, { keyId: 'k1', max: 4, nowMs: Date.now() })).toMatchObject({ ok: true });
    expect(await onA.claim('dropped', 'hub-a/3', 'sec-3')).toMatchObject({ ok: true, fresh: true });
    // Renewed every third of the TTL for two TTLs (as the hub does), 'dropped' left out: it belongs to a dead hub.
    const until = Date.now() + 2 * TTL;
    while (Date.now() < until) {
      await onA.renew([{ streamId: 'kept' }, { streamId: 'keyed', keyId: 'k1' }], Date.now());
      await new Promise((r) => setTimeout(r, TTL / 3));
    }
    expect(await onB.claim('kept', 'hub-b/9', 'sec-b')).toEqual({ ok: false, reason: 'owned' });
    expect(await onB.claim('keyed', 'hub-b/9', 'sec-b')).toEqual({ ok: false, reason: 'owned' });
    expect(await ca.zrange(keys.keySlots('k1'), 0, -1)).toEqual(['keyed']);
    expect(await onB.claim('dropped', 'hub-b/9', 'sec-b')).toMatchObject({ ok: true, fresh: true });
  });

  it('WHIP records: renewed by their hub while live, kept for the window once the primary died; one a resume elsewhere replaced is left alone', async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    const TTL = 600;
    const onA = new SharedWhipStreams(ca, keys, TTL);
    const onB = new SharedWhipStreams(cb, keys, TTL);
    const rec = (hub: string, resource: string) => ({ hub, resource, primary: 'par-1', tokenHash: 'ab'.repeat(32), secret: 's' });
    await onA.start('live', rec('hub-a', 'hub-a.1'));
    await onA.start('moved', rec('hub-a', 'hub-a.3'));
    await onA.start('ended', rec('hub-a', 'hub-a.4'));
    expect(await onB.get('live')).toEqual(rec('hub-a', 'hub-a.1'));
    // 'moved' resumed through hub b: hub a's later keep and stop (its resource dropped late) leave b's record as it is.
    await onB.start('moved', rec('hub-b', 'hub-b.1'));
    await onA.keep('moved', 'hub-a.3', 60_000);
    await onA.stop('moved', 'hub-a.3');
    expect(await onA.get('moved')).toEqual(rec('hub-b', 'hub-b.1'));
    await onA.stop('ended', 'hub-a.4');
    expect(await onB.get('ended')).toBeUndefined();
    // Renewed every third of the TTL for two TTLs, as SharedCluster does; 'dead-hub' is a dead hub's (nobody renews it).
    const dead = new SharedWhipStreams(cb, keys, TTL);
    await dead.start('dead-hub', rec('hub-c', 'hub-c.1'));
    const until = Date.now() + 2 * TTL;
    while (Date.now() < until) {
      await Promise.all([onA.renew(), onB.renew()]);
      await new Promise((r) => setTimeout(r, TTL / 3));
    }
    expect(await onB.get('live')).toEqual(rec('hub-a', 'hub-a.1'));
    expect(await onA.get('moved')).toEqual(rec('hub-b', 'hub-b.1'));
    expect(await onB.get('dead-hub')).toBeUndefined();
    // The primary died: kept for the window, no longer renewed.
    await onA.keep('live', 'hub-a.1', TTL);
    const gone = Date.now() + 2 * TTL;
    while (Date.now() < gone) {
      await onA.renew();
      await new Promise((r) => setTimeout(r, TTL / 3));
    }
    expect(await onB.get('live')).toBeUndefined();
  });

  it('refuses a token nonce replayed on another hub', async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    expect(await new SharedNonces(ca, keys).accept('n1', Date.now() + 60_000)).toBe(true);
    expect(await new SharedNonces(cb, keys).accept('n1', Date.now() + 60_000)).toBe(false);
  });

  it("counts an address's requests across hubs: once the cluster spent its window's budget, every hub refuses it until the window ends", async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    let now = 1_000_000;
    const o = { limit: 10, windowMs: 10_000, now: () => now };
    const [a, b] = [new SharedRateWindows(ca, keys, o), new SharedRateWindows(cb, keys, o)];
    // Each hub alone is under the limit (6 each), together they are over it (12).
    for (let i = 0; i < 6; i++) expect([a.take('1.2.3.4'), b.take('1.2.3.4')]).toEqual([true, true]);
    expect(a.take('5.6.7.8')).toBe(true);
    await a.sync();
    expect(a.take('1.2.3.4')).toBe(true); // 6 of 10 known so far
    await b.sync();
    await a.sync();
    expect(b.take('1.2.3.4')).toBe(false);
    expect(a.take('1.2.3.4')).toBe(false);
    expect(a.take('5.6.7.8')).toBe(true); // another address keeps its own budget
    now += 10_000; // the next window
    expect([a.take('1.2.3.4'), b.take('1.2.3.4')]).toEqual([true, true]);
  });

  it("tells each hub what an address's sessions are on the others, ignores a dead hub's stale count, and bounds its lookups", async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    let now = 5_000_000;
    const heldOnA = new Map([['1.1.1.1', { open: 3, unconnected: 2 }]]);
    const a = new SharedIpSessions(ca, keys, { hubId: 'hub-a', local: () => heldOnA, now: () => now });
    const b = new SharedIpSessions(cb, keys, { hubId: 'hub-b', local: () => new Map(), now: () => now, maxLookups: 2 });
    await a.sync();
    await b.lookUp('1.1.1.1');
    expect(b.elsewhere('1.1.1.1')).toEqual({ open: 3, unconnected: 2 });
    expect(a.elsewhere('1.1.1.1')).toEqual({ open: 0, unconnected: 0 }); // its own count is not "elsewhere"
    // A hub that died left its field; once it is older than the stale bound it no longer counts.
    await ca.hset(keys.ipSessions('2.2.2.2'), 'hub-dead', `5,5,${now - 10_000}`, 'hub-a', `1,1,${now}`);
    now += 1_000;
    await b.lookUp('2.2.2.2');
    expect(b.elsewhere('2.2.2.2')).toEqual({ open: 1, unconnected: 1 });
    await b.lookUp('3.3.3.3');
    expect(b.lookedUp).toBe(2); // bound 2: the oldest lookup ('1.1.1.1') was forgotten
    expect(b.elsewhere('1.1.1.1')).toBeUndefined();
    // A hub that stops removes its counts at once.
    await a.stop();
    expect(await ca.hgetall(keys.ipSessions('1.1.1.1'))).toEqual({});
  });

  it('bounds the addresses a hub counts, sends the busiest first, and keeps answering while Redis is away', async () => {
    const keys = fresh();
    const c = client();
    await waitFor('client ready', () => c.status === 'ready');
    const now = 2_000_000;
    const r = new SharedRateWindows(c, keys, { limit: 3, now: () => now, maxKeys: 4, maxSyncKeys: 2 });
    for (const [ip, n] of [
      ['a', 1],
      ['b', 5],
      ['c', 4],
      ['d', 2],
      ['e', 9],
    ] as const)
      for (let i = 0; i < n; i++) expect(r.take(ip)).toBe(true);
    expect(r.pendingKeys).toBe(4); // 'e' came fifth: not counted
    await r.sync();
    expect(r.pendingKeys).toBe(2); // 'b' (5) and 'c' (4) sent; 'a' and 'd' wait
    expect(r.overKeys).toBe(2);
    expect([r.take('b'), r.take('c'), r.take('a')]).toEqual([false, false, true]);
    const errors: Error[] = [];
    const away = new SharedRateWindows(connectRedis(`redis://127.0.0.1:${await freePort()}`), keys, {
      limit: 1,
      onError: (e) => errors.push(e),
    });
    expect([away.take('x'), away.take('x')]).toEqual([true, true]);
    await away.sync();
    expect(errors.length).toBe(1);
    expect(away.take('x')).toBe(true);
  });

  it('judges liveness by heartbeat keys, whichever hub wrote them', async () => {
    const keys = fresh();
    const [ca, cb] = [client(), client()];
    await waitFor('clients ready', () => ca.status === 'ready' && cb.status === 'ready');
    const viaA = new SharedHeartbeats(ca, keys, 'hub-a', 400);
    const viaB = new SharedHeartbeats(cb, keys, 'hub-b', 60_000);
    await viaA.beat(['s1', 's2']);
    await viaB.beat(['s3']); // s3 moved to hub-b
    expect(await viaB.hubsOf(['s1', 's3'])).toEqual(['hub-a', 'hub-b']);
    // hub-a dies; s2 moves to hub-b and keeps beating there; s1 is really gone.
    await viaB.beat(['s2']);
    const dead = await waitFor('s1 expires', async () => {
      const d = await viaB.expired(['s1', 's2', 's3']);
      return d.length > 0 ? d : undefined;
    });
    expect(dead).toEqual(['s1']);
  });
});

describe('Redis outage', () => {
  it('commands fail fast while Redis is down (nothing queued), and the clients reconnect when it returns with its data', async () => {
    const keys = fresh();
    const c = client();
    await waitFor('client ready', () => c.status === 'ready');
    const log = new RedisDeltaLog(c, keys);
    await log.append([{ type: 'server-left', id: 'a', reason: 'x' }]);
    await redis.stop(true);
    await waitFor('client notices', () => c.status !== 'ready');
    await expect(log.append([{ type: 'server-left', id: 'b', reason: 'x' }])).rejects.toThrow();
    await redis.restart();
    await waitFor('client reconnects', () => c.status === 'ready', 15_000);
    expect(await log.version()).toBe(1); // the refused append was not queued and replayed
    await expect(log.append([{ type: 'server-left', id: 'c', reason: 'x' }])).resolves.toEqual([2]);
  });

  it('a hung Redis (SIGSTOP) makes commands time out instead of hanging the hub', async () => {
    const keys = fresh();
    const c = client();
    await waitFor('client ready', () => c.status === 'ready');
    const log = new RedisDeltaLog(c, keys);
    redis.pause();
    try {
      await expect(log.version()).rejects.toThrow(/timed out/i);
    } finally {
      redis.resume();
    }
    await expect(log.version()).resolves.toBe(0);
  });

  it('the probe: a frozen Redis reads unreachable within seconds; this process stalling 2.5 s right after a ping does not', async () => {
    const c = client();
    await waitFor('client ready', () => c.status === 'ready');
    const probe = new RedisProbe(c);
    probe.start();
    try {
      // A stall of our own: the ping's answer waits unread in the socket and its command timeout fires late.
      const sent = new Promise<void>((resolve) => {
        const ping = c.ping.bind(c);
        c.ping = ((...a: unknown[]) => {
          c.ping = ping;
          const p = (ping as (...x: unknown[]) => Promise<string>)(...a);
          // Busy at once, before the loop can read the answer: no I/O, no timers for 2.5 s.
          const t = Date.now();
          while (Date.now() - t < 2_500) {
            // busy
          }
          resolve();
          return p;
        }) as typeof c.ping;
      });
      await sent;
      const readings: boolean[] = [];
      const watch = setInterval(() => readings.push(probe.reachable), 20);
      readings.push(probe.reachable);
      await new Promise((r) => setTimeout(r, 1_200));
      clearInterval(watch);
      expect(readings.length).toBeGreaterThan(10);
      expect(readings.every(Boolean)).toBe(true);
      // Redis frozen: unreachable within a few seconds, reachable again once it answers.
      redis.pause();
      try {
        await waitFor('the probe calls a frozen Redis unreachable', () => !probe.reachable, 6_000, 50);
        // And it stays so while this process is also busy (1 s stalls, 1 s free): a stall is not an answer.
        const t0 = Date.now();
        const readings: boolean[] = [];
        while (Date.now() - t0 < 8_000) {
          const end = Date.now() + 1_000;
          while (Date.now() < end) {
            // busy
          }
          await new Promise((r) => setTimeout(r, 1_000));
          readings.push(probe.reachable);
        }
        expect(readings.slice(-2)).toEqual([false, false]);
      } finally {
        redis.resume();
      }
      await waitFor('reachable again', () => probe.reachable, 6_000, 50);
    } finally {
      probe.stop();
    }
  }, 45_000);
});
