// The director's viewer policy: tier order, load factor, exclusions and error codes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_CACHE_FLOOR, DEFAULT_LOAD_BOUND, placeViewer, selectServer, type SelectResult } from '../../node-app/director/select.js';
import { DEFAULT_LOAD_WEIGHTS, isOverloaded, loadFactor, oneViewerLoad, type LoadWeights } from '../../signaling/protocol/load-factor.js';
import { StateTable, type ServerRow } from '../../signaling/protocol/state-table.js';
import type { LiveInfo, ServerEntry, ServerLoad } from '../../signaling/protocol/types.js';

const W = DEFAULT_LOAD_WEIGHTS;
const opts = { weights: W };

// Named, frozen load fixtures (maxSessions 100, uplink 1000 Mbps).
const idle: ServerLoad = Object.freeze({ sessions: 0, egressMbps: 0, cpu: 0 });
const light: ServerLoad = Object.freeze({ sessions: 20, egressMbps: 100, cpu: 0.1 });
const busy: ServerLoad = Object.freeze({ sessions: 60, egressMbps: 500, cpu: 0.5 });
const overThreshold: ServerLoad = Object.freeze({ sessions: 90, egressMbps: 900, cpu: 0.9 });
const slotsFull: ServerLoad = Object.freeze({ sessions: 100, egressMbps: 0, cpu: 0 });

function server(id: string, load: ServerLoad, has: { cache?: string[]; storage?: string[]; live?: [string, boolean][] } = {}): ServerEntry {
  return {
    id,
    region: 'eu-central',
    lat: 50,
    lon: 8,
    roles: ['edge'],
    maxSessions: 100,
    uplinkMbps: 1000,
    joinedAtMs: 0,
    load,
    cache: has.cache ?? [],
    storage: (has.storage ?? []).map((a) => ({ id: a, bytes: 1000, mime: 'video/webm' })),
    live: (has.live ?? []).map(([a, on]): LiveInfo => ({ id: a, bytes: 10, live: on, mime: 'video/webm', startedAtMs: 0 })),
  };
}

function tableOf(...entries: ServerEntry[]): StateTable {
  const t = new StateTable();
  for (const e of entries) t.commit({ type: 'server-joined', server: e });
  return t;
}

/** A table whose whole-table views throw: selection must use the asset indexes only. */
class IndexOnlyTable extends StateTable {
  override servers(): IterableIterator<ServerRow> {
    throw new Error('selectServer scanned every server');
  }
  override ids(): string[] {
    throw new Error('selectServer listed every server');
  }
}

