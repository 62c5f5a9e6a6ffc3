// The broadcaster policy: primary near the typed place, backup near the IP place, never the same server.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INGEST_NEAREST_PER_PLACE, LOAD_PENALTY_MS, selectIngest } from '../../node-app/director/select-ingest.js';
import { acceptingLoadFactor } from '../../node-app/director/candidates.js';
import { estimateRttMs } from '../../node-app/director/geo.js';
import { DEFAULT_LOAD_WEIGHTS, loadFactor } from '../../signaling/protocol/load-factor.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { Place, Role, ServerEntry, ServerLoad } from '../../signaling/protocol/types.js';

const opts = { weights: DEFAULT_LOAD_WEIGHTS };

const idle: ServerLoad = Object.freeze({ sessions: 0, egressMbps: 0, cpu: 0 });
const busy: ServerLoad = Object.freeze({ sessions: 60, egressMbps: 600, cpu: 0.6 });
const overThreshold: ServerLoad = Object.freeze({ sessions: 95, egressMbps: 950, cpu: 0.95 });

const FRANKFURT = { lat: 50.1109, lon: 8.6821 };
const AMSTERDAM = { lat: 52.3676, lon: 4.9041 };
const ASHBURN = { lat: 39.0438, lon: -77.4874 };
const PORTLAND = { lat: 45.5152, lon: -122.6784 };
const SINGAPORE = { lat: 1.3521, lon: 103.8198 };

const typedFrankfurt: Place = Object.freeze({ ...FRANKFURT, label: 'Frankfurt am Main, DE', source: 'typed' });
const ipVirginia: Place = Object.freeze({ lat: 37.5407, lon: -77.436, label: 'Richmond, US', source: 'ip' });
const ipFrankfurt: Place = Object.freeze({ ...FRANKFURT, label: 'Frankfurt am Main, DE', source: 'ip' });

const MAX_INGEST = 16;

function server(
  id: string,
  region: string,
  at: { lat: number; lon: number },
  load = idle,
  roles: Role[] = ['edge', 'ingest'],
): ServerEntry {
  return {
    id,
    region,
    ...at,
    roles,
    maxSessions: 100,
    maxIngestSessions: MAX_INGEST,
    uplinkMbps: 1000,
    joinedAtMs: 0,
    load,
    cache: [],
    storage: [],
    live: [],
  };
}

function tableOf(...entries: ServerEntry[]): StateTable {
  const t = new StateTable();
  for (const e of entries) t.commit({ type: 'server-joined', server: e });
  return t;
}

const world = () =>
  tableOf(
    server('fra-1', 'eu-central', FRANKFURT),
    server('fra-2', 'eu-central', { lat: 50.12, lon: 8.7 }),
    server('ams-1', 'eu-west', AMSTERDAM),
    server('iad-1', 'us-east', ASHBURN),
    server('pdx-1', 'us-west', PORTLAND),
    server('sin-1', 'ap-southeast', SINGAPORE),
    server('edge-only', 'us-east', ASHBURN, idle, ['edge']),
  );

