// A media server's HubLink: what changes while the hub is answering its registration is reported after it, not lost.
// A real socket.io server in this process stands in for the hub's /server namespace.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { HubLink, MAX_REPORTS_WHILE_REGISTERING } from '../../node-app/server/hub-link.js';
import { serverTokenMinter } from '../../signaling/auth.js';
import type { OwnDelta, ServerDescriptor } from '../../signaling/protocol/index.js';
import { bareDescriptor } from '../helpers/descriptor.js';

const descriptor = (): ServerDescriptor => bareDescriptor('fra-1', { region: 'eu', lat: 50, lon: 8, maxSessions: 10, uplinkMbps: 100 });
const added = (id: string): OwnDelta[] => [{ type: 'storage-add', assets: [{ id, bytes: 1, mime: 'video/webm' }] }];

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** A fake hub that holds each registration's answer until `answer()` is called. */
async function fakeHub() {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const registrations: ((reply: unknown) => void)[] = [];
  const reported: OwnDelta[] = [];
  io.of('/server').on('connection', (socket) => {
    socket.on('register', (_d: unknown, ack: (r: unknown) => void) => registrations.push(ack));
    socket.on('report', (deltas: OwnDelta[], ack: (r: unknown) => void) => {
      reported.push(...deltas);
      ack({ ok: true });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    io.close();
    http.close();
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const until = async (what: () => boolean) => {
    while (!what()) await new Promise((r) => setTimeout(r, 5));
  };
  return { url, registrations, reported, until };
}

function link(url: string): HubLink {
  const l = new HubLink({
    hubUrl: url,
    mintToken: serverTokenMinter({ clusterSecret: 'a-cluster-secret-of-some-length' }, 'fra-1'),
    id: 'fra-1',
    descriptor,
    log: pino({ level: 'silent' }),
  });
  closers.push(() => l.close());
  return l;
}

describe('HubLink registration', () => {
  it('a report made while the hub answers the registration is sent after it (it was dropped: a file added then never listed)', async () => {
    const hub = await fakeHub();
    const l = link(hub.url);
    l.open();
    await hub.until(() => hub.registrations.length === 1);
    l.report(added('copied-meanwhile'));
    const registered = new Promise((resolve) => l.once('registered', resolve));
    hub.registrations[0]!({ ok: true, snapshot: {} });
    await registered;
    l.report([{ type: 'storage-remove', assets: ['sentinel'] }]);
    await hub.until(() => hub.reported.some((d) => d.type === 'storage-remove'));
    expect(hub.reported.map((d) => d.type)).toEqual(['storage-add', 'storage-remove']);
  });

  it(`past ${MAX_REPORTS_WHILE_REGISTERING} held reports it registers again instead`, async () => {
    const hub = await fakeHub();
    const l = link(hub.url);
    l.open();
    await hub.until(() => hub.registrations.length === 1);
    for (let i = 0; i <= MAX_REPORTS_WHILE_REGISTERING; i++) l.report(added(`a${i}`));
    hub.registrations[0]!({ ok: true, snapshot: {} });
    await hub.until(() => hub.registrations.length === 2);
    hub.registrations[1]!({ ok: true, snapshot: {} });
    await new Promise((resolve) => l.once('registered', resolve));
    expect(hub.reported).toEqual([]);
  });

  it('a registration the hub finds invalid is fatal, said once with the reason (it was retried for ever)', async () => {
    const hub = await fakeHub();
    const l = link(hub.url);
    const fatal = new Promise<Error>((resolve) => l.once('fatal', resolve));
    l.open();
    await hub.until(() => hub.registrations.length === 1);
    hub.registrations[0]!({ ok: false, code: 'bad-request', message: 'invalid registration: region: Too big' });
    expect((await fatal).message).toMatch(/hub refused registration: invalid registration: region: Too big/);
    expect(l.registered).toBe(false);
  });

  it('a transient refusal (a live server of this id) is retried', async () => {
    const hub = await fakeHub();
    const l = link(hub.url);
    let fatal: Error | undefined;
    l.on('fatal', (err) => {
      fatal = err;
    });
    l.open();
    await hub.until(() => hub.registrations.length === 1);
    hub.registrations[0]!({ ok: false, code: 'conflict', message: 'server id fra-1 is already live' });
    await hub.until(() => hub.registrations.length === 2);
    hub.registrations[1]!({ ok: true, snapshot: {} });
    await new Promise((resolve) => l.once('registered', resolve));
    expect(fatal).toBeUndefined();
  });
});