describe('selectServer — examples', () => {
  it('serves from the director itself when the asset is in its cache and it has room', () => {
    const t = tableOf(server('dir', busy, { cache: ['a'] }), server('s1', idle, { cache: ['a'] }));
    expect(selectServer(t, { assetId: 'a' }, 'dir', opts)).toEqual({
      ok: true,
      serverId: 'dir',
      reason: 'director-cache',
      loadFactor: loadFactor({ maxSessions: 100, uplinkMbps: 1000, load: busy }, W),
    });
  });

  it('passes over an overloaded director to the least-loaded cache holder', () => {
    const t = tableOf(
      server('dir', overThreshold, { cache: ['a'] }),
      server('s1', busy, { cache: ['a'] }),
      server('s2', light, { cache: ['a'] }),
      server('s3', idle, { storage: ['a'] }),
    );
    const r = selectServer(t, { assetId: 'a' }, 'dir', opts);
    expect(r).toMatchObject({ ok: true, serverId: 's2', reason: 'cache' });
  });

  it('treats a server with every session slot taken as over the threshold', () => {
    const t = tableOf(server('s1', slotsFull, { cache: ['a'] }), server('s2', busy, { storage: ['a'] }));
    expect(selectServer(t, { assetId: 'a' }, 'dir', opts)).toMatchObject({ ok: true, serverId: 's2', reason: 'storage' });
  });

  it('prefers a live ingest over storage, and an ended live stream counts as storage', () => {
    const t = tableOf(server('s1', idle, { storage: ['a'] }), server('s2', busy, { live: [['a', true]] }));
    expect(selectServer(t, { assetId: 'a' }, 'dir', opts)).toMatchObject({ serverId: 's2', reason: 'live' });

    const ended = tableOf(server('s1', busy, { storage: ['a'] }), server('s2', idle, { live: [['a', false]] }));
    expect(selectServer(ended, { assetId: 'a' }, 'dir', opts)).toMatchObject({ serverId: 's2', reason: 'storage' });
  });

  it('breaks load-factor ties by the smaller id', () => {
    const t = tableOf(server('s3', light, { cache: ['a'] }), server('s1', light, { cache: ['a'] }), server('s2', light, { cache: ['a'] }));
    expect(selectServer(t, { assetId: 'a' }, 'dir', opts)).toMatchObject({ serverId: 's1', reason: 'cache' });
  });

  it('honours exclude, also for the director itself', () => {
    const t = tableOf(server('dir', idle, { cache: ['a'] }), server('s1', busy, { cache: ['a'] }), server('s2', idle, { storage: ['a'] }));
    expect(selectServer(t, { assetId: 'a', exclude: ['dir'] }, 'dir', opts)).toMatchObject({ serverId: 's1', reason: 'cache' });
    expect(selectServer(t, { assetId: 'a', exclude: ['dir', 's1'] }, 'dir', opts)).toMatchObject({ serverId: 's2', reason: 'storage' });
  });

  it('answers unknown-asset when nobody holds it and no-capacity when every holder is busy or excluded', () => {
    const t = tableOf(server('s1', overThreshold, { storage: ['a'] }), server('s2', idle, { cache: ['b'] }));
    expect(selectServer(t, { assetId: 'zzz' }, 's2', opts)).toMatchObject({ ok: false, code: 'unknown-asset' });
    expect(selectServer(t, { assetId: 'a' }, 's2', opts)).toMatchObject({ ok: false, code: 'no-capacity' });
    expect(selectServer(t, { assetId: 'b', exclude: ['s2'] }, 's2', opts)).toMatchObject({ ok: false, code: 'no-capacity' });
  });

  it('uses the weights it is given: a lower threshold turns a busy server away', () => {
    const t = tableOf(server('s1', busy, { cache: ['a'] }), server('s2', light, { storage: ['a'] }));
    const strict: LoadWeights = { ...W, threshold: 0.3 };
    expect(selectServer(t, { assetId: 'a' }, 'x', opts)).toMatchObject({ serverId: 's1', reason: 'cache' });
    expect(selectServer(t, { assetId: 'a' }, 'x', { weights: strict })).toMatchObject({ serverId: 's2', reason: 'storage' });
  });

  it('passes over a shorter copy of an asset (a salvaged broadcast) while a holder of the longest can take the viewer', () => {
    const sized = (e: ServerEntry, bytes: number): ServerEntry => ({ ...e, storage: e.storage.map((a) => ({ ...a, bytes })) });
    const t = tableOf(
      sized(server('cut', idle, { cache: ['a'], storage: ['a'] }), 600),
      sized(server('whole', busy, { storage: ['a'] }), 1000),
    );
    // The idle server holds it in its cache, even as the director: the longer copy is still preferred.
    expect(selectServer(t, { assetId: 'a' }, 'x', opts)).toMatchObject({ serverId: 'whole', reason: 'storage' });
    expect(selectServer(t, { assetId: 'a' }, 'cut', { weights: W, loadBound: DEFAULT_LOAD_BOUND })).toMatchObject({
      serverId: 'whole',
      reason: 'storage',
    });
    // Only the shorter copy left (the longest excluded, or over the threshold): it plays rather than nothing.
    expect(selectServer(t, { assetId: 'a', exclude: ['whole'] }, 'x', opts)).toMatchObject({ serverId: 'cut', reason: 'cache' });
    const full = tableOf(
      sized(server('cut', idle, { storage: ['a'] }), 600),
      sized(server('whole', overThreshold, { storage: ['a'] }), 1000),
    );
    expect(selectServer(full, { assetId: 'a' }, 'x', opts)).toMatchObject({ serverId: 'cut', reason: 'storage' });
  });

  it('decides from the asset indexes without scanning the table', () => {
    const t = new IndexOnlyTable();
    for (let i = 0; i < 50; i++) t.commit({ type: 'server-joined', server: server(`s${i}`, idle, { storage: [`a${i}`] }) });
    expect(selectServer(t, { assetId: 'a7' }, 's0', opts)).toMatchObject({ serverId: 's7', reason: 'storage' });
    expect(selectServer(t, { assetId: 'nope' }, 's0', opts)).toMatchObject({ code: 'unknown-asset' });
  });
});

