// The state-table reducer: versioning, replica catch-up, snapshots, and the asset → holders indexes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StateTable } from '../../signaling/protocol/state-table.js';
import { utilisation } from '../../signaling/protocol/load-factor.js';
import type { Delta, ServerEntry, TableSnapshot } from '../../signaling/protocol/types.js';

const IDS = ['s0', 's1', 's2', 's3', 's4'] as const;
const ASSETS = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'] as const;

function entry(id: string, over: Partial<ServerEntry> = {}): ServerEntry {
  return {
    id,
    region: 'eu-central',
    lat: 50.1,
    lon: 8.7,
    roles: ['edge'],
    maxSessions: 100,
    uplinkMbps: 1000,
    joinedAtMs: 0,
    load: { sessions: 0, egressMbps: 0, cpu: 0 },
    cache: [],
    storage: [],
    live: [],
    ...over,
  };
}

const asset = (id: string, bytes = 1000) => ({ id, bytes, mime: 'video/webm' });

// ---- arbitraries ------------------------------------------------------------------------

const idArb = fc.constantFrom(...IDS);
const assetArb = fc.constantFrom(...ASSETS);
const assetsArb = fc.uniqueArray(assetArb, { minLength: 1, maxLength: 4 });
const loadArb = fc.record({
  sessions: fc.nat(200),
  egressMbps: fc.nat(2000),
  cpu: fc.double({ min: 0, max: 2, noNaN: true }),
});
/** Stored copy lengths: mostly equal, sometimes a shorter copy (a salvaged broadcast). */
const bytesArb = fc.constantFrom(1000, 1000, 900);
const entryArb = fc
  .record({
    id: idArb,
    cache: fc.uniqueArray(assetArb, { maxLength: 4 }),
    storage: fc.uniqueArray(fc.tuple(assetArb, bytesArb), { maxLength: 4, selector: ([a]) => a }),
    live: fc.uniqueArray(fc.tuple(assetArb, fc.boolean()), { maxLength: 2, selector: ([a]) => a }),
    load: loadArb,
  })
  .map(({ id, cache, storage, live, load }) =>
    entry(id, {
      cache,
      load,
      storage: storage.map(([a, bytes]) => asset(a, bytes)),
      live: live.map(([a, on]) => ({ id: a, bytes: 10, live: on, mime: 'video/webm', startedAtMs: 5 })),
    }),
  );

const deltaArb: fc.Arbitrary<Delta> = fc.oneof(
  { weight: 3, arbitrary: entryArb.map((server): Delta => ({ type: 'server-joined', server })) },
  { weight: 1, arbitrary: idArb.map((id): Delta => ({ type: 'server-left', id, reason: 'test' })) },
  { weight: 2, arbitrary: fc.record({ id: idArb, load: loadArb }).map((r): Delta => ({ type: 'load', ...r })) },
  { weight: 3, arbitrary: fc.record({ id: idArb, assets: assetsArb }).map((r): Delta => ({ type: 'cache-add', ...r })) },
  { weight: 3, arbitrary: fc.record({ id: idArb, assets: assetsArb }).map((r): Delta => ({ type: 'cache-remove', ...r })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ id: idArb, assets: assetsArb, bytes: bytesArb })
      .map((r): Delta => ({ type: 'storage-add', id: r.id, assets: r.assets.map((a) => asset(a, r.bytes)) })),
  },
  { weight: 2, arbitrary: fc.record({ id: idArb, assets: assetsArb }).map((r): Delta => ({ type: 'storage-remove', ...r })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ id: idArb, a: assetArb, on: fc.boolean() })
      .map((r): Delta => ({ type: 'live', id: r.id, stream: { id: r.a, bytes: 1, live: r.on, mime: 'video/webm', startedAtMs: 1 } })),
  },
  { weight: 1, arbitrary: fc.record({ id: idArb, assetId: assetArb }).map((r): Delta => ({ type: 'live-remove', ...r })) },
  {
    weight: 1,
    arbitrary: fc
      .option(fc.record({ id: idArb, epoch: fc.nat(50), sinceMs: fc.nat(1e6) }))
      .map((director): Delta => ({ type: 'director', director })),
  },
);

