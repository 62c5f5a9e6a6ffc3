// The director's viewer policy: tier order, load factor, exclusions and error codes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { selectServer } from '../../node-app/policies/select.js';
import { DEFAULT_LOAD_WEIGHTS, isOverloaded, loadFactor, type LoadWeights } from '../../signaling/protocol/load-factor.js';
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

  it('decides from the asset indexes without scanning the table', () => {
    const t = new IndexOnlyTable();
    for (let i = 0; i < 50; i++) t.commit({ type: 'server-joined', server: server(`s${i}`, idle, { storage: [`a${i}`] }) });
    expect(selectServer(t, { assetId: 'a7' }, 's0', opts)).toMatchObject({ serverId: 's7', reason: 'storage' });
    expect(selectServer(t, { assetId: 'nope' }, 's0', opts)).toMatchObject({ code: 'unknown-asset' });
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

describe('selectServer — properties', () => {
  it('picks from the highest tier with an eligible holder, the lowest load factor there, ties by id', () => {
    fc.assert(
      fc.property(scenarioArb, ({ servers, assetId, exclude, self, threshold }) => {
        const weights = { ...W, threshold };
        const t = tableOf(...servers);
        const r = selectServer(t, { assetId, exclude }, self, { weights });

        // Brute force over every row: who may serve, tier by tier.
        const rows = servers.map((s) => t.get(s.id)!);
        const eligible = (r: ServerRow) => !exclude.includes(r.id) && !isOverloaded(r, weights);
        const tierOf = (tier: Tier) => rows.filter((row) => holds[tier](row, assetId) && eligible(row));
        const anyHolder = rows.some((row) => row.cache.has(assetId) || row.storage.has(assetId) || row.live.has(assetId));

        const me = t.get(self);
        if (me && holds.cache(me, assetId) && eligible(me)) {
          expect(r).toEqual({ ok: true, serverId: self, reason: 'director-cache', loadFactor: loadFactor(me, weights) });
          return;
        }
        for (const tier of ['cache', 'live', 'storage'] as const) {
          const pool = tierOf(tier);
          if (pool.length === 0) continue;
          const best = pool
            .map((row) => ({ id: row.id, f: loadFactor(row, weights) }))
            .sort((a, b) => a.f - b.f || (a.id < b.id ? -1 : 1))[0]!;
          expect(r).toEqual({ ok: true, serverId: best.id, reason: tier, loadFactor: best.f });
          return;
        }
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.code).toBe(anyHolder ? 'no-capacity' : 'unknown-asset');
      }),
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
