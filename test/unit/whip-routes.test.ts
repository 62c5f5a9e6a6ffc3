// The hub's WHIP routes against a fake hub: resource bound, Link headers, and the end of a resource when its primary goes.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { WhipRoutes } from '../../signaling/whip-routes.js';
import type { WhipHost, WhipStreams } from '../../signaling/whip-host.js';
import type { WhipStreamRecord } from '../../signaling/redis/shared-whip.js';
import { expectRestartOfADrops } from '../helpers/restart-routes.js';
import type { Ack, PublishReply } from '../../signaling/protocol/index.js';
import type { PlaceOn } from '../../signaling/core/publish-router.js';

const OFFER = readFileSync(join(import.meta.dirname, '../fixtures/whip-offer.sdp'), 'utf8');
const choice = (serverId: string, sessionId: string) => ({
  serverId,
  region: 'r',
  rttMs: 1,
  from: { lat: 0, lon: 0, label: 'x', source: 'typed' as const },
  loadFactor: 0,
  sessionId,
});

/** A hub that places every broadcast on `a` (primary) and `b` (backup) and whose `a` answers every offer. */
function fakeHub() {
  const sessions = new Map<string, { clientSocketId: string; serverId: string }>();
  const alive = new Set(['a', 'b']);
  const emitted: [string, string, unknown][] = [];
  const requests: { serverId: string; event: string; msg: unknown }[] = [];
  const publishes: { exclude?: string[]; streamSecret?: string; on?: PlaceOn }[] = [];
  /** Each server's process, as its table row says. */
  const instances = new Map([
    ['a', 'a-process-1'],
    ['b', 'b-process-1'],
  ]);
  /** Unfinished copies by stream id (what the state table would say). */
  const copies = new Map<string, string[]>();
  let n = 0;
  const host: WhipHost = {
    publish: async (clientId, req, _ip, on) => {
      publishes.push({ ...req, ...(on ? { on } : {}) });
      const [primary, backup] = ['a', 'b'].filter((x) => alive.has(x) && !req.exclude?.includes(x) && (!on || on.servers.includes(x)));
      const p = `s${++n}p`;
      const b = `s${n}b`;
      sessions.set(p, { clientSocketId: clientId, serverId: primary! });
      if (backup) sessions.set(b, { clientSocketId: clientId, serverId: backup });
      return {
        ok: true,
        streamId: req.streamId!,
        streamSecret: `secret-of-${req.streamId}`.padEnd(43, '-'),
        primary: choice(primary!, p),
        backup: backup ? choice(backup, b) : null,
        ipUnknown: true,
        epoch: 1,
      } satisfies Ack<PublishReply>;
    },
    clientIp: () => null,
    emit: (serverId, event, msg) => {
      emitted.push([serverId, event, msg]);
      return alive.has(serverId);
    },
    request: async <T extends object>(serverId: string, event: string, msg: unknown) => {
      requests.push({ serverId, event, msg });
      return { ok: true, sdp: 'v=0\r\nanswer' } as unknown as Ack<T>;
    },
    session: (id) => sessions.get(id),
    serverIds: () => [...alive],
    instanceOf: (id) => instances.get(id),
    liveCopies: (id) => copies.get(id) ?? [],
    storedCopies: () => [],
    hasSessions: (clientId) => [...sessions.values()].some((s) => s.clientSocketId === clientId),
    closeClient: (clientId) => {
      for (const [id, s] of sessions) if (s.clientSocketId === clientId) sessions.delete(id);
    },
    leave: (clientId, sessionId) => {
      if (sessions.get(sessionId)?.clientSocketId === clientId) sessions.delete(sessionId);
    },
    iceServers: [{ urls: 'stun:stun.example.net:3478' }, { urls: ['turn:turn.example.net:3478'], username: 'u', credential: 'p' }],
    log: pino({ level: 'silent' }),
  };
  return { host, sessions, alive, emitted, requests, publishes, copies, instances };
}

let server: Server | undefined;
afterEach(() => server?.close());

/**
 * Two hubs, `ha` and `hb`, over one table (`fakeHub`): Redis's WHIP records as a map, the mesh as a direct call to the
 * other hub's routes; a hub in `dead` does not answer. Requests reach `hb` (`base`).
 */
