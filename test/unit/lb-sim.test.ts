// The cluster simulator: production modules by identity, exact accounting on a hand-computed trace.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createCache, DEFAULT_CACHE_POLICY } from '../../node-app/cache/index.js';
import { nextDirector } from '../../signaling/policies/rotation.js';
import { DEFAULT_LOAD_BOUND, placeViewer, selectServer } from '../../node-app/director/select.js';
import { DEFAULT_LOAD_WEIGHTS } from '../../signaling/protocol/load-factor.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import { BASELINES, boundedLoadPolicy, type ClusterView } from '../../bench/lb-policies.js';
import { batonPolicy, makeWorkload, POLICIES, PRODUCTION, simulate, type SimOptions, type Workload } from '../../bench/lb-sim.js';

/**
 * Two servers, two assets at 1,000 bytes/s (8 kbit/s) in 1,000-byte blocks, four viewers:
 *
 *   t=0     v1 asks for A (3 blocks, 3 s)
 *   t=500   v3 asks for B (2,500 bytes: 2 full blocks and a 500-byte one, 2.5 s)
 *   t=900   v2 asks for A
 *   t=1200  v4 asks for A
 *
 * The caches (10,000 bytes) are too small for any prefix (a prefix may take an
 * eighth of the 10% prefix share, 125 bytes, less than a block), so only
 * interval caching can serve a viewer from RAM.
 */
const tiny: Workload = Object.freeze({
  servers: [
    { id: 's0', uplinkMbps: 1, maxSessions: 10, cacheBytes: 10_000 },
    { id: 's1', uplinkMbps: 1, maxSessions: 10, cacheBytes: 10_000 },
  ],
  assets: [
    { id: 'A', bytes: 3_000, bitrateBps: 8_000, durationMs: 3_000 },
    { id: 'B', bytes: 2_500, bitrateBps: 8_000, durationMs: 2_500 },
  ],
  arrivals: { atMs: Float64Array.from([0, 500, 900, 1_200]), asset: Int32Array.from([0, 1, 0, 0]) },
  warmupMs: 0,
});
// The hand-computed figures below are interval caching's (pairs only); the default (gic) is checked apart.
const tinyOpts: SimOptions = {
  blockBytes: 1_000,
  heartbeatMs: 1_000,
  rotationMs: 30_000,
  measureFromMs: 0,
  measureUntilMs: 10_000,
  cachePolicy: 'interval',
};

describe('lb-sim — the production modules', () => {
  it('runs the real selectServer, nextDirector, createCache and StateTable', () => {
    expect(PRODUCTION.selectServer).toBe(selectServer);
    expect(PRODUCTION.placeViewer).toBe(placeViewer);
    expect(PRODUCTION.nextDirector).toBe(nextDirector);
    expect(PRODUCTION.createCache).toBe(createCache);
    expect(PRODUCTION.StateTable).toBe(StateTable);
  });

  it("runs the media server's default cache policy (gic) unless told otherwise", () => {
    expect(DEFAULT_CACHE_POLICY).toBe('gic');
    const { cachePolicy: _, ...defaults } = tinyOpts;
    const r = simulate(tiny, POLICIES['consistent-hash']!, defaults);
    expect(r.cachePolicy).toBe('gic');
    const gic = simulate(tiny, POLICIES['consistent-hash']!, { ...tinyOpts, cachePolicy: 'gic' });
    expect([r.storageBytes, r.cacheBytes]).toEqual([gic.storageBytes, gic.cacheBytes]);
    // gic also keeps A (asked for three times) whole once its gap is known: one more block of A comes from RAM.
    const interval = simulate(tiny, POLICIES['consistent-hash']!, tinyOpts);
    expect(r.storageBytes).toBe(interval.storageBytes - 1_000);
  });

  it('compares Baton with every baseline', () => {
    expect(Object.keys(POLICIES)).toEqual(['baton', ...Object.keys(BASELINES), 'baton-unbounded']);
    for (const [name, factory] of Object.entries(BASELINES)) expect(POLICIES[name]).toBe(factory);
  });
});

