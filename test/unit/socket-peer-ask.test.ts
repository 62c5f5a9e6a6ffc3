// The hub's ask to a media server (`socketPeer`) fails as soon as the server's connection closes, not at its timeout:
// socket.io keeps a pending ack until the timer fires even when the socket is gone, and a WHIP DELETE waiting on
// `whip-end` (70 s) or a routing ask hung on a dead director for all of it. A real socket.io server and client here.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../common/coded-error.js';
import { serverRoom, SocketIoLink, socketPeer } from '../../signaling/transport/socketio-link.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** A server socket and the client on the other end of it. */
async function pair(): Promise<{ server: Socket; client: ClientSocket; io: Server }> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const serverSide = new Promise<Socket>((resolve) => io.of('/server').on('connection', resolve));
  const client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}/server`, {
    transports: ['websocket'],
    reconnection: false,
  });
  closers.push(() => {
    client.close();
    io.close();
    http.close();
  });
  return { server: await serverSide, client, io };
}

/** Longer than the test's own timeout: an ask that waits for it makes the test fail. */
const NEVER_MS = 600_000;

describe('socketPeer.ask', () => {
  it('resolves with the answer', async () => {
    const { server, client } = await pair();
    client.on('whip-end', (_msg: unknown, ack: (r: unknown) => void) => ack({ ok: true, bytes: 5 }));
    await expect(socketPeer(server as never).ask('whip-end', { resourceId: 'r' }, NEVER_MS)).resolves.toEqual({ ok: true, bytes: 5 });
  });

  it('fails with peer-closed when the connection closes before the answer', async () => {
    const { server, client } = await pair();
    const peer = socketPeer(server as never);
    let asked = 0;
    client.on('whip-end', () => {
      asked++;
      // Never answers: the process finalizing the broadcast stalls, and its connection drops.
      if (asked === 2) client.disconnect();
    });
    const first = peer.ask('whip-end', { resourceId: 'a' }, NEVER_MS);
    const second = peer.ask('whip-end', { resourceId: 'b' }, NEVER_MS);
    const [a, b] = await Promise.allSettled([first, second]);
    for (const r of [a, b]) {
      expect(r.status).toBe('rejected');
      expect(codeOf((r as PromiseRejectedResult).reason)).toBe('peer-closed');
    }
    // Asked after the close: refused at once.
    await expect(peer.ask('whip-end', { resourceId: 'c' }, NEVER_MS)).rejects.toMatchObject({ code: 'peer-closed' });
  });

  it('still fails by its timeout when the peer stays and says nothing (not peer-closed)', async () => {
    const { server, client } = await pair();
    client.on('whip-end', () => {});
    const err = await socketPeer(server as never)
      .ask('whip-end', { resourceId: 'r' }, 50)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(codeOf(err, 'internal')).not.toBe('peer-closed');
  });
});

describe('an ask through a server room (several hubs, the mesh does not know the server)', () => {
  it('fails with peer-closed when the table says the server left, not at its timeout; another server`s ask is untouched', async () => {
    const { server, client, io } = await pair();
    // The server's socket in its room, as its own hub puts it; the adapter (here socket.io's in-memory one) carries
    // the ask there. It never answers: its connection dropped on its hub while the ask was on the way.
    server.join(serverRoom('fra-1'));
    const link = new SocketIoLink();
    link.servers = io.of('/server') as never;
    link.crossHub = true;
    const asked = new Promise<void>((resolve) => client.on('select', () => resolve()));
    const ask = link.remotePeer('fra-1')!.ask('select', { kind: 'watch' }, NEVER_MS);
    await asked;
    const other = link.roomPeer('iad-1').ask('select', { kind: 'watch' }, 100); // no socket in its room
    link.publishDeltas([{ v: 7, d: { type: 'server-left', id: 'fra-1', reason: 'no heartbeat through any hub' } }]);
    await expect(ask).rejects.toMatchObject({ code: 'peer-closed', message: expect.stringContaining('fra-1 left the cluster') });
    // iad-1's ask ends its own way (no one in its room), not as fra-1's did.
    const err = await other.catch((e: unknown) => e);
    expect(codeOf(err, 'internal')).not.toBe('peer-closed');
  });
});
