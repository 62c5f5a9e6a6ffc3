// Hub-to-hub messages on a real redis-server: an ask reaches only the hub holding the server and comes back, a server's answer about a session goes to the hub that opened it, a server that moved is found through the fallback, and every bound is reached.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerPeer } from '../../signaling/core/link.js';
import { logger } from '../../signaling/log.js';
import { Redis } from 'ioredis';
import { HubMesh, type HubMeshDeps, type MeshLimits } from '../../signaling/redis/hub-mesh.js';
import { MAX_HELD_PER_SESSION } from '../../signaling/redis/session-routes.js';
import { LAZY_MS, MAX_MESSAGES_PER_ENTRY } from '../../signaling/redis/inbox-writer.js';
import { clusterKeys } from '../../signaling/redis/keys.js';
import { waitFor } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';

let redis: RedisProcess;
let prefixN = 0;
const meshes: HubMesh[] = [];

/** A media server's connection as a hub holds it: records what it is sent and answers asks. */
class ServerSocket implements ServerPeer {
  readonly got: { event: string; msg: unknown }[] = [];
  connected = true;
  disconnected = false;
  answer: (event: string, msg: unknown) => Promise<unknown> = async (event) => ({ ok: true, event });
  send(event: string, msg: unknown): void {
    this.got.push({ event, msg });
  }
  ask(event: string, msg: unknown): Promise<unknown> {
    this.got.push({ event, msg });
    return this.answer(event, msg);
  }
  disconnect(): void {
    this.disconnected = true;
  }
}

/** Every message that went the expensive way (the adapter), by server. */
class Fallback {
  readonly sent: { server: string; event: string }[] = [];
  readonly asked: { server: string; event: string }[] = [];
  peer(server: string): ServerPeer {
    return {
      send: (event) => void this.sent.push({ server, event }),
      ask: async (event) => {
        this.asked.push({ server, event });
        return { ok: true, via: 'adapter' };
      },
      connected: true,
      disconnect: () => undefined,
    };
  }
}

interface TestHub {
  mesh: HubMesh;
  servers: Map<string, ServerSocket>;
  fallback: Fallback;
  sessions: { server: string; event: string; msg: unknown }[];
  broadcasts: { server: string; event: string }[];
}

/** Hubs sharing one prefix; `where` says which hub each server beats through (the heartbeat keys' answer). */
async function hubs(
  ids: string[],
  where: Map<string, string>,
  limits?: Partial<MeshLimits>,
  instances?: Map<string, string>,
): Promise<TestHub[]> {
  const keys = clusterKeys(`mesh${++prefixN}:`);
  const out: TestHub[] = [];
  for (const hubId of ids) {
    const servers = new Map<string, ServerSocket>();
    const fallback = new Fallback();
    const deps: HubMeshDeps = {
      url: redis.url,
      keys,
      hubId,
      log: logger('test'),
      locate: async (sids) => sids.map((s) => where.get(s) ?? null),
      local: (s) => servers.get(s),
      fallback: (s) => fallback.peer(s),
      limits,
      instanceOf: (s) => instances?.get(s),
    };
    const mesh = new HubMesh(deps);
    const h: TestHub = { mesh, servers, fallback, sessions: [], broadcasts: [] };
    mesh.bind({
      onSession: (server, event, msg) => void h.sessions.push({ server, event, msg }),
      broadcastSession: (server, event) => void h.broadcasts.push({ server, event }),
    });
    await mesh.start();
    meshes.push(mesh);
    out.push(h);
  }
  return out;
}

/** Hubs A and B, server s-b on B, A's peer for it, and a Redis client to read B's inbox with. */
async function withInboxOfB(
  run: (o: { a: TestHub; peer: ServerPeer; s: ServerSocket; r: Redis; inbox: string }) => Promise<void>,
): Promise<void> {
  const [a, b] = await hubs(['hub-a', 'hub-b'], new Map([['s-b', 'hub-b']]));
  const s = new ServerSocket();
  b!.servers.set('s-b', s);
  const r = new Redis(redis.url);
  try {
    await run({ a: a!, peer: a!.mesh.peer('s-b'), s, r, inbox: clusterKeys(`mesh${prefixN}:`).inbox('hub-b') });
  } finally {
    r.disconnect();
  }
}

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(meshes.splice(0).map((m) => m.stop()));
});
afterAll(async () => {
  await redis?.stop();
});