async function twoHubs() {
  const hub = fakeHub();
  const records = new Map<string, WhipStreamRecord>();
  const streams: WhipStreams = {
    start: async (id, r) => void records.set(id, r),
    keep: async () => undefined,
    stop: async (id, resource) => void (records.get(id)?.resource === resource && records.delete(id)),
    finish: async (id, r, holders) => void records.set(id, { ...r, holders: holders.join(',') }),
    get: async (id) => records.get(id),
  };
  const dead = new Set<string>();
  const relayed: string[] = [];
  const routes: Record<string, WhipRoutes> = {};
  for (const hubId of ['ha', 'hb'])
    routes[hubId] = new WhipRoutes({
      ...hub.host,
      hubId,
      streams,
      forward: async (owner, _route, req) => {
        if (dead.has(owner)) throw new Error('no answer');
        relayed.push(`${req.method} ${owner}`);
        return routes[owner]!.answerForwarded(req);
      },
    });
  const base = await serve(routes.hb!);
  const postA = (id: string) =>
    routes.ha!.answerForwarded({
      method: 'POST',
      path: `/whip/${id}?location=Paris`,
      authorization: 'Bearer k',
      contentType: 'application/sdp',
      body: OFFER,
    });
  return { hub, records, dead, relayed, base, postA };
}

async function serve(routes: WhipRoutes): Promise<string> {
  server = createServer((req, res) => routes.handle(req, res, (req.url ?? '/').split('?')[0]!));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The tests' WHIP_PRIMARY_AWAY_MS. */
const AWAY_MS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const post = (base: string, id: string) =>
  fetch(`${base}/whip/${id}?location=Paris`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: 'Bearer k' },
    body: OFFER,
  });

/** A re-POST of `id` with another stream key than the one that started it: 409. */
async function expectStrangerRefused(base: string, id: string): Promise<void> {
  const stranger = await fetch(`${base}/whip/${id}?location=Paris`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: 'Bearer someone-else' },
    body: OFFER,
  });
  expect(stranger.status).toBe(409);
  expect(await stranger.text()).toMatch(/only the stream key that started it/);
}

