// What the hub shows and to whom: the catalog view (rebuilt only on catalog changes, paged),
// the operator gate (loopback open, elsewhere the token), and public places (0.1°, a city).
import { describe, expect, it } from 'vitest';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { Delta, ServerEntry } from '../../signaling/protocol/types.js';
import { CatalogView, MAX_CATALOG_PAGE } from '../../signaling/catalog-view.js';
import { OperatorGate, isLoopbackHost } from '../../signaling/operator-gate.js';
import { publicPlace } from '../../signaling/geo/public-place.js';

const server = (id: string, assets: string[]): ServerEntry => ({
  id,
  region: 'r',
  lat: 0,
  lon: 0,
  roles: ['edge'],
  maxSessions: 10,
  uplinkMbps: 100,
  joinedAtMs: 0,
  load: { sessions: 0, egressMbps: 0, cpu: 0 },
  cache: [],
  storage: assets.map((a) => ({ id: a, bytes: 1, mime: 'video/webm' })),
  live: [],
});

describe('CatalogView', () => {
  const setup = () => {
    const table = new StateTable();
    const view = new CatalogView(table);
    const commit = (d: Delta) => {
      table.commit(d);
      view.noteDelta(d.type);
    };
    return { view, commit };
  };

  it('rebuilds only when storage, live or membership change, not on load or cache deltas', () => {
    const { view, commit } = setup();
    commit({ type: 'server-joined', server: server('s1', ['b', 'a', 'B', 'a-1']) });
    expect(view.all().map((e) => e.id)).toEqual(['B', 'a', 'a-1', 'b']);
    view.all();
    commit({ type: 'load', id: 's1', load: { sessions: 3, egressMbps: 1, cpu: 0.1 } });
    commit({ type: 'cache-add', id: 's1', assets: ['a'] });
    view.all();
    expect(view.builds).toBe(1);
    commit({ type: 'storage-add', id: 's1', assets: [{ id: 'c', bytes: 1, mime: 'video/webm' }] });
    expect(view.all().map((e) => e.id)).toContain('c');
    expect(view.builds).toBe(2);
  });

  it('pages with a cursor and clamps the page size', () => {
    const { view, commit } = setup();
    const ids = Array.from({ length: 2_500 }, (_, i) => `a${String(i).padStart(5, '0')}`);
    commit({ type: 'server-joined', server: server('s1', ids) });
    const p1 = view.page(10_000);
    expect(p1.assets).toHaveLength(MAX_CATALOG_PAGE);
    const p2 = view.page(1_000, p1.next!);
    const p3 = view.page(1_000, p2.next!);
    expect([...p1.assets, ...p2.assets, ...p3.assets].map((e) => e.id)).toEqual(ids);
    expect(p3.next).toBeNull();
    expect(view.page(5, 'zzz').assets).toEqual([]);
  });
});

describe('OperatorGate', () => {
  it('knows loopback bind addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('open on loopback without a token, closed elsewhere without one, the token wherever one is set', () => {
    expect(new OperatorGate(undefined, '127.0.0.1').check(undefined)).toEqual({ ok: true });
    expect(new OperatorGate(undefined, '0.0.0.0').check('anything')).toMatchObject({ ok: false, status: 403 });
    const gate = new OperatorGate('a-long-operator-token', '0.0.0.0');
    expect(gate.check(undefined)).toMatchObject({ ok: false, status: 401 });
    expect(gate.check('a-long-operator-tokeN')).toMatchObject({ ok: false, status: 401 });
    expect(gate.check('a-long-operator-token')).toEqual({ ok: true });
    expect(new OperatorGate('a-long-operator-token', '127.0.0.1').check(undefined)).toMatchObject({ ok: false, status: 401 });
  });
});

describe('publicPlace', () => {
  it('rounds to 0.1° and replaces a device label with the nearest city', () => {
    expect(publicPlace({ lat: 48.85837, lon: 2.29448, label: 'Tour Eiffel, Av. Gustave Eiffel', source: 'device' })).toEqual({
      lat: 48.9,
      lon: 2.3,
      label: 'near Paris, FR',
      source: 'device',
    });
    expect(publicPlace({ lat: 52.52, lon: 13.405, label: 'Berlin, DE', source: 'typed' })).toEqual({
      lat: 52.5,
      lon: 13.4,
      label: 'Berlin, DE',
      source: 'typed',
    });
  });
});
