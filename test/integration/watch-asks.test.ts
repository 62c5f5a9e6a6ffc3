// How many director asks one click in the player costs when its watch fails: real hub, real servers, a real Viewer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { Cluster, THREE_SERVERS } from '../helpers/cluster.js';
import { scrape, sumSeries } from '../helpers/prometheus.js';

const SERVERS = THREE_SERVERS.map((s) => s.id);

/** Every `select` a director answered, summed over the cluster's servers (`baton_server_director_decisions_total`). */
async function directorDecisions(cluster: Cluster): Promise<number> {
  let sum = 0;
  for (const s of (await cluster.state()).servers)
    sum += sumSeries(await scrape(`${s.httpUrl}/metrics`), 'baton_server_director_decisions_total');
  return sum;
}

describe('one click whose watch fails', () => {
  const cluster = new Cluster({
    rotationMs: 0,
    servers: THREE_SERVERS.map((s) => ({ ...s, assets: ['demo-testsrc'] })),
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('asks the director once: the viewer does not repeat a refusal the hub gave after routing', async () => {
    const before = await directorDecisions(cluster);
    // Every holder passed over: the director answers `no-capacity`. The viewer used to ask 3 more times (4 asks).
    const watched = watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-testsrc', avoid: SERVERS, timeoutMs: 30_000 }, () => {});
    await expect(watched).rejects.toMatchObject({ code: 'no-capacity' });
    expect((await directorDecisions(cluster)) - before).toBe(1);
    // A click that can be served still is, and the replicas took every table message the hub sent (none refused).
    const ok = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-testsrc', timeoutMs: 60_000 }, () => {});
    expect(ok.bytes).toBeGreaterThan(0);
    expect((await directorDecisions(cluster)) - before).toBe(2);
    for (const id of SERVERS) expect(cluster.servers.get(id)!.output()).not.toMatch(/malformed/);
  }, 120_000);
});