describe('selectServer — bounded loads', () => {
  // Four servers of 100 slots and 1 Gbit/s; s0 caches `a`, everyone stores it.
  const sessionsOnly: LoadWeights = { sessions: 1, egress: 0, cpu: 0, threshold: 0.85 };
  const egressOnly: LoadWeights = { sessions: 0, egress: 1, cpu: 0, threshold: 0.85 };
  const four = (s0: ServerLoad, others: ServerLoad, bitrateBps?: number) => {
    const withRate = (e: ServerEntry) => ({ ...e, storage: e.storage.map((a) => ({ ...a, ...(bitrateBps ? { bitrateBps } : {}) })) });
    return tableOf(
      withRate(server('s0', s0, { cache: ['a'], storage: ['a'] })),
      ...['s1', 's2', 's3'].map((id) => withRate(server(id, others, { storage: ['a'] }))),
    );
  };
  const load = (sessions: number, egressMbps = 0): ServerLoad => ({ sessions, egressMbps, cpu: 0 });

  it('keeps the cache holder while it stays under (1 + ε) × the mean with the viewer counted', () => {
    // No cache floor here (see the quiet-cluster tests below): the relative bound alone.
    const bound = { weights: sessionsOnly, loadBound: 0.25, cacheFloor: 0 };
    // s0 at 0.26, others 0.20: with the viewer s0 is at 0.27 ≤ 1.25 × (0.215 + 0.01 / 4) = 0.2719.
    const t = four(load(26), load(20));
    expect(selectServer(t, { assetId: 'a' }, 'x', bound)).toMatchObject({ serverId: 's0', reason: 'cache' });
    // At 0.27 it would reach 0.28 > 1.25 × (0.2175 + 0.0025) = 0.275: the least-loaded other server starts an interval.
    const u = four(load(27), load(20));
    expect(selectServer(u, { assetId: 'a' }, 'x', bound)).toMatchObject({ serverId: 's1', reason: 'storage' });
    // Without the bound the cache wins at any load under the threshold.
    expect(selectServer(u, { assetId: 'a' }, 'x', { weights: sessionsOnly })).toMatchObject({ serverId: 's0', reason: 'cache' });
  });

  it("counts the viewer's bitrate on the holder's uplink", () => {
    // Egress 260 of 1,000 Mbit/s, others 200: a 10-Mbit/s viewer fits the bound, a 40-Mbit/s one does not.
    const bound = { weights: egressOnly, loadBound: 0.25, cacheFloor: 0 };
    expect(selectServer(four(load(0, 260), load(0, 200), 10e6), { assetId: 'a' }, 'x', bound)).toMatchObject({ serverId: 's0' });
    expect(selectServer(four(load(0, 260), load(0, 200), 40e6), { assetId: 'a' }, 'x', bound)).toMatchObject({ serverId: 's1' });
  });

  it('never refuses for balance: with no holder under the bound, the threshold alone decides', () => {
    const t = tableOf(server('s0', load(60), { cache: ['a'], storage: ['a'] }), server('s1', idle, { storage: ['b'] }));
    expect(selectServer(t, { assetId: 'a' }, 's1', { weights: sessionsOnly, loadBound: 0 })).toMatchObject({
      ok: true,
      serverId: 's0',
      reason: 'cache',
    });
  });

  // The quiet cluster of issue 12 (C1): three cache holders at load factors 0.15–0.18 under the
  // default weights, and an idle director that has the asset on disk only.
  const factor = (f: number): ServerLoad => Object.freeze({ sessions: Math.round(f * 20), egressMbps: f * 1000, cpu: f });
  const holderAt15 = factor(0.15);
  const holderAt16 = factor(0.16);
  const holderAt18 = factor(0.18);
  const quietCluster = () =>
    tableOf(
      server('dir', idle, { storage: ['a'] }),
      server('h15', holderAt15, { cache: ['a'], storage: ['a'] }),
      server('h16', holderAt16, { cache: ['a'], storage: ['a'] }),
      server('h18', holderAt18, { cache: ['a'], storage: ['a'] }),
    );
  const shipped = { weights: W, loadBound: DEFAULT_LOAD_BOUND };

  it('in a quiet cluster a cache holder with headroom beats an idle storage holder (the director itself)', () => {
    const t = quietCluster();
    // Every holder is over (1 + ε) × mean = 1.2 × 0.1225: only the floor keeps the cache hit.
    expect(loadFactor(t.get('h15')!, W)).toBeCloseTo(0.15, 10);
    expect(selectServer(t, { assetId: 'a' }, 'dir', shipped)).toMatchObject({ ok: true, serverId: 'h15', reason: 'cache' });
    // The director's own cache counts the same way.
    const own = tableOf(server('dir', holderAt18, { cache: ['a'], storage: ['a'] }), server('s1', idle, { storage: ['a'] }));
    expect(selectServer(own, { assetId: 'a' }, 'dir', shipped)).toMatchObject({ serverId: 'dir', reason: 'director-cache' });
  });

  it('past the floor and over the bound, a cache holder gives way to a quieter storage holder', () => {
    const over = DEFAULT_CACHE_FLOOR + 0.1;
    const t = tableOf(
      server('dir', idle, { storage: ['a'] }),
      server('h', factor(over), { cache: ['a'], storage: ['a'] }),
      server('s2', factor(0.05), { storage: ['a'] }),
    );
    expect(selectServer(t, { assetId: 'a' }, 'dir', shipped)).toMatchObject({ serverId: 'dir', reason: 'storage' });
    // Under the bound it keeps the viewer even past the floor: the cluster is as busy as it is.
    const busyToo = tableOf(
      server('h', factor(over), { cache: ['a'], storage: ['a'] }),
      ...['s1', 's2'].map((id) => server(id, factor(over - 0.02), { storage: ['a'] })),
    );
    expect(selectServer(busyToo, { assetId: 'a' }, 'dir', shipped)).toMatchObject({ serverId: 'h', reason: 'cache' });
  });

  it('placeViewer counts each placed viewer until the next load report, so a burst spreads out', () => {
    const t = tableOf(...['s0', 's1', 's2'].map((id) => server(id, idle, { storage: ['a'] })));
    const picks = Array.from({ length: 6 }, () => placeViewer(t, { assetId: 'a' }, 'x', { weights: sessionsOnly }));
    expect(picks.map((r) => (r.ok ? r.serverId : r.code))).toEqual(['s0', 's1', 's2', 's0', 's1', 's2']);
    expect(t.get('s0')!.load.sessions).toBe(2);
    t.commit({ type: 'load', id: 's0', load: idle });
    expect(t.get('s0')!.load.sessions).toBe(0);
  });
});

