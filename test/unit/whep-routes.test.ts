// The hub's WHEP routes against a fake hub: the director's pick in the headers, a second server on refusal, and the per-address and total bounds.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { MAX_ENDED_WHEP_RESOURCES, WhepRoutes, type WhepHost } from '../../signaling/whep-routes.js';
import { expectRestartOfADrops } from '../helpers/restart-routes.js';
import { ackError, type Ack, type SelectDecision } from '../../signaling/protocol/index.js';

const OFFER = readFileSync(join(import.meta.dirname, '../fixtures/whep-offer.sdp'), 'utf8');

/** A hub whose director picks `a` then `b`, and whose servers answer unless listed in `refuse`. */
function fakeHub() {
  const refuse = new Set<string>();
  const ends: string[] = [];
  /** Each server's process, as its table row says. */
  const instances = new Map([
    ['a', 'a-process-1'],
    ['b', 'b-process-1'],
  ]);
  let ip = '10.0.0.1';
  const host: WhepHost = {
    select: async (_assetId, exclude) => {
      const s = ['a', 'b'].find((x) => !exclude.includes(x));
      return s
        ? ({ ok: true, serverId: s, reason: 'cache-hit', loadFactor: 0.1, epoch: 1 } as unknown as Ack<SelectDecision>)
        : ackError('no-capacity', 'none left');
    },
    request: async <T extends object>(serverId: string, event: string, msg: unknown) => {
      if (event === 'whep-end') ends.push((msg as { resourceId: string }).resourceId);
      if (refuse.has(serverId)) return ackError('no-capacity', `${serverId} is full`) as Ack<T>;
      return { ok: true, sdp: `v=0\r\nanswer-from-${serverId}` } as unknown as Ack<T>;
    },
    clientIp: (req) => (req.headers['x-test-ip'] as string | undefined) ?? ip,
    serverIds: () => ['a', 'b'],
    instanceOf: (id) => instances.get(id),
    iceServers: [],
    log: pino({ level: 'silent' }),
  };
  return { host, refuse, ends, instances, setIp: (x: string) => (ip = x) };
}

let server: Server | undefined;
afterEach(() => server?.close());