// ---- brute-force oracle -----------------------------------------------------------------

/** Recompute every index from the rows and compare with what the table keeps incrementally. */
function expectIndexesConsistent(t: StateTable): void {
  const universe = new Set<string>(ASSETS);
  for (const row of t.servers()) {
    for (const a of row.cache) universe.add(a);
    for (const a of row.storage.keys()) universe.add(a);
    for (const a of row.live.keys()) universe.add(a);
  }
  const rows = [...t.servers()];
  for (const a of universe) {
    const holders = (pick: (r: (typeof rows)[number]) => boolean) =>
      rows
        .filter(pick)
        .map((r) => r.id)
        .sort();
    expect([...t.cacheHolders(a)].sort(), `cache holders of ${a}`).toEqual(holders((r) => r.cache.has(a)));
    expect([...t.storageHolders(a)].sort(), `storage holders of ${a}`).toEqual(holders((r) => r.storage.has(a)));
    expect([...t.liveHolders(a)].sort(), `live holders of ${a}`).toEqual(holders((r) => r.live.has(a)));
    const lengths = new Set(rows.flatMap((r) => (r.storage.has(a) ? [r.storage.get(a)!.bytes] : [])));
    expect(t.storageCopiesDiffer(a), `copies of ${a} differ`).toBe(lengths.size > 1);
  }
  const known = new Set<string>();
  for (const r of rows) {
    for (const a of r.storage.keys()) known.add(a);
    for (const a of r.live.keys()) known.add(a);
  }
  expect(t.assetIds().sort()).toEqual([...known].sort());
}

/** A snapshot with every list sorted, so replicas built in different orders compare equal. */
function normalised(s: TableSnapshot): TableSnapshot {
  return {
    version: s.version,
    director: s.director,
    servers: [...s.servers]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((e) => ({
        ...e,
        cache: [...e.cache].sort(),
        storage: [...e.storage].sort((a, b) => (a.id < b.id ? -1 : 1)),
        live: [...e.live].sort((a, b) => (a.id < b.id ? -1 : 1)),
      })),
  };
}

// ---- tests ------------------------------------------------------------------------------

