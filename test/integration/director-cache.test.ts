// When balance overrides the cache, with real processes: a quiet cluster serves the second viewer from
// the first one's cache; a holder over the bound sends it elsewhere, unless the bound is off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { DEFAULT_CACHE_FLOOR } from '../../node-app/director/select.js';
import { Cluster, THREE_SERVERS, waitFor } from '../helpers/cluster.js';

/** 20 s at ≈ 1.8 Mbit/s: on a 4-Mbit/s uplink one viewer is ≈ 0.45 of it. */
const ASSET = 'demo-mandelbrot';
/**
 * fra-1 (the first viewer's server: its first request passes over the others) has a
 * 4-Mbit/s uplink, the others 1 Gbit/s: one viewer takes fra-1 past the cache floor and
 * (1 + ε) × the mean, and an idle server stays under the bound with the next one. The load
 * factor weighs egress only, so that CPU noise on a shared machine decides nothing.
 */
const UNEVEN = THREE_SERVERS.map((s) => ({
  ...s,
  extraArgs: ['--uplink-mbps', s.id === 'fra-1' ? '4' : '1000', '--load-weights', 'sessions=0,egress=1,cpu=0'],
}));

/** Starts a paced viewer and resolves with the id of the server streaming to it once bytes flow. */
function firstViewer(hubUrl: string, avoid?: string[]): { server: Promise<string>; done: Promise<unknown> } {
  let found: (id: string) => void = () => {};
  const server = new Promise<string>((r) => (found = r));
  const done = watchStream({ hubUrl, assetId: ASSET, timeoutMs: 90_000, avoid }, (_bytes, viewer) => {
    if (viewer.session) found(viewer.session.server.id);
  });
  done.catch(() => undefined);
  return { server, done };
}

/**
 * Waits until the hub's table shows `holder` caching the asset at a load factor past the cache
 * floor but well under the threshold (0.85): over the bound, not over the threshold. The
 * fast-start burst first takes the holder past the threshold for a heartbeat or two.
 */
function holderBusy(cluster: Cluster, holder: string): Promise<unknown> {
  return waitFor(`${holder} caching ${ASSET} at a load factor in (${DEFAULT_CACHE_FLOOR}, ${BUSY_UNDER_THRESHOLD})`, async () => {
    const row = (await cluster.state()).servers.find((s) => s.id === holder);
    return row && row.cache.includes(ASSET) && row.loadFactor > DEFAULT_CACHE_FLOOR && row.loadFactor < BUSY_UNDER_THRESHOLD;
  });
}
const BUSY_UNDER_THRESHOLD = 0.7;

// The three cases run side by side, each on a cluster of its own: a server's load factor is its own egress (and, in the
// first, its own process's CPU), which another cluster's viewers do not move. One after another they took ≈ 39 s, most
// of it waiting on paced viewers.
describe.concurrent('director: three idle servers', () => {
  const cluster = new Cluster({ servers: THREE_SERVERS });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it("serves a second viewer 2 s after the first from the first viewer's cache", async () => {
    const first = firstViewer(cluster.hubUrl);
    const holder = await first.server;
    await new Promise((r) => setTimeout(r, 2_000));
    const second = await watchStream({ hubUrl: cluster.hubUrl, assetId: ASSET, fast: true, timeoutMs: 90_000 }, () => {});
    expect({ server: second.server, reason: second.reason }).toEqual({
      server: holder,
      reason: expect.stringMatching(/^(cache|director-cache)$/),
    });
    await first.done;
  }, 120_000);
});

describe.concurrent('director: the cache holder is over the bound', () => {
  const cluster = new Cluster({ servers: UNEVEN });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('sends the second viewer to a quieter server, from storage', async () => {
    // The bounded director would put even the first viewer on a 1-Gbit/s server (one viewer is
    // 0.45 of fra-1's uplink): pin it to fra-1, which is the holder this case is about.
    const first = firstViewer(cluster.hubUrl, ['iad-1', 'sin-1']);
    const holder = await first.server;
    expect(holder).toBe('fra-1');
    // The positive signal: the hub's table shows the holder caching the asset, past the floor and under the threshold.
    await holderBusy(cluster, holder);
    const second = await watchStream({ hubUrl: cluster.hubUrl, assetId: ASSET, fast: true, timeoutMs: 90_000 }, () => {});
    expect(second.server).not.toBe(holder);
    expect(second.reason).toBe('storage');
    await first.done;
  }, 120_000);
});

describe.concurrent('director: the same load with --load-bound off', () => {
  const cluster = new Cluster({ servers: UNEVEN.map((s) => ({ ...s, extraArgs: [...s.extraArgs, '--load-bound', 'off'] })) });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('keeps the second viewer on the cache holder: only the threshold applies', async () => {
    const first = firstViewer(cluster.hubUrl, ['iad-1', 'sin-1']);
    const holder = await first.server;
    expect(holder).toBe('fra-1');
    await holderBusy(cluster, holder);
    const second = await watchStream({ hubUrl: cluster.hubUrl, assetId: ASSET, fast: true, timeoutMs: 90_000 }, () => {});
    expect({ server: second.server, reason: second.reason }).toEqual({
      server: holder,
      reason: expect.stringMatching(/^(cache|director-cache)$/),
    });
    await first.done;
  }, 120_000);
});