async function serve(routes: WhepRoutes): Promise<string> {
  server = createServer((req, res) => routes.handle(req, res, (req.url ?? '/').split('?')[0]!));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (base: string, id = 'show', from?: string) =>
  fetch(`${base}/whep/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', ...(from ? { 'x-test-ip': from } : {}) },
    body: OFFER,
  });

describe('WhepRoutes', () => {
  it('answers 201 with the director reason and server, Location, and tries the next server when one is full', async () => {
    const hub = fakeHub();
    const base = await serve(new WhepRoutes(hub.host));
    const r = await post(base);
    expect(r.status).toBe(201);
    expect(r.headers.get('x-baton-reason')).toBe('cache-hit');
    expect(r.headers.get('x-baton-server')).toBe('a');
    expect(r.headers.get('location')).toMatch(/^\/whep\/show\/[A-Za-z0-9_-]{8,}$/);
    expect(r.headers.get('access-control-expose-headers')).toMatch(/location/);
    expect(await r.text()).toBe('v=0\r\nanswer-from-a');
    hub.refuse.add('a');
    const next = await post(base);
    expect(next.headers.get('x-baton-server')).toBe('b');
    const del = await fetch(new URL(next.headers.get('location')!, base), { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(hub.ends).toHaveLength(1);
    expect((await fetch(new URL(next.headers.get('location')!, base), { method: 'DELETE' })).status).toBe(404);
  });

  it('players posted at the same moment all get their answer (one being placed is not taken for a dead server’s)', async () => {
    const hub = fakeHub();
    const select = hub.host.select;
    // The director answers after the other POSTs have arrived.
    hub.host.select = async (...a) => (await new Promise((r) => setTimeout(r, 50)), select(...(a as Parameters<typeof select>)));
    const base = await serve(new WhepRoutes(hub.host));
    const replies = await Promise.all(Array.from({ length: 6 }, () => post(base)));
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
  });

  it('bounds players per address (429) and in total (503); an ended player frees its slot', async () => {
    const hub = fakeHub();
    const routes = new WhepRoutes(hub.host, { maxPerIp: 2, maxResources: 3 });
    const base = await serve(routes);
    const first = await post(base);
    expect((await post(base)).status).toBe(201);
    const third = await post(base);
    expect(third.status).toBe(429);
    expect(await third.text()).toMatch(/plays 2 WHEP streams already/);
    hub.setIp('10.0.0.2');
    expect((await post(base)).status).toBe(201);
    const full = await post(base);
    expect(full.status).toBe(503);
    expect(routes.size).toBe(3);
    // The server says the first player's session ended: its address may play again.
    hub.setIp('10.0.0.1');
    routes.onServerClosed('a', { resourceId: first.headers.get('location')!.split('/').at(-1) });
    expect(routes.size).toBe(2);
    expect((await post(base)).status).toBe(201);
  });

  it('a player its server ended (a broadcast ended) gets 200 for its DELETE, not a 404 its console shows; the memory is bounded', async () => {
    const hub = fakeHub();
    const routes = new WhepRoutes(hub.host);
    const base = await serve(routes);
    const ended = async () => {
      const r = await post(base);
      const location = new URL(r.headers.get('location')!, base);
      routes.onServerClosed('a', { resourceId: location.pathname.split('/').at(-1) });
      return location;
    };
    const first = await ended();
    const del = await fetch(first, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.headers.get('access-control-allow-origin')).toBe('*');
    expect(hub.ends).toEqual([]); // nothing to end on the server
    // Once: a DELETE again, another asset's path or a made-up resource are still 404.
    expect((await fetch(first, { method: 'DELETE' })).status).toBe(404);
    const other = await ended();
    expect((await fetch(new URL(other.pathname.replace('/show/', '/other/'), base), { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${base}/whep/show/NoSuchResource1`, { method: 'DELETE' })).status).toBe(404);
    // Bounded: past MAX_ENDED_WHEP_RESOURCES the oldest is forgotten.
    const oldest = await ended();
    for (let i = 0; i < MAX_ENDED_WHEP_RESOURCES - 1; i++) await ended();
    const newest = await ended();
    expect((await fetch(oldest, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(newest, { method: 'DELETE' })).status).toBe(200);
  }, 30_000);

  it('a path that names no valid asset id says what an id is (404)', async () => {
    const base = await serve(new WhepRoutes(fakeHub().host));
    for (const id of ['a..b', '-x', 'x'.repeat(65)]) {
      const r = await post(base, id);
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/use \/whep\/<asset id> \(an id is 1 to 64 letters, digits, _ or -/);
    }
  });

  it('loopback is not capped per address (every local player shares it), only in total', async () => {
    const hub = fakeHub();
    hub.setIp('127.0.0.1');
    const routes = new WhepRoutes(hub.host, { maxPerIp: 2, maxResources: 4 });
    const base = await serve(routes);
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push((await post(base)).status);
    expect(replies).toEqual([201, 201, 201, 201, 503]);
  });

  it('bounds offers in flight per address (429) and in all (503), with Retry-After; answered ones free their place', async () => {
    const hub = fakeHub();
    const request = hub.host.request;
    let asked = 0;
    let open!: () => void;
    const servers = new Promise<void>((r) => (open = r));
    // Every server takes its time to answer (a peer connection, ICE gathering): the offers stay in flight.
    hub.host.request = async <T extends object>(...a: Parameters<typeof request>) => {
      asked++;
      await servers;
      return request<T>(...a);
    };
    const routes = new WhepRoutes(hub.host, { maxOffersInFlightPerIp: 3, maxOffersInFlight: 5 });
    const base = await serve(routes);
    const first = Array.from({ length: 3 }, () => post(base, 'show', '10.0.0.1'));
    await expect.poll(() => asked).toBe(3);
    const perIp = await post(base, 'show', '10.0.0.1');
    expect(perIp.status).toBe(429);
    expect(perIp.headers.get('retry-after')).toBe('1');
    expect(await perIp.text()).toMatch(/3 WHEP offers in flight/);
    const second = Array.from({ length: 2 }, () => post(base, 'show', '10.0.0.2'));
    await expect.poll(() => asked).toBe(5);
    const total = await post(base, 'show', '10.0.0.3');
    expect(total.status).toBe(503);
    expect(total.headers.get('retry-after')).toBe('1');
    expect(routes.offersInFlight).toBe(5);
    open();
    expect((await Promise.all([...first, ...second])).map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(routes.offersInFlight).toBe(0);
    expect((await post(base, 'show', '10.0.0.3')).status).toBe(201);
    expect(asked).toBe(6);
  });

  it('a server registering as another process drops the players held for the old one at once; the same process keeps them', async () => {
    const hub = fakeHub();
    const routes = new WhepRoutes(hub.host, { maxPerIp: 2 });
    const base = await serve(routes);
    expect((await post(base)).status).toBe(201);
    expect((await post(base)).status).toBe(201);
    expect((await post(base)).status).toBe(429);
    // `a` restarted under its id: the slots are free before any POST looks.
    expectRestartOfADrops(routes, hub.instances, 2);
    expect((await post(base)).status).toBe(201);
    expect(hub.ends).toEqual([]);
  });
});