describe('hub mesh (real redis-server)', () => {
  it('an ask goes to the hub holding the server and its answer comes back; the server’s session messages go to the asking hub only', async () => {
    const where = new Map([['s-b', 'hub-b']]);
    const [a, b, c] = await hubs(['hub-a', 'hub-b', 'hub-c'], where);
    const s = new ServerSocket();
    b!.servers.set('s-b', s);

    const answer = await a!.mesh.peer('s-b').ask('session-open', { sessionId: 'sess-1', assetId: 'x' }, 2_000);
    expect(answer).toEqual({ ok: true, event: 'session-open' });
    expect(s.got).toEqual([{ event: 'session-open', msg: { sessionId: 'sess-1', assetId: 'x' } }]);

    // Hub A sends a signal; it arrives in order after the open.
    a!.mesh.peer('s-b').send('signal', { sessionId: 'sess-1', n: 1 });
    a!.mesh.peer('s-b').send('signal', { sessionId: 'sess-1', n: 2 });
    await waitFor('signals delivered', async () => s.got.length === 3, 5_000, 10);
    expect(s.got.map((g) => (g.msg as { n?: number }).n)).toEqual([undefined, 1, 2]);

    // The server answers on hub B, which holds no session: it goes to hub A alone, not to C, not broadcast.
    b!.mesh.forwardSession('s-b', 'signal', { sessionId: 'sess-1', sdp: 'answer' }, false);
    b!.mesh.forwardSession('s-b', 'session-close', { sessionId: 'sess-1', reason: 'done' }, true);
    await waitFor('session messages at hub A', async () => a!.sessions.length === 2, 5_000, 10);
    expect(a!.sessions.map((m) => m.event)).toEqual(['signal', 'session-close']);
    expect(c!.sessions).toEqual([]);
    expect(b!.broadcasts).toEqual([]);
    expect(b!.mesh.routes).toBe(0); // the close ended the route

    // A session nobody opened through the mesh: heard by every hub (the adapter), as before.
    b!.mesh.forwardSession('s-b', 'signal', { sessionId: 'sess-unknown' }, false);
    expect(b!.broadcasts).toEqual([{ server: 's-b', event: 'signal' }]);
    expect(a!.fallback.asked.length + a!.fallback.sent.length).toBe(0);
  });

  it('select then open: the director’s hub offers the session to the chosen server it holds; the asker registers it before the server’s messages about it', async () => {
    const where = new Map([
      ['dir', 'hub-b'],
      ['s-b', 'hub-b'],
      ['s-c', 'hub-c'],
    ]);
    const [a, b, c] = await hubs(['hub-a', 'hub-b', 'hub-c'], where);
    const dir = new ServerSocket();
    const sb = new ServerSocket();
    b!.servers.set('dir', dir);
    b!.servers.set('s-b', sb);
    c!.servers.set('s-c', new ServerSocket());
    let chosen = 's-b';
    dir.answer = async () => ({ ok: true, serverId: chosen, epoch: 1 });
    // The server speaks about the session before its yes (a slow answer, then candidates): held until the yes has gone.
    sb.answer = async (_event, msg) => {
      const sessionId = (msg as { sessionId: string }).sessionId;
      for (let i = 0; i < MAX_HELD_PER_SESSION + 3; i++) b!.mesh.forwardSession('s-b', 'signal', { sessionId, n: i }, false);
      await new Promise((r) => setTimeout(r, 50));
      return { ok: true, answer: 'sdp' };
    };
    const opened: unknown[] = [];
    const peer = a!.mesh.peer('dir');
    const r = await peer.selectThenOpen!({ assetId: 'x' }, 1_000, { sessionId: 'p-1' }, 1_000, (answer) => {
      opened.push(answer);
      a!.sessions.push({ server: '', event: 'opened', msg: answer });
    });
    expect(r).toEqual({ select: { ok: true, serverId: 's-b', epoch: 1 }, open: { ok: true, value: { ok: true, answer: 'sdp' } } });
    expect(opened).toEqual([{ ok: true, serverId: 's-b', epoch: 1 }]);
    expect(sb.got).toEqual([{ event: 'session-open', msg: { sessionId: 'p-1' } }]);
    await waitFor('held messages at hub A', async () => a!.sessions.length === 1 + MAX_HELD_PER_SESSION, 5_000, 10);
    // Registered first, then the messages in order; past the bound they were dropped, and counted.
    expect(a!.sessions.map((m) => (m.event === 'opened' ? 'opened' : (m.msg as { n: number }).n))).toEqual([
      'opened',
      ...Array.from({ length: MAX_HELD_PER_SESSION }, (_, i) => i),
    ]);
    expect(b!.mesh.stats.dropped).toBe(3);
    // Once answered, the session's messages go straight to the asker.
    b!.mesh.forwardSession('s-b', 'session-close', { sessionId: 'p-1', reason: 'done' }, true);
    await waitFor('close at hub A', async () => a!.sessions.at(-1)?.event === 'session-close', 5_000, 10);
    expect(b!.mesh.routes).toBe(0);

    // The chosen server is on another hub: the select alone comes back, nothing was offered, no hook ran.
    chosen = 's-c';
    const r2 = await peer.selectThenOpen!({ assetId: 'x' }, 1_000, { sessionId: 'p-2' }, 1_000, () => opened.push('again'));
    expect(r2).toEqual({ select: { ok: true, serverId: 's-c', epoch: 1 } });
    expect(opened).toHaveLength(1);
    // A director that does not answer in time: the asker's error, as an ask's.
    dir.answer = () => new Promise(() => undefined);
    await expect(peer.selectThenOpen!({ assetId: 'x' }, 200, { sessionId: 'p-3' }, 100, () => undefined)).rejects.toThrow(
      /no answer to select/,
    );
    expect(a!.mesh.pendingAsks).toBe(0);
  });

  it('a server that moved (its beat names a hub that no longer holds it) is reached through the fallback', async () => {
    const where = new Map([['s-moved', 'hub-b']]);
    const [a] = await hubs(['hub-a', 'hub-b'], where);
    const answer = await a!.mesh.peer('s-moved').ask('select', { assetId: 'x' }, 2_000);
    expect(answer).toEqual({ ok: true, via: 'adapter' });
    expect(a!.fallback.asked).toEqual([{ server: 's-moved', event: 'select' }]);
    // A server that beats nowhere: straight to the fallback.
    a!.mesh.peer('s-nowhere').send('signal', { sessionId: 'q' });
    await waitFor('fallback send', async () => a!.fallback.sent.length === 1, 2_000, 10);
  });

  it('a server’s refusal and a server that does not answer in time are the asker’s errors', async () => {
    const where = new Map([['s-b', 'hub-b']]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where);
    const s = new ServerSocket();
    b!.servers.set('s-b', s);
    s.answer = async () => {
      throw new Error('operation has timed out');
    };
    await expect(a!.mesh.peer('s-b').ask('select', {}, 2_000)).rejects.toThrow('operation has timed out');
    s.answer = () => new Promise(() => undefined);
    await expect(a!.mesh.peer('s-b').ask('select', {}, 300)).rejects.toThrow(/no answer to select from s-b within 300 ms/);
    expect(a!.mesh.pendingAsks).toBe(0);
  });

  it('an open the server refuses, or that fails, leaves no route behind; an accepted one keeps its route', async () => {
    const where = new Map([
      ['dir', 'hub-b'],
      ['s-b', 'hub-b'],
    ]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where);
    const dir = new ServerSocket();
    const s = new ServerSocket();
    b!.servers.set('dir', dir);
    b!.servers.set('s-b', s);
    const peer = a!.mesh.peer('s-b');
    s.answer = async () => ({ ok: false, code: 'no-capacity', message: 'full' });
    expect(await peer.ask('session-open', { sessionId: 'o-1' }, 2_000)).toMatchObject({ ok: false });
    expect(await peer.ask('whep-offer', { resourceId: 'w-1-aaaaaaaa' }, 2_000)).toMatchObject({ ok: false });
    s.answer = async () => {
      throw new Error('operation has timed out');
    };
    await expect(peer.ask('session-open', { sessionId: 'o-2' }, 2_000)).rejects.toThrow('operation has timed out');
    // Select then open on the director's hub: the chosen server refuses, then fails.
    dir.answer = async () => ({ ok: true, serverId: 's-b', epoch: 1 });
    const place = (sessionId: string) =>
      a!.mesh.peer('dir').selectThenOpen!({ assetId: 'x' }, 1_000, { sessionId }, 1_000, () => undefined);
    await expect(place('o-3')).resolves.toMatchObject({ open: { ok: false } });
    s.answer = async () => ({ ok: false, code: 'no-capacity', message: 'full' });
    await expect(place('o-4')).resolves.toMatchObject({ open: { ok: true, value: { ok: false } } });
    expect(b!.mesh.routes).toBe(0);
    // An accepted open keeps its route; a later refused ask about the same session does not remove it.
    s.answer = async () => ({ ok: true });
    await peer.ask('session-open', { sessionId: 'o-5' }, 2_000);
    s.answer = async () => ({ ok: false, code: 'bad-request', message: 'no' });
    await peer.ask('whep-end', { sessionId: 'o-5' }, 2_000);
    expect(b!.mesh.routes).toBe(1);
  });

  it('a server registering as another process (restarted) takes the routes of its old sessions with it; a reconnect keeps them', async () => {
    const where = new Map([
      ['s-b', 'hub-b'],
      ['s-c', 'hub-b'],
    ]);
    const instances = new Map([
      ['s-b', 's-b-process-1'],
      ['s-c', 's-c-process-1'],
    ]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where, undefined, instances);
    b!.servers.set('s-b', new ServerSocket());
    b!.servers.set('s-c', new ServerSocket());
    await a!.mesh.peer('s-b').ask('session-open', { sessionId: 'k-1' }, 2_000);
    await a!.mesh.peer('s-b').ask('whep-offer', { resourceId: 'k-2-aaaaaaaa' }, 2_000);
    await a!.mesh.peer('s-c').ask('session-open', { sessionId: 'k-3' }, 2_000);
    expect(b!.mesh.routes).toBe(3);
    b!.mesh.serverJoined('s-b', 's-b-process-1');
    expect(b!.mesh.routes).toBe(3);
    instances.set('s-b', 's-b-process-2');
    b!.mesh.serverJoined('s-b', 's-b-process-2');
    expect(b!.mesh.routes).toBe(1);
    // The other server's session still answers straight to hub A.
    b!.mesh.forwardSession('s-c', 'signal', { sessionId: 'k-3' }, false);
    await waitFor('k-3 at hub A', async () => a!.sessions.length === 1, 5_000, 10);
  });

  it('bounds: asks in flight, and the routes a hub remembers', async () => {
    const where = new Map([['s-b', 'hub-b']]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where, { pendingAsks: 3, routes: 5 });
    const s = new ServerSocket();
    b!.servers.set('s-b', s);
    s.answer = () => new Promise(() => undefined);
    const peer = a!.mesh.peer('s-b');
    const stuck = [1, 2, 3].map((i) => peer.ask('select', { sessionId: `x${i}` }, 1_000).catch((e: Error) => e.message));
    await expect(peer.ask('select', {}, 1_000)).rejects.toThrow(/too many requests to servers on other hubs in flight \(3\)/);
    await Promise.all(stuck);
    for (let i = 0; i < 8; i++) peer.send('signal', { sessionId: `r${i}` });
    await waitFor('sends delivered', async () => s.got.filter((g) => g.event === 'signal').length === 8, 5_000, 10);
    expect(b!.mesh.routes).toBe(5);
    // The oldest routes went first: their answers are broadcast, the newest still go to hub A.
    b!.mesh.forwardSession('s-b', 'signal', { sessionId: 'r0' }, false);
    b!.mesh.forwardSession('s-b', 'signal', { sessionId: 'r7' }, false);
    expect(b!.broadcasts).toEqual([{ server: 's-b', event: 'signal' }]);
    await waitFor('r7 at hub A', async () => a!.sessions.length === 1, 5_000, 10);
  });

  it('messages for one hub in one turn share inbox entries (at most MAX_MESSAGES_PER_ENTRY each) and arrive in order', async () => {
    await withInboxOfB(async ({ a, peer, s, r, inbox }) => {
      const n = 2 * MAX_MESSAGES_PER_ENTRY + 3;
      for (let i = 0; i < n; i++) peer.send('signal', { sessionId: 'batch', i });
      await waitFor('all delivered', async () => s.got.length === n, 5_000, 10);
      expect(s.got.map((g) => (g.msg as { i: number }).i)).toEqual([...Array(n).keys()]);
      expect(await r.xlen(inbox)).toBe(3);
      // A lone message later is an entry of its own, after the others.
      peer.send('signal', { sessionId: 'batch', i: n });
      await waitFor('the last one delivered', async () => s.got.length === n + 1, 5_000, 10);
      expect(await r.xlen(inbox)).toBe(4);
      expect(a.mesh.stats).toMatchObject({ sent: n + 1, dropped: 0 });
    });
  });

  it('a session’s close waits for the next message to its hub (at most LAZY_MS) and goes ahead of it in one entry', async () => {
    await withInboxOfB(async ({ peer, s, r, inbox }) => {
      peer.send('signal', { sessionId: 'warm' });
      await waitFor('warm-up delivered', async () => s.got.length === 1, 5_000, 10);
      const entries = await r.xlen(inbox);
      // Alone, it goes after LAZY_MS.
      const t0 = performance.now();
      peer.send('session-close', { sessionId: 'c1', reason: 'client-left' });
      await waitFor('lone close delivered', async () => s.got.length === 2, 5_000, 1);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(LAZY_MS - 1);
      expect(await r.xlen(inbox)).toBe(entries + 1);
      // Followed by a signal a few ms later: both in one entry, the close first.
      peer.send('session-close', { sessionId: 'c2', reason: 'client-left' });
      await new Promise((res) => setTimeout(res, 3));
      peer.send('signal', { sessionId: 's3' });
      await waitFor('close and signal delivered', async () => s.got.length === 4, 5_000, 1);
      expect(s.got.slice(2).map((g) => `${g.event}:${(g.msg as { sessionId: string }).sessionId}`)).toEqual([
        'session-close:c2',
        'signal:s3',
      ]);
      expect(await r.xlen(inbox)).toBe(entries + 2);
    });
  });

  it('bound: messages waiting while Redis hangs; the ones kept arrive, in order, when it answers again', async () => {
    const where = new Map([['s-b', 'hub-b']]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where, { unsent: 5 });
    const s = new ServerSocket();
    b!.servers.set('s-b', s);
    const peer = a!.mesh.peer('s-b');
    peer.send('signal', { sessionId: 'warm', n: -1 }); // the location is cached before Redis hangs
    await waitFor('warm-up delivered', async () => s.got.length === 1, 5_000, 10);
    redis.pause();
    try {
      for (let n = 0; n < 8; n++) peer.send('signal', { sessionId: 'h', n });
      await waitFor('sends attempted', async () => a!.mesh.stats.sent + a!.mesh.stats.dropped === 9, 2_000, 10);
      expect(a!.mesh.stats.dropped).toBe(3);
    } finally {
      redis.resume();
    }
    await waitFor('kept ones delivered', async () => s.got.length === 6, 10_000, 20);
    expect(s.got.slice(1).map((g) => (g.msg as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('whether another hub holds a server live: asked of that hub; a dead hub (no reader) holds nothing', async () => {
    const where = new Map([
      ['s-b', 'hub-b'],
      ['s-dead', 'hub-dead'],
    ]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where);
    const s = new ServerSocket();
    b!.servers.set('s-b', s);
    expect(await a!.mesh.liveElsewhere('s-b', 2_000)).toBe('hub-b');
    s.connected = false;
    expect(await a!.mesh.liveElsewhere('s-b', 2_000)).toBeNull();
    expect(await a!.mesh.liveElsewhere('s-dead', 300)).toBeNull();
    expect(await a!.mesh.liveElsewhere('s-unknown', 300)).toBeNull();
  });

  it('an ask waiting on a dead hub goes through the fallback as soon as its server registers again (not at its timeout)', async () => {
    const where = new Map([['s-gone', 'hub-dead']]);
    const [a] = await hubs(['hub-a'], where);
    const t0 = Date.now();
    const asked = a!.mesh.peer('s-gone').ask('select', {}, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    where.set('s-gone', 'hub-a'); // it registered here (or anywhere): the table's server-joined says so
    a!.mesh.forget('s-gone');
    expect(await asked).toEqual({ ok: true, via: 'adapter' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a disconnect reaches the server’s own hub', async () => {
    const where = new Map([['s-b', 'hub-b']]);
    const [a, b] = await hubs(['hub-a', 'hub-b'], where);
    const s = new ServerSocket();
    b!.servers.set('s-b', s);
    a!.mesh.peer('s-b').disconnect();
    await waitFor('disconnected', async () => s.disconnected, 5_000, 10);
  });
});
