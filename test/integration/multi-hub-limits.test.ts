// Three real hubs on a real redis-server and one media server: a client address spread over the
// hubs (as a load balancer would) gets about one hub's HTTP budget per window and one hub's per-IP
// session caps, not three times them; another address is not touched by it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { MEDIA_DIR, type Proc } from '../helpers/cluster.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { ask } from '../faults/helpers/net.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { SHARED_RATE_SYNC_MS, SHARED_RATE_WINDOW_MS } from '../../signaling/redis/shared-rate.js';
import { SHARED_SESSIONS_SYNC_MS } from '../../signaling/redis/shared-sessions.js';
import type { Ack, WatchReply } from '../../signaling/protocol/index.js';
import { DASHBOARD_CONNECT_BURST, DASHBOARD_CONNECTS_PER_S } from '../../signaling/transport/socketio-dashboard.js';

/** Per hub: 2 requests a second, bursts of 4 (the CLI's burst is twice the rate). */
const HTTP_RATE = 2;
const WINDOW_LIMIT = 2 * HTTP_RATE + (HTTP_RATE * SHARED_RATE_WINDOW_MS) / 1000; // 24
const HUBS = 3;
const RUN_MS = 12_000;
const EACH_HUB_PER_S = 6;
const ATTACKER = '203.0.113.7';
const BYSTANDER = '198.51.100.9';
const UNCONNECTED_PER_IP = 4;
/** Dashboard connections one address may open per window, cluster-wide: one hub's burst and refill. */
const DASHBOARD_WINDOW_LIMIT = DASHBOARD_CONNECT_BURST + (DASHBOARD_CONNECTS_PER_S * SHARED_RATE_WINDOW_MS) / 1000; // 30
const DASHBOARD_EACH_HUB_PER_S = 3;

/**
 * The shared window a tick of requests, started at `startMs` and answered now, was counted in — undefined when the two
 * differ: a hub may have counted any of them in either (on a loaded machine a tick started just before a boundary was
 * answered after it, and counting it in the earlier window read 38 where the hubs had admitted at most 36).
 */
function windowOf(startMs: number): number | undefined {
  const w = Math.floor(startMs / SHARED_RATE_WINDOW_MS);
  return Math.floor(Date.now() / SHARED_RATE_WINDOW_MS) === w ? w : undefined;
}
const ASSET = 'demo-smpte';
const OPERATOR_TOKEN = 'operator-token-for-the-limits-test';