describe('selectIngest — examples', () => {
  it('typed Frankfurt + IP in Virginia: primary near Frankfurt, backup near Virginia', () => {
    const r = selectIngest(world(), { typed: typedFrankfurt, ip: ipVirginia }, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.primary.serverId).toBe('fra-1');
    expect(r.primary.region).toBe('eu-central');
    expect(r.primary.from).toEqual(typedFrankfurt);
    expect(r.primary.rttMs).toBeLessThan(5);
    expect(r.backup?.serverId).toBe('iad-1');
    expect(r.backup?.from).toEqual(ipVirginia);
    expect(r.backup?.rttMs).toBeCloseTo(estimateRttMs(ipVirginia, ASHBURN), 6);
    expect(r.ipUnknown).toBe(false);
  });

  it('no broadcast goes where the storage refuses new files (storageWritable false): the next nearest takes it', () => {
    const refusing: ServerLoad = { ...idle, storageWritable: false };
    const t = tableOf(
      server('fra-1', 'eu-central', FRANKFURT, refusing),
      server('fra-2', 'eu-central', { lat: 50.12, lon: 8.7 }),
      server('ams-1', 'eu-west', AMSTERDAM),
      server('iad-1', 'us-east', ASHBURN, refusing),
      server('pdx-1', 'us-west', PORTLAND),
    );
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipVirginia }, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.primary.serverId).toBe('fra-2');
    expect(r.backup?.serverId).not.toBe('iad-1');
    expect(r.backup?.serverId).not.toBe('fra-1');
    // Viewers are still sent there: its stored files play.
    expect(acceptingLoadFactor(t.get('fra-1')!, DEFAULT_LOAD_WEIGHTS, 'watch')).not.toBeNull();
    expect(acceptingLoadFactor(t.get('fra-1')!, DEFAULT_LOAD_WEIGHTS, 'ingest')).toBeNull();
  });

  it('IP unknown: the backup is the best from the typed place in another region', () => {
    const r = selectIngest(world(), { typed: typedFrankfurt, ip: null }, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.primary.serverId).toBe('fra-1');
    expect(r.backup?.serverId).toBe('ams-1');
    expect(r.backup?.from).toEqual(typedFrankfurt);
    expect(r.ipUnknown).toBe(true);
  });

  it('IP in the same city as the typed place: the backup still goes to another region', () => {
    const r = selectIngest(world(), { typed: typedFrankfurt, ip: ipFrankfurt }, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.primary.serverId).toBe('fra-1');
    expect(r.backup?.serverId).toBe('ams-1');
  });

  it('falls back to another server of the same region when there is no other region', () => {
    const t = tableOf(server('fra-1', 'eu-central', FRANKFURT), server('fra-2', 'eu-central', FRANKFURT));
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipVirginia }, opts);
    expect(r).toMatchObject({ ok: true, primary: { serverId: 'fra-1' }, backup: { serverId: 'fra-2' } });
  });

  it('one candidate only: no backup', () => {
    const t = tableOf(server('fra-1', 'eu-central', FRANKFURT), server('iad-edge', 'us-east', ASHBURN, idle, ['edge']));
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipVirginia }, opts);
    expect(r).toMatchObject({ ok: true, primary: { serverId: 'fra-1' }, backup: null });
  });

  it('never offers an edge-only, excluded or overloaded server', () => {
    const t = tableOf(
      server('fra-1', 'eu-central', FRANKFURT, overThreshold),
      server('fra-2', 'eu-central', FRANKFURT),
      server('iad-edge', 'us-east', ASHBURN, idle, ['edge']),
      server('iad-1', 'us-east', ASHBURN),
      server('pdx-1', 'us-west', PORTLAND),
    );
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipVirginia, exclude: ['iad-1'] }, opts);
    expect(r).toMatchObject({ ok: true, primary: { serverId: 'fra-2' }, backup: { serverId: 'pdx-1' } });
  });

  it("`only` (where a broadcast's copies are) chooses among those servers alone, however far, and none fitting is no-ingest", () => {
    const t = tableOf(
      server('fra-1', 'eu-central', FRANKFURT),
      server('ams-1', 'eu-west', AMSTERDAM),
      server('iad-1', 'us-east', ASHBURN),
      server('sin-1', 'ap-southeast', SINGAPORE, overThreshold),
      server('pdx-1', 'us-west', PORTLAND),
    );
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipFrankfurt, only: ['pdx-1', 'iad-1'] }, opts);
    expect(r).toMatchObject({ ok: true, primary: { serverId: 'iad-1' }, backup: { serverId: 'pdx-1' } });
    expect(selectIngest(t, { typed: typedFrankfurt, ip: null, only: ['sin-1'] }, opts)).toMatchObject({ ok: false, code: 'no-ingest' });
  });

  it('load costs LOAD_PENALTY_MS per unit of load factor: a busy server loses to an idle neighbour', () => {
    const t = tableOf(server('fra-1', 'eu-central', FRANKFURT, busy), server('ams-1', 'eu-west', AMSTERDAM));
    const busyFactor = loadFactor({ maxSessions: 100, uplinkMbps: 1000, load: busy });
    // Sanity of the fixture: the penalty outweighs Frankfurt → Amsterdam.
    expect(busyFactor * LOAD_PENALTY_MS).toBeGreaterThan(estimateRttMs(FRANKFURT, AMSTERDAM));
    const r = selectIngest(t, { typed: typedFrankfurt, ip: null }, opts);
    expect(r).toMatchObject({ ok: true, primary: { serverId: 'ams-1', loadFactor: 0 }, backup: { serverId: 'fra-1' } });
    if (r.ok) expect(r.backup!.loadFactor).toBeCloseTo(busyFactor, 9);
  });

  it('counts ingest slots apart: viewers filling theirs leave a broadcast its slot, and full ingest slots refuse one', () => {
    const viewersFull: ServerLoad = { sessions: 100, egressMbps: 10, cpu: 0.1 };
    const ingestFull: ServerLoad = { sessions: 0, ingestSessions: MAX_INGEST, egressMbps: 0, cpu: 0 };
    const t = tableOf(server('fra-1', 'eu-central', FRANKFURT, viewersFull), server('iad-1', 'us-east', ASHBURN, ingestFull));
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipVirginia }, opts);
    expect(r).toMatchObject({ ok: true, primary: { serverId: 'fra-1' }, backup: null });
    expect(selectIngest(t, { typed: typedFrankfurt, ip: null, exclude: ['fra-1'] }, opts)).toMatchObject({ ok: false, code: 'no-ingest' });
  });

  it('chooses among candidates found from the metadata first: the nearest to each location, not a farther idle server', () => {
    // Three busy servers in Frankfurt, an idle one in Paris (4th nearest): by score alone Paris would win.
    const PARIS = { lat: 48.8566, lon: 2.3522 };
    const t = tableOf(
      server('fra-1', 'eu-central', FRANKFURT, busy),
      server('fra-2', 'eu-central', { lat: 50.12, lon: 8.7 }, busy),
      server('fra-3', 'eu-central', { lat: 50.13, lon: 8.69 }, busy),
      server('par-1', 'eu-west', PARIS),
      server('iad-1', 'us-east', ASHBURN),
      server('ord-1', 'us-central', { lat: 41.88, lon: -87.63 }),
      server('pdx-1', 'us-west', PORTLAND),
      server('sin-1', 'ap-southeast', SINGAPORE),
    );
    const busyPenaltyMs = loadFactor({ maxSessions: 100, uplinkMbps: 1000, load: busy }) * LOAD_PENALTY_MS;
    expect(estimateRttMs(FRANKFURT, PARIS)).toBeLessThan(busyPenaltyMs);
    const r = selectIngest(t, { typed: typedFrankfurt, ip: ipVirginia }, opts);
    if (!r.ok) throw new Error(r.message);
    const nearest = ['fra-1', 'fra-2', 'fra-3', 'iad-1', 'ord-1', 'pdx-1'];
    expect(r.candidates).toEqual({ rule: 'nearest', nearestPerPlace: INGEST_NEAREST_PER_PLACE, nearest, pool: nearest });
    expect(r.primary.serverId).toBe('fra-1');
    expect(r.backup?.serverId).toBe('iad-1');
  });

  it('falls back to every ingest server with room when none of the nearest has any', () => {
    const t = tableOf(
      server('fra-1', 'eu-central', FRANKFURT, overThreshold),
      server('fra-2', 'eu-central', { lat: 50.12, lon: 8.7 }, overThreshold),
      server('ams-1', 'eu-west', AMSTERDAM),
      server('iad-1', 'us-east', ASHBURN),
      server('sin-1', 'ap-southeast', SINGAPORE),
    );
    const r = selectIngest(t, { typed: typedFrankfurt, ip: null, exclude: ['ams-1'] }, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.candidates).toEqual({
      rule: 'all',
      nearestPerPlace: INGEST_NEAREST_PER_PLACE,
      nearest: ['ams-1', 'fra-1', 'fra-2'],
      pool: ['iad-1', 'sin-1'],
    });
    expect(r).toMatchObject({ primary: { serverId: 'iad-1' }, backup: { serverId: 'sin-1' } });
  });

  it('answers no-ingest when no ingest server can take the stream', () => {
    const t = tableOf(server('e1', 'eu-central', FRANKFURT, idle, ['edge']), server('i1', 'us-east', ASHBURN, overThreshold));
    expect(selectIngest(t, { typed: typedFrankfurt, ip: null }, opts)).toMatchObject({ ok: false, code: 'no-ingest' });
    expect(selectIngest(new StateTable(), { typed: typedFrankfurt, ip: ipVirginia }, opts)).toMatchObject({ ok: false, code: 'no-ingest' });
  });
});