// ---- properties -------------------------------------------------------------------------

const IDS = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];
const ASSETS = ['a0', 'a1', 'a2'];

const loadArb = fc.record({
  // Coarse values so ties in load factor happen often.
  sessions: fc.constantFrom(0, 10, 50, 80, 100),
  egressMbps: fc.constantFrom(0, 100, 500, 900),
  cpu: fc.constantFrom(0, 0.2, 0.5, 1),
});
const serverArb = (id: string) =>
  fc
    .record({
      load: loadArb,
      cache: fc.subarray(ASSETS),
      storage: fc.subarray(ASSETS),
      live: fc.subarray(ASSETS).chain((as) => fc.tuple(...as.map((a) => fc.tuple(fc.constant(a), fc.boolean())))),
    })
    .map((h) => server(id, h.load, { cache: h.cache, storage: h.storage, live: h.live as [string, boolean][] }));
const scenarioArb = fc.record({
  servers: fc.subarray(IDS, { minLength: 0 }).chain((ids) => fc.tuple(...ids.map(serverArb))),
  assetId: fc.constantFrom(...ASSETS, 'unknown'),
  exclude: fc.subarray([...IDS, 'ghost'], { maxLength: 4 }),
  self: fc.constantFrom(...IDS, 'not-in-table'),
  threshold: fc.constantFrom(0.3, 0.6, 0.85, 1.2),
});

type Tier = 'cache' | 'live' | 'storage';
const holds: Record<Tier, (r: ServerRow, a: string) => boolean> = {
  cache: (r, a) => r.cache.has(a),
  live: (r, a) => r.live.get(a)?.live === true,
  storage: (r, a) => r.storage.has(a) || r.live.get(a)?.live === false,
};

/**
 * Brute force over every row: who may serve, tier by tier. `bounded` further
 * filters candidates (the bounded-load rule); null when no holder qualifies.
 */
function reference(
  t: StateTable,
  ids: readonly string[],
  req: { assetId: string; exclude: string[]; self: string },
  weights: LoadWeights,
  bounded: ((row: ServerRow, tier: Tier) => boolean) | null,
): SelectResult | null {
  const { assetId, exclude, self } = req;
  const rows = ids.map((id) => t.get(id)!);
  const eligible = (r: ServerRow, tier: Tier) =>
    !exclude.includes(r.id) && !isOverloaded(r, weights) && (bounded === null || bounded(r, tier));
  const me = t.get(self);
  if (me && holds.cache(me, assetId) && eligible(me, 'cache'))
    return { ok: true, serverId: self, reason: 'director-cache', loadFactor: loadFactor(me, weights) };
  for (const tier of ['cache', 'live', 'storage'] as const) {
    const pool = rows.filter((row) => holds[tier](row, assetId) && eligible(row, tier));
    if (pool.length === 0) continue;
    const best = pool.map((row) => ({ id: row.id, f: loadFactor(row, weights) })).sort((a, b) => a.f - b.f || (a.id < b.id ? -1 : 1))[0]!;
    return { ok: true, serverId: best.id, reason: tier, loadFactor: best.f };
  }
  return null;
}