function clientFrom(hubUrl: string, ip?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${hubUrl}/client`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...(ip ? { extraHeaders: { 'x-forwarded-for': ip } } : {}),
    });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

describe('per-IP HTTP limits across hubs (3 hubs, real Redis)', () => {
  let redis: RedisProcess;
  const hubs: HubProc[] = [];
  let server: Proc | undefined;
  const sockets: Socket[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'baton-hub-limits-'));

  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < HUBS; i++)
      hubs.push(
        await startRedisHub(redis.url, `rate-${i}`, [
          '--trusted-proxies',
          '127.0.0.1',
          '--http-rate',
          String(HTTP_RATE),
          '--max-unconnected-per-ip',
          String(UNCONNECTED_PER_IP),
          '--operator-token',
          OPERATOR_TOKEN,
        ]),
      );
    await ensureDemoMedia(MEDIA_DIR);
    linkSync(join(MEDIA_DIR, `${ASSET}.webm`), join(tmp, `${ASSET}.webm`));
    server = await startHubServer(
      hubs.map((h) => h.url),
      'limits-1',
      tmp,
    );
  }, 90_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    await stopAll([...(server ? [server] : []), ...hubs]);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(`an address's sessions on one hub count against its per-IP cap on another (${UNCONNECTED_PER_IP} waiting for a connection, cluster-wide)`, async () => {
    // Every hub knows the server's asset (one table): a loopback watch (no per-IP cap) through each succeeds.
    for (const h of hubs) {
      const probe = await clientFrom(h.url);
      sockets.push(probe);
      let r: Ack<WatchReply> = { ok: false } as Ack<WatchReply>;
      for (let i = 0; i < 50 && !r.ok; i++) {
        r = await ask(probe, 'watch', { assetId: ASSET });
        if (!r.ok) await new Promise((res) => setTimeout(res, 200));
      }
      expect(r, h.url).toMatchObject({ ok: true });
      probe.close();
    }
    const ip = '192.0.2.44';
    const [onA, onB] = [await clientFrom(hubs[0]!.url, ip), await clientFrom(hubs[1]!.url, ip)];
    sockets.push(onA, onB);
    const watch = (s: Socket) => ask<Ack<WatchReply>>(s, 'watch', { assetId: ASSET });
    // Three sessions through hub A, none connecting (they wait for WebRTC until the server expires them at 5 s).
    for (let i = 0; i < 3; i++) expect(await watch(onA)).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 3 * SHARED_SESSIONS_SYNC_MS));
    // Hub B counts A's three: one more fits under the cap of 4, the next is refused (alone it would take 4).
    const onBAnswers = [await watch(onB), await watch(onB), await watch(onB)];
    expect(onBAnswers.map((r) => r.ok)).toEqual([true, false, false]);
    expect(onBAnswers[1]).toMatchObject({ code: 'too-many-sessions', message: expect.stringContaining(`limit ${UNCONNECTED_PER_IP}`) });
  }, 60_000);

  // The two 12-s runs below go side by side: their addresses differ, and so do their budgets (the HTTP requests' and
  // the dashboard connections', each counted per address in Redis under a scope of its own). One after another they
  // took ≈ 24 s.
  it.concurrent(`an address sending ${EACH_HUB_PER_S}/s to each of ${HUBS} hubs gets at most one window's budget (${WINDOW_LIMIT}) per window, cluster-wide`, async () => {
    const get = async (hub: string, ip: string) => (await fetch(`${hub}/api/config`, { headers: { 'x-forwarded-for': ip } })).status;
    const accepted = new Map<number, number>(); // window → attacker requests answered 200
    const statuses = new Map<number, number>();
    let bystander = 0;
    let bystanderOk = 0;
    const t0 = Date.now();
    for (let tick = 0; Date.now() - t0 < RUN_MS; tick++) {
      const at = Date.now();
      const answers = await Promise.all(hubs.map((h) => get(h.url, ATTACKER)));
      for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      const window = windowOf(at);
      if (window !== undefined) accepted.set(window, (accepted.get(window) ?? 0) + answers.filter((s) => s === 200).length);
      if (tick % EACH_HUB_PER_S === 0) {
        bystander++;
        if ((await get(hubs[tick % HUBS]!.url, BYSTANDER)) === 200) bystanderOk++;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, at + 1000 / EACH_HUB_PER_S - Date.now())));
    }
    expect([...statuses.keys()].sort()).toEqual([200, 429]);
    // What the hubs accept between two syncs is the slack: each hub's bucket refills 2/s.
    const slack = HUBS * Math.ceil((HTTP_RATE * SHARED_RATE_SYNC_MS) / 1000 + 1);
    for (const [w, n] of accepted) expect(n, `window ${w}: ${JSON.stringify([...accepted])}`).toBeLessThanOrEqual(WINDOW_LIMIT + slack);
    // Without sharing, the longest window here (≥ 4 s of the 12) would take ≥ 3 × (4 + 2 × 4) = 36.
    expect(bystanderOk).toBe(bystander);
  }, 60_000);

  it.concurrent(`an address opening ${DASHBOARD_EACH_HUB_PER_S} dashboards/s on each of ${HUBS} hubs gets one hub's budget (${DASHBOARD_WINDOW_LIMIT}) per window`, async () => {
    const open = (hub: string, ip: string) =>
      // Admitted (true) or refused for the rate (false); any other refusal fails the test.
      new Promise<boolean>((resolve, reject) => {
        const x = io(`${hub}/dashboard`, {
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
          extraHeaders: { 'x-forwarded-for': ip },
          // Behind a proxy an operator's dashboard shows the token: a hub without one opens it to direct local requests only.
          auth: { token: OPERATOR_TOKEN },
        });
        x.once('connect', () => (x.close(), resolve(true)));
        x.once('connect_error', (e) => {
          x.close();
          if (/rate-limited/.test(e.message)) resolve(false);
          else reject(e);
        });
      });
    const admitted = new Map<number, number>(); // window → attacker dashboards admitted
    let refused = 0;
    let bystanderOk = 0;
    const t0 = Date.now();
    for (let tick = 0; Date.now() - t0 < RUN_MS; tick++) {
      const at = Date.now();
      const answers = await Promise.all(hubs.map((h) => open(h.url, '203.0.113.99')));
      const window = windowOf(at);
      if (window !== undefined) admitted.set(window, (admitted.get(window) ?? 0) + answers.filter(Boolean).length);
      refused += answers.filter((a) => !a).length;
      if (tick === 10 && (await open(hubs[1]!.url, '198.51.100.77'))) bystanderOk++;
      await new Promise((r) => setTimeout(r, Math.max(0, at + 1000 / DASHBOARD_EACH_HUB_PER_S - Date.now())));
    }
    expect(refused).toBeGreaterThan(0);
    // Each hub's own bucket refills 2/s between two syncs: the slack.
    const slack = HUBS * Math.ceil((DASHBOARD_CONNECTS_PER_S * SHARED_RATE_SYNC_MS) / 1000 + 1);
    for (const [w, n] of admitted)
      expect(n, `window ${w}: ${JSON.stringify([...admitted])}`).toBeLessThanOrEqual(DASHBOARD_WINDOW_LIMIT + slack);
    // Without sharing, a window of ≥ 6 s here admits 3 × (10 + 2 × 6) = 66.
    expect(bystanderOk).toBe(1);
  }, 60_000);
});