describe('lb-sim — exact accounting on a hand-computed trace', () => {
  // Load factors (default weights: 0.8 egress + 0.2 CPU, CPU modelled as egress ÷ uplink): one
  // 8-kbit/s viewer counts 0.8 × 0.008 = 0.0064 when placed (reserved), 0.008 once reported.
  it("Baton without the bound: placed viewers count at once, so B goes to s1; v4 follows A into the director's cache", () => {
    const r = simulate(tiny, POLICIES['baton-unbounded']!, tinyOpts);
    // v1 reads A from storage and, once v2 trails it, keeps each block for v2
    // (blocks 1, 2); v2 keeps them for v4 in turn. Block 0 of A is read before
    // any pair exists, so v2 and v4 read it from storage. B is alone: storage.
    expect(r.storageBytes).toBe(3_000 + 1_000 + 2_500 + 1_000);
    expect(r.cacheBytes).toBe(2_000 + 2_000);
    expect(r.viewerBytes).toBe(11_500);
    // The window (0–10 s) covers the whole run here.
    expect([r.windowCacheBytes, r.windowStorageBytes]).toEqual([r.cacheBytes, r.storageBytes]);
    expect(r.cacheServedShare).toBeCloseTo(4_000 / 11_500, 12);
    // The caches' own counters say the same.
    expect(r.cacheHitBytes).toBe(r.cacheBytes);
    expect(r.cacheMissBytes).toBe(r.storageBytes);
    // v1 → s0 (idle tie → smaller id); v3 → s1 (s0 holds v1's reservation, 0.0064);
    // v2 → s0 (0.0064 each: tie); v4 by the director-cache rule: s0 directs and holds A since t=1000.
    expect(r.extra).toEqual({ storage: 3, 'director-cache': 1 });
    // Samples at t = 1, 2, 3, 4 s: s0 {v1,v2} ÷ s1 {v3} = 16 ÷ 12; then {v1,v2,v4} ÷ {v3} = 24 ÷ 16;
    // then v1 and v3 have left: {v2,v4} alone, then {v4} alone: 2.
    expect(r.samples).toBe(4);
    expect(r.maxMeanLoad).toBe(2);
    expect(r.maxMeanLoadAvg).toBeCloseTo((16 / 12 + 24 / 16 + 2 + 2) / 4, 12);
    expect(r.meanUtilisation).toBeCloseTo((0.012 + 0.016 + 0.008 + 0.004) / 4, 12);
    expect(r.rejected).toBe(0);
    expect(r.blockReads).toBe(3 + 3 + 3 + 3);
    expect(r.simulatedMs).toBe(4_200); // v4 leaves at 1.2 s + 3 s
  });

  it("Baton as shipped: every server is far under the cache floor (0.3), so v4 follows A into the director's cache as without the bound", () => {
    const r = simulate(tiny, POLICIES.baton!, tinyOpts);
    const unbounded = simulate(tiny, POLICIES['baton-unbounded']!, tinyOpts);
    expect(r.extra).toEqual({ storage: 3, 'director-cache': 1 });
    expect([r.storageBytes, r.cacheBytes]).toEqual([unbounded.storageBytes, unbounded.cacheBytes]);
  });

  it('with no cache floor the bound alone (ε 0.2) keeps v4 off s0: with v4 it would be above 1.2 × the mean', () => {
    const r = simulate(tiny, batonPolicy('baton-no-floor', DEFAULT_LOAD_WEIGHTS, DEFAULT_LOAD_BOUND, 0), tinyOpts);
    // v1: an idle cluster has no server under the bound → threshold only → s0.
    // v3: s0 would reach 0.0128 > 1.2 × (0.0032 + 0.0032); s1 0.0064 ≤ 0.00768 → s1.
    // v2: neither fits 1.2 × (0.0064 + 0.0032) → threshold only → tie → s0.
    // v4 (t=1.2 s, loads reported at 1 s: s0 0.016, s1 0.008, mean 0.012): s0 would reach
    // 0.0224 > 1.2 × (0.012 + 0.0032) = 0.01824, s1 0.0144 fits → s1, from storage.
    expect(r.extra).toEqual({ storage: 4 });
    expect(r.storageBytes).toBe(3_000 + 1_000 + 2_500 + 3_000);
    expect(r.cacheBytes).toBe(2_000);
    // t = 1, 2, 3, 4 s: 16 ÷ 12, then 16 ÷ 16 twice, then v4 alone on s1.
    expect(r.maxMeanLoadAvg).toBeCloseTo((16 / 12 + 1 + 1 + 2) / 4, 12);
  });

  it('bounded loads held to a share of each uplink (the capped what-if) refuse whom no server has room for', () => {
    // One 8-kbit/s viewer fills 0.008 of a 1-Mbit/s uplink: a 0.01 cap leaves room for one per server.
    const capped = simulate(tiny, boundedLoadPolicy(undefined, 0.01), tinyOpts);
    expect(capped.policy).toBe('bounded-load-capped');
    expect(capped.rejected).toBe(2); // v2 and v4 arrive while v1 and v3 still stream
    expect(capped.peak!.egressUtil).toBeLessThanOrEqual(0.01);
    expect(simulate(tiny, boundedLoadPolicy(), tinyOpts).rejected).toBe(0);
  });

  it('least loaded: v4 goes to s1 and streams alone; only v2 shares v1’s interval', () => {
    const r = simulate(tiny, POLICIES['least-loaded']!, tinyOpts);
    expect(r.storageBytes).toBe(3_000 + 2_500 + 1_000 + 3_000);
    expect(r.cacheBytes).toBe(2_000);
    expect(r.cacheHitBytes).toBe(r.cacheBytes);
    expect(r.cacheMissBytes).toBe(r.storageBytes);
    // t=1 s: s0 {v1, v2}, s1 {v3}: 16 ÷ 12 kbit/s. t=2 s: s1 has v4 too, balanced.
    // t=3 s: v1 and v3 gone, s0 {v2}, s1 {v4}. t=4 s: s1 {v4} only, peak ÷ mean = 2.
    expect(r.samples).toBe(4);
    expect(r.maxMeanLoad).toBe(2);
    expect(r.maxMeanLoadAvg).toBeCloseTo((4 / 3 + 1 + 1 + 2) / 4, 12);
  });

  it('consistent hashing puts every viewer of A on one server', () => {
    const r = simulate(tiny, POLICIES['consistent-hash']!, tinyOpts);
    expect(r.storageBytes).toBe(7_500);
    expect(r.cacheBytes).toBe(4_000);
  });

  it('the measurement window counts only the block reads inside it', () => {
    // From t = 2 s to 3 s: v1 reads A#2 (storage) at 2.0, v4 A#1 (cache) at 2.2, v3 B#2
    // (500 bytes, storage) at 2.5, v2 A#2 (cache) at 2.9; v4's A#2 at 3.2 is outside.
    const r = simulate(tiny, POLICIES['baton-unbounded']!, { ...tinyOpts, measureFromMs: 2_000, measureUntilMs: 3_000 });
    expect(r.windowStorageBytes).toBe(1_000 + 500);
    expect(r.windowCacheBytes).toBe(1_000 + 1_000);
    expect(r.cacheServedShare).toBeCloseTo(2_000 / 3_500, 12);
    expect(r.samples).toBe(2); // t = 2 s and 3 s
  });
});