// ---- properties -------------------------------------------------------------------------

const pointArb = fc.record({
  lat: fc.double({ min: -80, max: 80, noNaN: true }),
  lon: fc.double({ min: -180, max: 180, noNaN: true }),
});
const placeArb = (source: Place['source']) => pointArb.map((p): Place => ({ ...p, label: 'somewhere', source }));
const serversArb = fc.uniqueArray(
  fc.record({
    id: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `s${i}`)),
    region: fc.constantFrom('r1', 'r2', 'r3'),
    at: pointArb,
    load: fc.record({
      sessions: fc.nat(100),
      ingestSessions: fc.nat(MAX_INGEST),
      egressMbps: fc.nat(1000),
      cpu: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    roles: fc.constantFrom<Role[]>(['ingest'], ['edge', 'ingest'], ['edge']),
  }),
  { selector: (s) => s.id, maxLength: 12 },
);

describe('selectIngest — properties', () => {
  it('candidates are the k nearest to each place that fit (else all); primary and backup are distinct candidates, each the best score from its place', () => {
    fc.assert(
      fc.property(
        serversArb,
        placeArb('typed'),
        fc.option(placeArb('ip')),
        fc.subarray(
          Array.from({ length: 12 }, (_, i) => `s${i}`),
          { maxLength: 3 },
        ),
        (specs, typed, ip, exclude) => {
          const t = tableOf(...specs.map((s) => server(s.id, s.region, s.at, s.load, s.roles)));
          const r = selectIngest(t, { typed, ip, exclude }, opts);
          const eligible = [...t.servers()].filter(
            (row) =>
              row.roles.includes('ingest') &&
              !exclude.includes(row.id) &&
              (row.load.ingestSessions ?? 0) < MAX_INGEST &&
              loadFactor(row, opts.weights) < opts.weights.threshold,
          );
          if (eligible.length === 0) {
            expect(r).toMatchObject({ ok: false, code: 'no-ingest' });
            return;
          }
          if (!r.ok) throw new Error(`expected a choice: ${r.message}`);
          type Row = (typeof eligible)[number];
          const score = (from: Place, row: Row) => estimateRttMs(from, row) + loadFactor(row, opts.weights) * LOAD_PENALTY_MS;
          const minScore = (from: Place, pool: Row[]) => Math.min(...pool.map((row) => score(from, row)));
          // The candidate step, by brute force: the k ingest servers nearest to each place (load, exclusions
          // and capacity aside), those of them that fit, else every eligible server.
          const nearest = new Set<string>();
          const ingest = [...t.servers()].filter((row) => row.roles.includes('ingest'));
          for (const place of ip ? [typed, ip] : [typed]) {
            const byRtt = [...ingest].sort((a, b) => estimateRttMs(place, a) - estimateRttMs(place, b) || (a.id < b.id ? -1 : 1));
            for (const row of byRtt.slice(0, INGEST_NEAREST_PER_PLACE)) nearest.add(row.id);
          }
          const fit = eligible.filter((row) => nearest.has(row.id));
          const pool = fit.length > 0 ? fit : eligible;
          expect(r.candidates).toEqual({
            rule: fit.length > 0 ? 'nearest' : 'all',
            nearestPerPlace: INGEST_NEAREST_PER_PLACE,
            nearest: [...nearest].sort(),
            pool: pool.map((row) => row.id).sort(),
          });

          const primary = t.get(r.primary.serverId)!;
          expect(pool).toContain(primary);
          expect(score(typed, primary)).toBe(minScore(typed, pool));
          expect(r.ipUnknown).toBe(ip === null);

          if (eligible.length === 1) {
            expect(r.backup).toBeNull();
            return;
          }
          expect(r.backup).not.toBeNull();
          const backup = t.get(r.backup!.serverId)!;
          expect(backup.id).not.toBe(primary.id);
          expect(eligible).toContain(backup);
          // Among the other candidates; among every eligible server only when the primary was the one candidate.
          const nearOthers = pool.filter((row) => row !== primary);
          const others = nearOthers.length > 0 ? nearOthers : eligible.filter((row) => row !== primary);
          const elsewhere = others.filter((row) => row.region !== primary.region);
          if (elsewhere.length > 0) expect(backup.region).not.toBe(primary.region);
          const from = ip ?? typed;
          expect(r.backup!.from).toBe(from);
          expect(score(from, backup)).toBe(minScore(from, elsewhere.length > 0 ? elsewhere : others));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
