// Several hubs behind a load balancer without sticky sessions: a WHIP broadcast or WHEP player is created by one
// hub, and its DELETE reaches another. Before, that hub answered 404 and the broadcast went on; now it relays the
// request to the hub whose id the resource carries. Real redis-server, two hubs, one media server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEDIA_DIR, ROOT, waitFor, type Proc } from '../helpers/cluster.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { Redis } from 'ioredis';

const ASSET = 'demo-testsrc';
const KEY = 'resources-stream-key';
const fixture = (name: string) => readFileSync(join(ROOT, `test/fixtures/${name}`), 'utf8');

describe('WHIP/WHEP resources across hubs (2 hubs, real Redis)', () => {
  let redis: RedisProcess;
  const hubs: HubProc[] = [];
  let server: Proc | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'baton-hub-resources-'));

  beforeAll(async () => {
    redis = await startRedis();
    for (const id of ['res-a', 'res-b']) hubs.push(await startRedisHub(redis.url, id, ['--stream-keys', KEY]));
    await ensureDemoMedia(MEDIA_DIR);
    linkSync(join(MEDIA_DIR, `${ASSET}.webm`), join(tmp, `${ASSET}.webm`));
    server = await startHubServer([hubs[0]!.url], 'res-1', tmp, ['--ingest', '--lat', '48.85', '--lon', '2.35']);
  }, 90_000);

  afterAll(async () => {
    await stopAll([...(server ? [server] : []), ...hubs]);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const post = (hub: HubProc, path: string, sdp: string, token?: string) =>
    fetch(`${hub.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: sdp,
    });
  const del = (hub: HubProc, location: string, token?: string) =>
    fetch(`${hub.url}${location}`, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('a DELETE through the other hub ends the resource on the hub that made it, with its checks', async () => {
    const [a, b] = [hubs[0]!, hubs[1]!];
    // WHEP: the player made on hub a, ended through hub b; a's own DELETE then finds nothing.
    let whep: Response | undefined;
    await waitFor(
      'a WHEP player placed',
      async () => (whep = await post(a, `/whep/${ASSET}`, fixture('whep-offer.sdp'))).status === 201,
      30_000,
    );
    const player = whep!.headers.get('location')!;
    expect((await del(b, player)).status).toBe(200);
    expect((await del(a, player)).status).toBe(404);
    expect(player).toMatch(new RegExp(`^/whep/${ASSET}/res-a\\.`));

    // WHIP: no RTP ever arrives, so hub a itself answers DELETE 502 "no media arrived"; through b the same answer,
    // after b refused the wrong key exactly as a would.
    const whip = await post(a, '/whip/across-hubs?location=Paris', fixture('whip-offer.sdp'), KEY);
    expect(whip.status, await whip.clone().text()).toBe(201);
    const broadcast = whip.headers.get('location')!;
    const wrong = await del(b, broadcast, 'not-the-key-of-this-one');
    expect(wrong.status).toBe(401);
    const ended = await del(b, broadcast, KEY);
    expect(await ended.text()).toMatch(/the broadcast ended, but finalizing failed: no media arrived/);
    expect(ended.status).toBe(502);
    expect((await del(a, broadcast, KEY)).status).toBe(404);

    // A resource of a hub that is not in the cluster: 404 at once, not a wait for an answer that never comes.
    const gone = await del(b, `/whep/${ASSET}/res-gone.AAAAAAAAAAAAAAAA`);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toMatch(/hub res-gone, which held it, is gone/);
  }, 90_000);

  it('anonymous requests that read the hub list share one read a second: they cannot make Redis work for each', async () => {
    const [a, b] = [hubs[0]!, hubs[1]!];
    const stats = new Redis(redis.url);
    const reads = async () => Number(/cmdstat_zrevrange:calls=(\d+)/.exec(await stats.info('commandstats'))?.[1] ?? 0);
    try {
      const before = await reads();
      const started = Date.now();
      // /api/config lists the hubs; a DELETE of another hub's (forged) resource is checked against the list.
      for (let i = 0; i < 30; i++) {
        const [config, forged] = await Promise.all([
          fetch(`${a.url}/api/config`),
          del(a, `/whep/${ASSET}/${b.id}.forged${String(i).padStart(10, '0')}`),
        ]);
        expect(config.status).toBe(200);
        expect(forged.status).toBe(404);
      }
      const seconds = (Date.now() - started) / 1000;
      // One read a second for the burst, and each hub's own every HUB_LIST_CHECK_MS (5 s). Before: one per request (60+).
      expect(await reads()).toBeLessThanOrEqual(before + Math.ceil(seconds) + 1 + 2 * Math.ceil(seconds / 5 + 1));
    } finally {
      stats.disconnect();
    }
  }, 30_000);
});