describe('lb-sim — invariants on small generated workloads', () => {
  const small = (seed: number) =>
    makeWorkload({
      seed,
      requests: 300,
      servers: 4,
      bigPerTen: 5,
      uplinkMbps: 100,
      bigUplinkMbps: 200,
      cacheBytesPerGbps: 2_000_000_000,
      assets: 40,
      zipfAlpha: 1.1,
      minDurationMs: 60_000,
      maxDurationMs: 600_000,
      minBitrateBps: 1_000_000,
      maxBitrateBps: 4_000_000,
      utilisation: 0.3, // low enough that Baton's threshold never refuses anyone
    });

  it('every policy streams every byte of every admitted viewer, from storage or a cache', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(...Object.keys(POLICIES)), (seed, name) => {
        const w = small(seed);
        const r = simulate(w, POLICIES[name]!, { blockBytes: 1_000_000, seed });
        let expected = 0;
        for (let i = 0; i < w.arrivals.asset.length; i++) expected += w.assets[w.arrivals.asset[i]!]!.bytes;
        expect(r.rejected).toBe(0);
        expect(r.viewerBytes).toBe(expected);
        expect(r.cacheHitBytes).toBe(r.cacheBytes);
        expect(r.cacheMissBytes).toBe(r.storageBytes);
      }),
      { numRuns: 12 },
    );
  });

  it('the same seed gives the same trace and the same result', () => {
    const a = simulate(small(7), POLICIES.baton!, { blockBytes: 1_000_000 });
    const b = simulate(small(7), POLICIES.baton!, { blockBytes: 1_000_000 });
    expect({ ...b, wallMs: 0 }).toEqual({ ...a, wallMs: 0 });
  });
});

