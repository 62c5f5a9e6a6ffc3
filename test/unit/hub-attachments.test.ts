// A media server given several hubs registers on one and attaches to the others (HubAttachments), so each of those
// asks it directly; a session's messages go back on the connection the session came in on. Real socket.io servers in
// this process stand in for the hubs' /server namespaces.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server, type Socket } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { HubAttachments, usableNamedHubs } from '../../node-app/server/hub-attachments.js';
import { HubLink } from '../../node-app/server/hub-link.js';
import { serverTokenMinter } from '../../signaling/auth.js';
import { bareDescriptor } from '../helpers/descriptor.js';
import type { ServerDescriptor } from '../../signaling/protocol/index.js';

const SECRET = 'a-cluster-secret-of-some-length';
const descriptor = (): ServerDescriptor =>
  bareDescriptor('fra-1', { region: 'eu', lat: 50, lon: 8, maxSessions: 10, uplinkMbps: 100, instance: 'proc-one-1234' });

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

const until = async (what: () => boolean) => {
  for (let i = 0; !what(); i++) {
    if (i > 2_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A hub's /server namespace that accepts registrations and attachments (or refuses attachments) and records what came. */
async function fakeHub(o: { refuseAttach?: boolean; refuseMoving?: boolean; port?: number; names?: () => string[] } = {}) {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const got: { event: string; msg: unknown }[] = [];
  const sockets: Socket[] = [];
  const attaches: unknown[] = [];
  let registers = 0;
  let movings = 0;
  io.of('/server').on('connection', (socket) => {
    sockets.push(socket);
    socket.on('register', (_d: unknown, ack: (r: unknown) => void) => {
      registers++;
      ack({ ok: true, snapshot: {} });
      // As a hub on Redis does: it names the other hubs to a server that registers.
      if (o.names) socket.emit('hubs', o.names());
    });
    socket.on('moving', (ack: (r: unknown) => void) => {
      movings++;
      ack(o.refuseMoving ? { ok: false, code: 'bad-request', message: 'this hub shares no cluster' } : { ok: true });
    });
    socket.on('attach', (msg: unknown, ack: (r: unknown) => void) => {
      attaches.push(msg);
      ack(o.refuseAttach ? { ok: false, code: 'bad-request', message: 'this hub shares no cluster' } : { ok: true });
    });
    for (const event of ['signal', 'session-close', 'whip-signal', 'whip-leave'])
      socket.on(event, (msg: unknown) => got.push({ event, msg }));
  });
  await new Promise<void>((resolve) => http.listen(o.port ?? 0, '127.0.0.1', resolve));
  closers.push(() => {
    io.close();
    http.close();
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const connected = () => sockets.filter((s) => s.connected);
  const close = () => new Promise<void>((resolve) => io.close(() => resolve()));
  return {
    url,
    io,
    got,
    attaches,
    connected,
    close,
    registers: () => registers,
    movings: () => movings,
    port: (http.address() as AddressInfo).port,
  };
}

function link(urls: string[], returnAfterMs?: number | null): HubLink {
  const log = pino({ level: 'silent' });
  const l = new HubLink({
    hubUrl: urls,
    mintToken: serverTokenMinter({ clusterSecret: SECRET }, 'fra-1'),
    id: 'fra-1',
    descriptor,
    log,
    returnAfterMs,
  });
  // The server's part that opens sessions: it accepts every one.
  l.handle('session-open', (_msg, ack) => ack({ ok: true } as never));
  l.handle('whip-offer', (_msg, ack) => ack({ ok: true } as never));
  closers.push(() => l.close());
  return l;
}

describe('HubAttachments', () => {
  it('registers on the first hub, attaches to the other with its id and instance; a session opened there signals back there', async () => {
    const [a, b] = [await fakeHub(), await fakeHub()];
    const l = link([a.url, b.url]);
    l.open();
    await new Promise((resolve) => l.once('registered', resolve));
    await until(() => b.attaches.length === 1);
    expect(b.attaches[0]).toEqual({ id: 'fra-1', instance: 'proc-one-1234' });
    expect(a.attaches).toEqual([]);
    // B opens a session and a WHIP resource on the server through the attachment.
    const [viaB] = b.connected();
    await viaB!.timeout(2_000).emitWithAck('session-open', { sessionId: 'on-b' });
    await viaB!.timeout(2_000).emitWithAck('whip-offer', { resourceId: 'hub-b.res1' });
    l.send('signal', { sessionId: 'on-b', data: { candidate: 'x' } });
    l.send('signal', { sessionId: 'elsewhere', data: { candidate: 'y' } });
    l.send('whip-signal', { resourceId: 'hub-b.res1', sessionId: 'ingest-1', data: {} } as never);
    l.send('session-close', { sessionId: 'on-b' });
    // Its session ended: what follows about it (nothing should) goes to the hub registered with.
    l.send('signal', { sessionId: 'on-b', data: { candidate: 'late' } });
    await until(() => b.got.length === 3 && a.got.length === 2);
    expect(b.got.map((g) => g.event)).toEqual(['signal', 'whip-signal', 'session-close']);
    expect(a.got.map((g) => (g.msg as { sessionId: string }).sessionId)).toEqual(['elsewhere', 'on-b']);
    expect(l.attachments).toEqual({ hubs: 1, routes: 1 });
  });

  it('a server given one hub attaches to the others that hub names (the hub list), skipping what is not a URL', async () => {
    const [a, b, c] = [await fakeHub(), await fakeHub(), await fakeHub()];
    a.io.of('/server').on('connection', (socket) => socket.on('register', () => socket.emit('hubs', [b.url, 'ftp://x', 42, c.url])));
    const l = link([a.url]);
    l.open();
    await until(() => b.attaches.length === 1 && c.attaches.length === 1);
    expect(a.attaches).toEqual([]);
    expect(l.attachments.hubs).toBe(2);
    // The list shrank (hub c left the cluster): its attachment goes.
    a.connected()[0]!.emit('hubs', [b.url]);
    await until(() => c.connected().length === 0);
    expect(l.attachments.hubs).toBe(1);
    // Something that is not a list changes nothing.
    a.connected()[0]!.emit('hubs', { not: 'a list' });
    await new Promise((r) => setTimeout(r, 100));
    expect(l.attachments.hubs).toBe(1);
  });

  it('a session whose attachment dropped signals through the hub registered with', async () => {
    const [a, b] = [await fakeHub(), await fakeHub()];
    const l = link([a.url, b.url]);
    l.open();
    await until(() => b.attaches.length === 1);
    await b.connected()[0]!.timeout(2_000).emitWithAck('session-open', { sessionId: 's1' });
    b.io.close();
    await until(() => b.connected().length === 0);
    await new Promise((r) => setTimeout(r, 50));
    l.send('signal', { sessionId: 's1', data: {} });
    await until(() => a.got.length === 1);
    expect(b.got).toEqual([]);
  });

  it('an attachment the hub closed (it stopped, or dropped it) attaches again by itself', async () => {
    const [a, b] = [await fakeHub(), await fakeHub()];
    const l = link([a.url, b.url]);
    l.open();
    await until(() => b.attaches.length === 1);
    b.connected()[0]!.disconnect(true);
    await until(() => b.attaches.length === 2);
    expect(b.connected()).toHaveLength(1);
  });

  it('a hub that refuses the attachment (alone, not sharing a cluster) is not asked again', async () => {
    const [a, b] = [await fakeHub(), await fakeHub({ refuseAttach: true })];
    const l = link([a.url, b.url]);
    l.open();
    await until(() => b.attaches.length === 1);
    await until(() => l.attachments.hubs === 0);
    await new Promise((r) => setTimeout(r, 1_500)); // past socket.io's reconnect delay
    expect(b.attaches).toHaveLength(1);
    expect(b.connected()).toHaveLength(0);
  });

  it(`remembers at most maxRoutes sessions' way back, the oldest forgotten first`, async () => {
    const [a, b] = [await fakeHub(), await fakeHub()];
    const handlers: [string, (...args: unknown[]) => void][] = [
      ['session-open', (_msg, ack) => (ack as (r: unknown) => void)({ ok: true })],
    ];
    const att = new HubAttachments({
      mintToken: serverTokenMinter({ clusterSecret: SECRET }, 'fra-1'),
      id: 'fra-1',
      instance: () => undefined,
      handlers,
      log: pino({ level: 'silent' }),
      maxRoutes: 2,
    });
    closers.push(() => att.close());
    att.sync([a.url, b.url], a.url);
    await until(() => b.attaches.length === 1);
    expect(a.attaches).toEqual([]);
    expect(b.attaches[0]).toEqual({ id: 'fra-1' });
    for (const sessionId of ['s1', 's2', 's3']) await b.connected()[0]!.timeout(2_000).emitWithAck('session-open', { sessionId });
    expect(att.routes).toBe(2);
    expect(att.routeFor('signal', { sessionId: 's1' })).toBeUndefined();
    expect(att.routeFor('signal', { sessionId: 's3' })).toBeDefined();
    // The server moved to B: it detaches from B and attaches to A.
    att.sync([a.url, b.url], b.url);
    await until(() => a.attaches.length === 1 && b.connected().length === 0);
    expect(att.routes).toBe(0);
    expect(att.size).toBe(1);
  });

  it('two hubs, a server given one: it moves to the other when that dies, and back when the other dies in turn', async () => {
    // Hub A, like a hub whose peer left the hub list, names no other hub: the server must still keep D in mind.
    const a = await fakeHub({ names: () => [] });
    const d = await fakeHub({ names: () => [a.url] });
    const l = link([d.url]);
    l.open();
    await until(() => d.registers() === 1);
    await d.close();
    await until(() => a.registers() === 1);
    expect(l.hubUrl).toBe(a.url);
    // A dies while D is down, then D comes back on its address: the server registers there again.
    await a.close();
    await new Promise((r) => setTimeout(r, 300));
    const d2 = await fakeHub({ port: d.port, names: () => [] });
    await until(() => d2.registers() === 1);
    expect(l.hubUrl).toBe(d.url);
  });

  it('after a failover the server registers with its first hub again once that has been up a while, and only then', async () => {
    const a = await fakeHub({ names: () => [] });
    const d = await fakeHub({ names: () => [a.url] });
    const l = link([d.url, a.url], 400);
    l.open();
    await until(() => d.registers() === 1 && a.attaches.length === 1);
    await d.close();
    await until(() => a.registers() === 1);
    expect(l.hubUrl).toBe(a.url);
    // D back on its address: the server attaches there at once, but registers there only after 400–600 ms of it up.
    const d2 = await fakeHub({ port: d.port, names: () => [a.url] });
    await until(() => d2.attaches.length === 1);
    const attachedAt = performance.now();
    await until(() => d2.registers() === 1);
    expect(performance.now() - attachedAt).toBeGreaterThanOrEqual(390);
    expect(l.hubUrl).toBe(d.url);
    // It told A it was moving, left A's registration (A keeps only an attachment) and registered with D on a connection of its own.
    expect(a.movings()).toBe(1);
    await until(() => a.connected().length === 1 && a.attaches.length === 2);
    expect(a.registers()).toBe(1);
  });

  it('a hub that will not let the server go keeps it: no move, and no second ask before as long again', async () => {
    const a = await fakeHub({ names: () => [], refuseMoving: true });
    const d = await fakeHub({ names: () => [a.url] });
    const l = link([d.url, a.url], 300);
    l.open();
    await until(() => d.registers() === 1);
    await d.close();
    await until(() => a.registers() === 1);
    const d2 = await fakeHub({ port: d.port, names: () => [a.url] });
    await until(() => a.movings() === 1);
    await new Promise((r) => setTimeout(r, 250));
    expect(a.movings()).toBe(1);
    expect(d2.registers()).toBe(0);
    expect(l.hubUrl).toBe(a.url);
  });

  it('with the return off, a server stays on the hub the failover left it on', async () => {
    const a = await fakeHub({ names: () => [] });
    const d = await fakeHub({ names: () => [a.url] });
    const l = link([d.url, a.url], null);
    l.open();
    await until(() => d.registers() === 1);
    await d.close();
    await until(() => a.registers() === 1);
    const d2 = await fakeHub({ port: d.port, names: () => [a.url] });
    await until(() => d2.attaches.length === 1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(d2.registers()).toBe(0);
    expect(l.hubUrl).toBe(a.url);
  });

  it('a server given an https hub takes no http hub from the hub list', () => {
    const named = ['http://hub-b.example.com', 'https://hub-c.example.com'];
    expect(usableNamedHubs(['https://hub-a.example.com'], named)).toEqual(['https://hub-c.example.com']);
    expect(usableNamedHubs(['http://127.0.0.1:8080'], named)).toEqual(named);
  });
});