describe('WhipRoutes', () => {
  it('answers 201 with Location and one Link header per ICE server', async () => {
    const hub = fakeHub();
    const base = await serve(new WhipRoutes(hub.host));
    const r = await post(base, 'show');
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toMatch(/^\/whip\/show\/[A-Za-z0-9_-]{8,}$/);
    expect(r.headers.get('link')).toBe(
      '<stun:stun.example.net:3478>; rel="ice-server", <turn:turn.example.net:3478>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
    );
    expect(r.headers.get('x-baton-primary')).toBe('a');
    expect(await r.text()).toBe('v=0\r\nanswer');
  });

  it("places a replacement entry server for its primary (whip-replace) with the POST's key, place and the stream's secret; refuses anyone else", async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host);
    const base = await serve(routes);
    const r = await post(base, 'show');
    expect(r.status).toBe(201);
    const resourceId = r.headers.get('location')!.split('/').at(-1)!;
    const replace = (serverId: string, msg: unknown) =>
      new Promise<Ack<PublishReply>>((resolve) => routes.onServerReplace(serverId, msg, resolve));
    const publishes = hub.publishes.length;
    // Malformed, another server (not the primary), an unknown resource: refused, nothing placed.
    expect(await replace('a', { resourceId, exclude: 'b' })).toMatchObject({ ok: false, code: 'bad-request' });
    expect(await replace('a', { resourceId, exclude: Array(17).fill('b') })).toMatchObject({ ok: false, code: 'bad-request' });
    expect(await replace('b', { resourceId, exclude: ['b'] })).toMatchObject({ ok: false, code: 'not-party' });
    expect(await replace('a', { resourceId: 'no-such-resource', exclude: [] })).toMatchObject({ ok: false, code: 'not-party' });
    expect(hub.publishes).toHaveLength(publishes);
    // Its primary: a publish for the resource's client, as its browser publisher would ask again.
    const a = await replace('a', { resourceId, exclude: ['b'] });
    expect(a.ok).toBe(true);
    expect(hub.publishes.at(-1)).toEqual({
      streamKey: 'k',
      location: 'Paris',
      streamId: 'show',
      streamSecret: 'secret-of-show'.padEnd(43, '-'),
      exclude: ['b'],
    });
    const session = a.ok ? hub.sessions.get(a.primary.sessionId) : undefined;
    expect(session?.clientSocketId).toBe(hub.sessions.get('s1p')!.clientSocketId);
  });

  it('refuses a broadcast past maxResources with 503, without placing it', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { maxResources: 2 });
    const base = await serve(routes);
    expect((await post(base, 'one')).status).toBe(201);
    expect((await post(base, 'two')).status).toBe(201);
    const third = await post(base, 'three');
    expect(third.status).toBe(503);
    expect(await third.text()).toMatch(/2 WHIP broadcasts already/);
    expect(hub.sessions.size).toBe(4);
    expect(routes.size).toBe(2);
  });

  it('POSTs arriving together cannot overshoot maxResources (each holds its slot while it is placed)', async () => {
    const hub = fakeHub();
    const publish = hub.host.publish;
    // The director answers after the other POSTs have arrived.
    hub.host.publish = async (...a) => {
      await sleep(50);
      return publish(...(a as Parameters<typeof publish>));
    };
    const routes = new WhipRoutes(hub.host, { maxResources: 2 });
    const base = await serve(routes);
    const replies = await Promise.all(['one', 'two', 'three', 'four'].map((id) => post(base, id)));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 201, 503, 503]);
    expect(routes.size).toBe(2);
    expect(hub.publishes).toHaveLength(2);
  });

  it('ends a resource (closing its backup session) when its primary stays gone, and when its last session closed', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { primaryAwayMs: AWAY_MS });
    const base = await serve(routes);
    const location = (await post(base, 'show')).headers.get('location')!;
    const clientId = hub.sessions.get('s1p')!.clientSocketId;
    // The primary died: the hub dropped its session and tells the (dead) primary's relay.
    hub.alive.delete('a');
    hub.sessions.delete('s1p');
    expect(routes.deliver(clientId, 'session-close', { sessionId: 's1p', reason: 'server-gone' })).toBe(true);
    // It may come back (a stalled process): the resource waits for it, then ends.
    expect(routes.size).toBe(1);
    await sleep(AWAY_MS * 3);
    expect(routes.size).toBe(0);
    expect(hub.sessions.has('s1b')).toBe(false);
    expect((await fetch(`${base}${location}`, { method: 'DELETE', headers: { authorization: 'Bearer k' } })).status).toBe(404);

    hub.alive.add('a');
    await post(base, 'other');
    const other = hub.sessions.get('s2p')!.clientSocketId;
    hub.sessions.delete('s2p');
    routes.deliver(other, 'session-close', { sessionId: 's2p' });
    expect(routes.size).toBe(1);
    hub.sessions.delete('s2b');
    routes.deliver(other, 'session-close', { sessionId: 's2b' });
    expect(routes.size).toBe(0);
  });

  it('resumes a broadcast whose primary died on the server holding its copy, for the same stream key only', async () => {
    const hub = fakeHub();
    const base = await serve(new WhipRoutes(hub.host));
    expect((await post(base, 'show')).headers.get('x-baton-primary')).toBe('a');
    // `a` dies; its copy is gone with it, `b` holds the other. The re-POST comes before any session close.
    hub.alive.delete('a');
    hub.copies.set('show', ['b']);
    await expectStrangerRefused(base, 'show');
    const again = await post(base, 'show');
    expect(again.status).toBe(201);
    expect(again.headers.get('x-baton-primary')).toBe('b');
    expect(again.headers.get('x-baton-resumed')).toBe('true');
    expect(hub.publishes.at(-1)).toMatchObject({ streamSecret: 'secret-of-show'.padEnd(43, '-'), on: { servers: ['b'], reopen: false } });
    expect(hub.requests.at(-1)).toMatchObject({ serverId: 'b', event: 'whip-offer', msg: { streamId: 'show', resume: true } });
  });

  it('several hubs: a re-POST through another hub is relayed to the hub holding the broadcast, which resumes it', async () => {
    const { hub, records, relayed, base, postA } = await twoHubs();
    const first = await postA('show');
    expect(first.status).toBe(201);
    expect(records.get('show')).toMatchObject({ hub: 'ha', primary: 'a' });
    hub.alive.delete('a');
    hub.copies.set('show', ['b']);
    await expectStrangerRefused(base, 'show');
    const again = await post(base, 'show');
    expect(again.status).toBe(201);
    expect(again.headers.get('x-baton-resumed')).toBe('true');
    expect(again.headers.get('location')).toMatch(/^\/whip\/show\/ha\./);
    expect(relayed).toEqual(['OPTIONS ha', 'POST ha', 'OPTIONS ha', 'POST ha']);
    expect(hub.requests.at(-1)).toMatchObject({ serverId: 'b', event: 'whip-offer', msg: { streamId: 'show', resume: true } });
    expect(records.get('show')).toMatchObject({ hub: 'ha', primary: 'b' });
  });

  it('several hubs: when the hub holding the broadcast died, the record in Redis is the window (on air while its primary is up)', async () => {
    const { hub, dead, relayed, base, postA } = await twoHubs();
    expect((await postA('show')).status).toBe(201);
    dead.add('ha');
    hub.copies.set('show', ['a', 'b']);
    const onAir = await post(base, 'show');
    expect(onAir.status).toBe(409);
    expect(await onAir.text()).toMatch(/is on air/);
    hub.alive.delete('a');
    hub.copies.set('show', ['b']);
    const again = await post(base, 'show');
    expect(again.status).toBe(201);
    expect(again.headers.get('x-baton-resumed')).toBe('true');
    expect(again.headers.get('location')).toMatch(/^\/whip\/show\/hb\./);
    expect(hub.publishes.at(-1)).toMatchObject({ streamSecret: 'secret-of-show'.padEnd(43, '-'), on: { servers: ['b'], reopen: false } });
    expect(relayed).toEqual([]);
  });

  it('a POST with another key while the primary is away is refused and ends nothing', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { primaryAwayMs: 2_000 });
    const base = await serve(routes);
    const location = (await post(base, 'show')).headers.get('location')!;
    hub.alive.delete('a');
    const stranger = await fetch(`${base}/whip/show?location=Paris`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer someone-else' },
      body: OFFER,
    });
    expect(stranger.status).toBe(409);
    expect(routes.size).toBe(1);
    expect(hub.sessions.has('s1b')).toBe(true);
    // The broadcaster's own DELETE still finds its broadcast once the primary is back.
    hub.alive.add('a');
    expect((await fetch(`${base}${location}`, { method: 'DELETE', headers: { authorization: 'Bearer k' } })).status).toBe(200);
  });

  it('remembers at most maxResources resumable broadcasts: the oldest is forgotten (and finalized when abandoned)', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { maxResources: 2, primaryAwayMs: AWAY_MS });
    const base = await serve(routes);
    for (const id of ['x1', 'x2', 'x3']) {
      hub.alive.add('a');
      expect((await post(base, id)).status).toBe(201);
      hub.copies.set(id, ['b']);
      // Its primary dies: the hub closes the primary's session.
      hub.alive.delete('a');
      const s = [...hub.sessions].find(([, v]) => v.serverId === 'a')!;
      hub.sessions.delete(s[0]);
      routes.deliver(s[1].clientSocketId, 'session-close', { sessionId: s[0] });
      await sleep(AWAY_MS * 3);
    }
    expect(routes.size).toBe(0);
    const oldest = await post(base, 'x1');
    expect(oldest.status).toBe(409);
    expect(await oldest.text()).toMatch(/finalized once abandoned/);
    expect((await post(base, 'x3')).status).toBe(201);
  });

  it('keeps a resource whose primary only looked dead: a DELETE waits for it to register again, then ends the broadcast there', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { primaryAwayMs: 2_000 });
    const base = await serve(routes);
    const location = (await post(base, 'show')).headers.get('location')!;
    const clientId = hub.sessions.get('s1p')!.clientSocketId;
    hub.alive.delete('a');
    hub.sessions.delete('s1p');
    routes.deliver(clientId, 'session-close', { sessionId: 's1p', reason: 'server-gone' });
    const deleting = fetch(`${base}${location}`, { method: 'DELETE', headers: { authorization: 'Bearer k' } });
    await sleep(300);
    expect(hub.requests.some((r) => r.event === 'whip-end')).toBe(false);
    hub.alive.add('a');
    expect((await deleting).status).toBe(200);
    expect(hub.requests.at(-1)).toMatchObject({ serverId: 'a', event: 'whip-end' });
    expect(routes.size).toBe(0);
  });

  it('answers a DELETE 502 when the primary does not come back, and the broadcast stays resumable on the backup', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { primaryAwayMs: AWAY_MS });
    const base = await serve(routes);
    const location = (await post(base, 'show')).headers.get('location')!;
    hub.alive.delete('a');
    hub.copies.set('show', ['b']);
    const r = await fetch(`${base}${location}`, { method: 'DELETE', headers: { authorization: 'Bearer k' } });
    expect(r.status).toBe(502);
    expect(await r.text()).toMatch(/entry server a went away before the broadcast ended; the backup keeps its copy/);
    expect(hub.requests.some((x) => x.event === 'whip-end')).toBe(false);
    expect(routes.size).toBe(0);
    const again = await post(base, 'show');
    expect(again.status).toBe(201);
    expect(again.headers.get('x-baton-resumed')).toBe('true');
  });

  it('ends a broadcast at once when its primary registers as another process (restarted), resumable; a reconnect keeps it', async () => {
    const hub = fakeHub();
    const routes = new WhipRoutes(hub.host, { primaryAwayMs: 60_000 });
    const base = await serve(routes);
    expect((await post(base, 'show')).status).toBe(201);
    expectRestartOfADrops(routes, hub.instances, 1);
    // Its upload sessions were closed (the backup keeps its copy), and the same key may resume it.
    expect(hub.sessions.size).toBe(0);
    hub.copies.set('show', ['b']);
    expect((await post(base, 'show')).status).toBe(201);
    expect(hub.publishes.at(-1)?.streamSecret).toBeDefined();
  });

  it('leaves clients that are not WHIP resources to the hub', () => {
    const routes = new WhipRoutes(fakeHub().host);
    expect(routes.deliver('socket-id-123', 'signal', { sessionId: 'x', data: {} })).toBe(false);
  });
});