describe('selectServer — properties', () => {
  it('picks from the highest tier with an eligible holder, the lowest load factor there, ties by id', () => {
    fc.assert(
      fc.property(scenarioArb, ({ servers, assetId, exclude, self, threshold }) => {
        const weights = { ...W, threshold };
        const t = tableOf(...servers);
        const r = selectServer(t, { assetId, exclude }, self, { weights });
        const want = reference(
          t,
          servers.map((s) => s.id),
          { assetId, exclude, self },
          weights,
          null,
        );
        if (want) {
          expect(r).toEqual(want);
          return;
        }
        const anyHolder = servers.some(
          (e) => e.cache.includes(assetId) || e.storage.some((a) => a.id === assetId) || e.live.some((l) => l.id === assetId),
        );
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.code).toBe(anyHolder ? 'no-capacity' : 'unknown-asset');
      }),
      { numRuns: 2000 },
    );
  });

  it('with a load bound: the same tiers among servers under (1 + ε) × the mean with the viewer (cache holders also under the floor), else as without', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.constantFrom(0, 0.1, 0.25, 1),
        fc.constantFrom(undefined, 500_000, 8_000_000),
        fc.constantFrom(0, 0.3, 0.6),
        (sc, eps, bitrateBps, floor) => {
          const { assetId, exclude, self, threshold } = sc;
          // The first storage holder's bitrate is the asset's.
          const servers = sc.servers.map((e) => ({
            ...e,
            storage: e.storage.map((a) => (bitrateBps === undefined ? a : { ...a, bitrateBps })),
          }));
          const weights = { ...W, threshold };
          const t = tableOf(...servers);
          const r = selectServer(t, { assetId, exclude }, self, { weights, loadBound: eps, cacheFloor: floor });
          const rows = servers.map((e) => t.get(e.id)!);
          const n = rows.length;
          const mean = rows.reduce((a, row) => a + loadFactor(row, weights), 0) / Math.max(1, n);
          const firstStorage = [...t.storageHolders(assetId)][0];
          const mbps = firstStorage !== undefined ? (t.get(firstStorage)!.storage.get(assetId)!.bitrateBps ?? 0) / 1e6 : 0;
          const under = (row: ServerRow, tier: Tier) => {
            const one = oneViewerLoad(row, mbps, weights);
            const f = loadFactor(row, weights);
            return (tier === 'cache' && f + one <= floor) || f + one <= (1 + eps) * (mean + one / n) + 1e-9;
          };
          const ids = servers.map((e) => e.id);
          const want =
            reference(t, ids, { assetId, exclude, self }, weights, under) ?? reference(t, ids, { assetId, exclude, self }, weights, null);
          if (want) expect(r).toEqual(want);
          // The bound only ever reorders: it never refuses a viewer the threshold alone would admit.
          expect(r.ok).toBe(selectServer(t, { assetId, exclude }, self, { weights }).ok);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never picks an excluded, absent or over-threshold server', () => {
    fc.assert(
      fc.property(scenarioArb, ({ servers, assetId, exclude, self, threshold }) => {
        const weights = { ...W, threshold };
        const t = tableOf(...servers);
        const r = selectServer(t, { assetId, exclude }, self, { weights });
        if (!r.ok) return;
        const row = t.get(r.serverId);
        expect(row).toBeDefined();
        expect(exclude).not.toContain(r.serverId);
        expect(isOverloaded(row!, weights)).toBe(false);
        expect(row!.cache.has(assetId) || row!.storage.has(assetId) || row!.live.has(assetId)).toBe(true);
        expect(r.loadFactor).toBeLessThan(threshold);
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic: the insertion order of servers does not change the answer', () => {
    fc.assert(
      fc.property(scenarioArb, ({ servers, assetId, exclude, self, threshold }) => {
        const weights = { ...W, threshold };
        const a = selectServer(tableOf(...servers), { assetId, exclude }, self, { weights });
        const b = selectServer(tableOf(...[...servers].reverse()), { assetId, exclude }, self, { weights });
        expect(b).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });
});