describe('lb-policies — baselines', () => {
  const view = (loads: number[], caps: number[]): ClusterView => ({
    size: loads.length,
    ids: loads.map((_, i) => `s${i}`),
    capacityMbps: Float64Array.from(caps),
    loadMbps: Float64Array.from(loads),
    totalLoadMbps: () => loads.reduce((a, b) => a + b, 0),
    totalCapacityMbps: caps.reduce((a, b) => a + b, 0),
  });
  const req = (asset: number) => ({ asset, assetId: `asset-${asset}`, bitrateMbps: 5, now: 0 });

  it('consistent hashing sends an asset to the same server whatever the loads', () => {
    const v = view([0, 0, 0, 0], [1000, 1000, 2000, 1000]);
    const ch = BASELINES['consistent-hash']!(v, Math.random);
    const first = Array.from({ length: 50 }, (_, a) => ch.pick(req(a)));
    v.loadMbps.set([900, 900, 1900, 900]);
    expect(Array.from({ length: 50 }, (_, a) => ch.pick(req(a)))).toEqual(first);
  });

  it('bounded loads never places a viewer above (1 + ε) × the mean utilisation when a server is under it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 2, maxLength: 8 }), fc.nat(1000), (loads, asset) => {
        const caps = loads.map((_, i) => (i % 2 ? 2000 : 1000));
        const v = view(loads, caps);
        const s = BASELINES['bounded-load']!(v, Math.random).pick(req(asset));
        const bound = 1.25 * ((v.totalLoadMbps() + 5) / v.totalCapacityMbps);
        const anyFits = loads.some((l, i) => (l + 5) / caps[i]! <= bound);
        if (anyFits) expect((loads[s]! + 5) / caps[s]!).toBeLessThanOrEqual(bound);
      }),
    );
  });

  it('least loaded follows load changes; round robin visits servers in proportion to capacity', () => {
    const v = view([10, 0, 30], [1000, 1000, 2000]);
    const ll = BASELINES['least-loaded']!(v, Math.random);
    expect(ll.pick(req(0))).toBe(1);
    v.loadMbps[1] = 50;
    ll.loadChanged!(1);
    expect(ll.pick(req(0))).toBe(0);
    const rr = BASELINES['round-robin']!(v, Math.random);
    const counts = [0, 0, 0];
    for (let i = 0; i < 400; i++) counts[rr.pick(req(i))]!++;
    expect(counts).toEqual([100, 100, 200]);
  });
});
