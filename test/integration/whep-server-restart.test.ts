// A media server SIGKILLed and started again under its id: the hub drops the WHEP players it held for the old process
// when the new one registers (its instance differs), so they no longer fill the per-address bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, ROOT, type ServerSpec } from '../helpers/cluster.js';
import { scrape } from '../helpers/prometheus.js';
import { MAX_WHEP_RESOURCES_PER_IP } from '../../signaling/whep-routes.js';

const OFFER = readFileSync(join(ROOT, 'test/fixtures/whep-offer.sdp'), 'utf8');
const SERVER: ServerSpec = {
  id: 'w-1',
  region: 'eu-west',
  lat: 48.86,
  lon: 2.35,
  assets: ['demo-smpte'],
  extraArgs: ['--rtc-bind-address', '127.0.0.1'],
};

describe('WHEP players of a media server restarted under the same id', () => {
  // The players come from one public address through a trusted proxy (loopback has no per-address bound).
  const cluster = new Cluster({ servers: [SERVER], hubArgs: ['--trusted-proxies', '127.0.0.1'] });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  const post = () =>
    fetch(`${cluster.hubUrl}/whep/demo-smpte`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', 'x-forwarded-for': '203.0.113.7' },
      body: OFFER,
    });
  const players = async () => (await scrape(`${cluster.hubUrl}/metrics`)).get('baton_hub_whip_whep_resources{kind="whep"}');

  it('the hub’s count falls to 0 when the new process registers, and the address may play again', async () => {
    const statuses = [];
    for (let i = 0; i < MAX_WHEP_RESOURCES_PER_IP; i++) statuses.push((await post()).status);
    expect(statuses.every((s) => s === 201)).toBe(true);
    expect(await players()).toBe(MAX_WHEP_RESOURCES_PER_IP);
    expect((await post()).status).toBe(429);

    // Killed: it says nothing more about its players. Started again at once, well within their 15-s connect timeout.
    await cluster.kill('w-1');
    await cluster.startServer(SERVER);
    await expect.poll(players, { timeout: 5_000 }).toBe(0);
    const again = await post();
    expect(again.status, await again.clone().text()).toBe(201);
    expect(again.headers.get('x-baton-server')).toBe('w-1');
  }, 90_000);
});
