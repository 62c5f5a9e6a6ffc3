// Three real hubs on a real redis-server: one client address spread over all three (as a load
// balancer would) gets about one hub's HTTP budget per window, not three; another address is not
// touched by it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, SECRET, waitForOutput, type Proc } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { SHARED_RATE_SYNC_MS, SHARED_RATE_WINDOW_MS } from '../../signaling/redis/shared-rate.js';

/** Per hub: 2 requests a second, bursts of 4 (the CLI's burst is twice the rate). */
const HTTP_RATE = 2;
const WINDOW_LIMIT = 2 * HTTP_RATE + (HTTP_RATE * SHARED_RATE_WINDOW_MS) / 1000; // 24
const HUBS = 3;
const RUN_MS = 12_000;
const EACH_HUB_PER_S = 6;
const ATTACKER = '203.0.113.7';
const BYSTANDER = '198.51.100.9';

describe('per-IP HTTP limits across hubs (3 hubs, real Redis)', () => {
  let redis: RedisProcess;
  const hubs: (Proc & { url: string })[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < HUBS; i++) {
      const p = run([
        'hub',
        '--port',
        '0',
        '--redis',
        redis.url,
        '--hub-id',
        `rate-${i}`,
        '--cluster-secret',
        SECRET,
        '--trusted-proxies',
        '127.0.0.1',
        '--http-rate',
        String(HTTP_RATE),
      ]);
      const m = await waitForOutput(p, /listening on (http:\/\/[^\s]+)/, 60_000);
      hubs.push(Object.assign(p, { url: m[1]! }));
    }
  }, 90_000);

  afterAll(async () => {
    for (const p of hubs) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(hubs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000))]);
    for (const p of hubs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await redis?.stop();
  });

  it(`an address sending ${EACH_HUB_PER_S}/s to each of ${HUBS} hubs gets at most one window's budget (${WINDOW_LIMIT}) per window, cluster-wide`, async () => {
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
      const window = Math.floor(at / SHARED_RATE_WINDOW_MS);
      accepted.set(window, (accepted.get(window) ?? 0) + answers.filter((s) => s === 200).length);
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
});