describe('StateTable', () => {
  it('commit stamps consecutive versions and a replica applies them in order', () => {
    const hub = new StateTable();
    const replica = new StateTable();
    const v1 = hub.commit({ type: 'server-joined', server: entry('s1', { storage: [asset('a1')] }) });
    const v2 = hub.commit({ type: 'cache-add', id: 's1', assets: ['a1'] });
    expect([v1.v, v2.v, hub.version]).toEqual([1, 2, 2]);
    expect(replica.offer(v1)).toBe('applied');
    expect(replica.offer(v2)).toBe('applied');
    expect(replica.version).toBe(2);
    expect([...replica.cacheHolders('a1')]).toEqual(['s1']);
    expect(replica.snapshot()).toEqual(hub.snapshot());
  });

  it('ignores a stale delta and reports a gap without changing anything', () => {
    const hub = new StateTable();
    const replica = new StateTable();
    const v1 = hub.commit({ type: 'server-joined', server: entry('s1') });
    const v2 = hub.commit({ type: 'cache-add', id: 's1', assets: ['a1'] });
    const v3 = hub.commit({ type: 'cache-add', id: 's1', assets: ['a2'] });
    expect(replica.offer(v1)).toBe('applied');
    expect(replica.offer(v3)).toBe('gap');
    expect(replica.version).toBe(1);
    expect(replica.cacheHolders('a2').size).toBe(0);
    expect(replica.offer(v2)).toBe('applied');
    expect(replica.offer(v2)).toBe('stale');
    expect(replica.offer(v1)).toBe('stale');
    expect(replica.offer(v3)).toBe('applied');
    expect(replica.snapshot()).toEqual(hub.snapshot());
  });

  it('round-trips a snapshot, through JSON too, indexes included', () => {
    const hub = new StateTable();
    hub.commit({
      type: 'server-joined',
      server: entry('s1', {
        cache: ['a1'],
        storage: [asset('a1'), asset('a2')],
        live: [{ id: 'a3', bytes: 5, live: true, mime: 'video/webm', startedAtMs: 1, peer: 's2' }],
        httpUrl: 'http://127.0.0.1:9000',
      }),
    });
    hub.commit({ type: 'server-joined', server: entry('s2', { roles: ['edge', 'ingest'], storage: [asset('a2')] }) });
    hub.commit({ type: 'director', director: { id: 's2', epoch: 4, sinceMs: 123 } });
    const copy = StateTable.fromSnapshot(JSON.parse(JSON.stringify(hub.snapshot())) as TableSnapshot);
    expect(copy.snapshot()).toEqual(hub.snapshot());
    expect(copy.version).toBe(3);
    expect(copy.director).toEqual({ id: 's2', epoch: 4, sinceMs: 123 });
    expect([...copy.storageHolders('a2')].sort()).toEqual(['s1', 's2']);
    expect([...copy.liveHolders('a3')]).toEqual(['s1']);
    expectIndexesConsistent(copy);
  });

  it('load() replaces everything a replica held before', () => {
    const old = new StateTable();
    old.commit({ type: 'server-joined', server: entry('s9', { cache: ['a9'], storage: [asset('a9')] }) });
    const hub = new StateTable();
    hub.commit({ type: 'server-joined', server: entry('s1', { storage: [asset('a1')] }) });
    old.load(hub.snapshot());
    expect(old.get('s9')).toBeUndefined();
    expect(old.cacheHolders('a9').size).toBe(0);
    expect(old.storageHolders('a9').size).toBe(0);
    expect(old.snapshot()).toEqual(hub.snapshot());
  });

  it('drops the director and every index entry of a server that leaves, and ignores late reports about it', () => {
    const t = new StateTable();
    t.commit({ type: 'server-joined', server: entry('s1', { cache: ['a1'], storage: [asset('a1')] }) });
    t.commit({ type: 'director', director: { id: 's1', epoch: 1, sinceMs: 0 } });
    t.commit({ type: 'server-left', id: 's1', reason: 'gone' });
    expect(t.director).toBeNull();
    expect(t.size).toBe(0);
    expect(t.assetIds()).toEqual([]);
    const v = t.commit({ type: 'cache-add', id: 's1', assets: ['a2'] });
    expect(v.v).toBe(4);
    expect(t.get('s1')).toBeUndefined();
    expect(t.cacheHolders('a2').size).toBe(0);
  });

  it('a re-join replaces the old row and its index entries', () => {
    const t = new StateTable();
    t.commit({ type: 'server-joined', server: entry('s1', { cache: ['a1'], storage: [asset('a1')] }) });
    t.commit({ type: 'server-joined', server: entry('s1', { storage: [asset('a2')] }) });
    expect(t.size).toBe(1);
    expect(t.cacheHolders('a1').size).toBe(0);
    expect(t.storageHolders('a1').size).toBe(0);
    expect([...t.storageHolders('a2')]).toEqual(['s1']);
  });

  it('keeps indexes equal to a brute-force recomputation under random delta sequences', () => {
    fc.assert(
      fc.property(fc.array(deltaArb, { maxLength: 60 }), (deltas) => {
        const t = new StateTable();
        for (const d of deltas) {
          t.commit(d);
          expectIndexesConsistent(t);
        }
        expect(t.version).toBe(deltas.length);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the mean utilisation equal to a brute-force mean over the rows, snapshots and reservations included', () => {
    const bruteMean = (t: StateTable) => {
      const rows = [...t.servers()].map(utilisation);
      const n = rows.length || 1;
      return {
        sessions: rows.reduce((a, u) => a + u.sessions, 0) / n,
        egress: rows.reduce((a, u) => a + u.egress, 0) / n,
        cpu: rows.reduce((a, u) => a + u.cpu, 0) / n,
      };
    };
    const expectMean = (t: StateTable) => {
      const got = t.meanUtilisation();
      const want = bruteMean(t);
      for (const k of ['sessions', 'egress', 'cpu'] as const) expect(got[k]).toBeCloseTo(want[k], 9);
    };
    const loadArb = fc.record({
      sessions: fc.nat(150),
      egressMbps: fc.double({ min: 0, max: 2000, noNaN: true }),
      cpu: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    const stepArb = fc.oneof(
      deltaArb.map((d) => ({ d })),
      fc.record({ id: fc.constantFrom(...IDS), load: loadArb }).map(({ id, load }) => ({ d: { type: 'load', id, load } as Delta })),
      fc.record({ reserve: fc.constantFrom(...IDS, 'nobody'), egress: fc.double({ min: 0, max: 10, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
        const t = new StateTable();
        for (const step of steps) {
          if ('d' in step) t.commit(step.d);
          else {
            const v = t.version;
            t.reserveLoad(step.reserve, 1, step.egress);
            expect(t.version).toBe(v); // local, not a delta
          }
          expectMean(t);
        }
        const replica = StateTable.fromSnapshot(JSON.parse(JSON.stringify(t.snapshot())) as TableSnapshot);
        expectMean(replica);
      }),
      { numRuns: 200 },
    );
  });

  it("a reservation counts until the server's next load report replaces it", () => {
    const t = new StateTable();
    t.commit({ type: 'server-joined', server: entry('s1', { load: { sessions: 10, egressMbps: 100, cpu: 0.1 } }) });
    t.reserveLoad('s1', 1, 4);
    expect(t.get('s1')!.load).toEqual({ sessions: 11, egressMbps: 104, cpu: 0.1 });
    expect(t.meanUtilisation().sessions).toBeCloseTo(0.11, 12);
    t.commit({ type: 'load', id: 's1', load: { sessions: 12, egressMbps: 90, cpu: 0.2 } });
    expect(t.get('s1')!.load).toEqual({ sessions: 12, egressMbps: 90, cpu: 0.2 });
    expect(t.meanUtilisation()).toEqual({ sessions: 0.12, egress: 0.09, cpu: 0.2 });
  });

  it('a replica fed in order, or from a mid-way snapshot, ends equal to the hub', () => {
    fc.assert(
      fc.property(fc.array(deltaArb, { maxLength: 50 }), fc.nat(), (deltas, cut) => {
        const hub = new StateTable();
        const inOrder = new StateTable();
        const log = deltas.map((d) => hub.commit(d));
        for (const vd of log) expect(inOrder.offer(vd)).toBe('applied');
        expect(inOrder.snapshot()).toEqual(hub.snapshot());

        // Rebuild the hub's state at version `k`, snapshot it, then apply the rest.
        const k = log.length === 0 ? 0 : cut % (log.length + 1);
        const midway = new StateTable();
        for (const vd of log.slice(0, k)) midway.offer(vd);
        const late = StateTable.fromSnapshot(JSON.parse(JSON.stringify(midway.snapshot())) as TableSnapshot);
        for (const vd of log.slice(k)) expect(late.offer(vd)).toBe('applied');
        expect(normalised(late.snapshot())).toEqual(normalised(hub.snapshot()));
        expectIndexesConsistent(late);
      }),
      { numRuns: 150 },
    );
  });

  it('a replica offered a shuffled log with duplicates never applies out of order and catches up by snapshot', () => {
    fc.assert(
      fc.property(
        fc.array(deltaArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
        (deltas, picks) => {
          const hub = new StateTable();
          const log = deltas.map((d) => hub.commit(d));
          const replica = new StateTable();
          for (const p of picks) {
            const vd = log[p % log.length]!;
            const before = replica.version;
            const outcome = replica.offer(vd);
            if (vd.v <= before) expect(outcome).toBe('stale');
            else if (vd.v === before + 1) expect(outcome).toBe('applied');
            else expect(outcome).toBe('gap');
            expect(replica.version).toBe(outcome === 'applied' ? before + 1 : before);
          }
          if (replica.version < hub.version) replica.load(hub.snapshot());
          expect(normalised(replica.snapshot())).toEqual(normalised(hub.snapshot()));
        },
      ),
      { numRuns: 150 },
    );
  });
});
