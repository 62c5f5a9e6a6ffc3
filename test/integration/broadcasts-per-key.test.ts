// One stream key, a bounded number of broadcasts: two real hubs on a real redis-server and one ingest
// server. Broadcasts opened through `publish` on either hub and through WHIP all count against their key,
// across hubs; each end path (leave, a dropped connection, WHIP DELETE, the server closing a session) gives its
// slot back; another key is not touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { ROOT, waitFor, type Proc } from '../helpers/cluster.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { ask, connect } from '../faults/helpers/net.js';
import type { Ack, PublishReply } from '../../signaling/protocol/index.js';

const MAX = 2;

describe('broadcasts per stream key, across two hubs (real Redis)', () => {
  let redis: RedisProcess;
  const hubs: HubProc[] = [];
  let server: Proc | undefined;
  const sockets: Socket[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'baton-key-broadcasts-'));
  const offer = readFileSync(join(ROOT, 'test/fixtures/whip-offer.sdp'), 'utf8');

  beforeAll(async () => {
    redis = await startRedis();
    const args = ['--stream-keys', 'test-key,other-key', '--max-broadcasts-per-key', String(MAX), '--rotation-ms', '0'];
    hubs.push(...(await Promise.all([startRedisHub(redis.url, 'keys-a', args), startRedisHub(redis.url, 'keys-b', args)])));
    server = await startHubServer([hubs[0]!.url], 'ingest-1', join(tmp, 'ingest-1'), ['--ingest']);
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await stopAll([...(server ? [server] : []), ...hubs]);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const client = async (hub: HubProc) => {
    const s = await connect(hub.url);
    sockets.push(s);
    return s;
  };
  const publish = (s: Socket, streamId: string, streamKey = 'test-key') =>
    ask<Ack<PublishReply>>(s, 'publish', { streamKey, location: 'Lisbon', streamId });
  const whip = (streamId: string) =>
    fetch(`${hubs[0]!.url}/whip/${streamId}?location=Paris`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer test-key' },
      body: offer,
    });

  it('refuses a key its third broadcast on any hub and through WHIP; leave, a dropped connection, DELETE and the server closing give slots back', async () => {
    // onC (hub B) publishes other-key's broadcasts and stays connected to the end.
    const [onA, onB, onC] = [await client(hubs[0]!), await client(hubs[1]!), await client(hubs[1]!)];
    await waitFor('hub B sees the ingest server', async () => (await publish(onC, 'warm-up', 'other-key')).ok, 30_000, 200);
    const s1 = await publish(onA, 'key-s1');
    expect(s1).toMatchObject({ ok: true });
    expect(await publish(onB, 'key-s2')).toMatchObject({ ok: true });
    // Hub A holds one of the key's broadcasts itself: the second is hub B's, known through Redis.
    expect(await publish(onA, 'key-s3')).toMatchObject({ ok: false, code: 'too-many-broadcasts' });
    expect(await publish(onB, 'key-s3')).toMatchObject({ ok: false, code: 'too-many-broadcasts' });
    const refused = await whip('key-w0');
    expect(refused.status).toBe(429);
    expect(await refused.text()).toMatch(/broadcasts live/);
    // Another key is not touched, and the refused id is free.
    expect(await publish(onC, 'key-s3', 'other-key')).toMatchObject({ ok: true });
    expect(await publish(onC, 'key-o0', 'other-key')).toMatchObject({ ok: false, code: 'too-many-broadcasts' });

    // Leave: s1's session ends, its slot is free again (WHIP takes it).
    onA.emit('leave', { sessionId: (s1 as PublishReply).primary.sessionId });
    let resource = '';
    await waitFor(
      'a WHIP broadcast admitted once s1 left',
      async () => {
        const r = await whip('key-w1');
        if (r.status === 201) resource = new URL(r.headers.get('location')!, hubs[0]!.url).href;
        else await r.text();
        return r.status === 201;
      },
      10_000,
      100,
    );
    expect(await publish(onB, 'key-s4')).toMatchObject({ ok: false, code: 'too-many-broadcasts' });

    // A dropped connection: hub B's publisher goes, its slot with it.
    onB.disconnect();
    await waitFor('s5 admitted once hub B’s publisher dropped', async () => (await publish(onA, 'key-s5')).ok, 10_000, 100);
    expect(await publish(onA, 'key-s6')).toMatchObject({ ok: false, code: 'too-many-broadcasts' });

    // WHIP DELETE ends that broadcast and frees its slot (502: it ended, but without a frame nothing is stored).
    const deleted = await fetch(resource, { method: 'DELETE', headers: { authorization: 'Bearer test-key' } });
    expect(`${deleted.status} ${await deleted.text()}`).toMatch(/^(200|204|502 the broadcast ended)/);
    await waitFor('s6 admitted once the WHIP broadcast was deleted', async () => (await publish(onA, 'key-s6')).ok, 10_000, 100);

    // The server ends a session itself (here: no WebRTC connection within INGEST_CONNECT_TIMEOUT_MS, as it ends a
    // finished broadcast's): other-key's two slots come back.
    for (const id of ['key-o3', 'key-o4'])
      await waitFor(
        `${id} admitted once the server closed other-key's sessions`,
        async () => (await publish(onA, id, 'other-key')).ok,
        60_000,
        500,
      );
    expect(await publish(onA, 'key-o5', 'other-key')).toMatchObject({ ok: false, code: 'too-many-broadcasts' });
  }, 180_000);
});
