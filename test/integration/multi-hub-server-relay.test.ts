// Several hubs: a media server's session message that its hub holds no session for goes to the other hubs (through the
// socket.io adapter's stream in Redis, or a hub's inbox). Only a registered (or attached) server's messages that pass
// their schema go: before, `whip-signal`, `whip-leave` and `whep-closed` were forwarded as received, unparsed, and from
// a connection that had only authenticated, so one connection could put any 256 KiB value into Redis for every hub, as
// fast as it sent them (found by review attackb30). Real Redis, two real hubs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SECRET } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { ask, connect } from '../faults/helpers/net.js';
import { mintServerToken } from '../../signaling/auth.js';
import { bareDescriptor } from '../helpers/descriptor.js';

describe('session messages a hub forwards to other hubs (real Redis, two hubs)', () => {
  let redis: RedisProcess;
  const procs: HubProc[] = [];
  let hubA: HubProc;

  beforeAll(async () => {
    redis = await startRedis({ appendfsync: 'everysec' });
    hubA = await startRedisHub(redis.url, 'relay-a');
    procs.push(hubA);
    procs.push(await startRedisHub(redis.url, 'relay-b'));
  }, 120_000);

  afterAll(async () => {
    await stopAll(procs);
    await redis?.stop();
  });

  it('malformed ones, and any from a connection that never registered, stay on the hub they reached', async () => {
    // What the hubs say to each other (socket.io's adapter: `serverSideEmit` goes over Redis pub/sub).
    const sub = new Redis(redis.url);
    let big = 0;
    let closes = 0;
    sub.on('pmessageBuffer', (_p: Buffer, _c: Buffer, m: Buffer) => {
      if (m.byteLength > 50_000) big++;
      if (m.includes('abcdefgh')) closes++;
    });
    await sub.psubscribe('*');
    const junk = 'x'.repeat(100_000);
    try {
      // Authenticated, never registered.
      const loose = await connect(hubA.url, '/server', { token: mintServerToken(SECRET, 'loose', Date.now()) });
      const registered = await connect(hubA.url, '/server', { token: mintServerToken(SECRET, 'reg', Date.now()) });
      expect(await ask(registered, 'register', bareDescriptor('reg'))).toMatchObject({ ok: true });
      const beat = setInterval(() => registered.emit('heartbeat', {}), 200);
      for (let i = 0; i < 20; i++) {
        loose.emit('whip-signal', { junk });
        loose.emit('session-close', { sessionId: 'abcdefgh' });
        registered.emit('whip-signal', { junk });
        registered.emit('whip-leave', [junk]);
        registered.emit('whep-closed', junk);
      }
      // A well-formed message from the registered server, for no session here, still goes (another hub may hold it).
      registered.emit('session-close', { sessionId: 'abcdefgh' });
      await new Promise((res) => setTimeout(res, 2_000));
      expect(registered.connected).toBe(true);
      clearInterval(beat);
      expect({ big, closes }).toEqual({ big: 0, closes: 1 });
      loose.close();
      registered.close();
    } finally {
      sub.disconnect();
    }
  }, 60_000);
});
