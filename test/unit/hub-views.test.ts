// What the hub shows and to whom: the catalog view (rebuilt only on catalog changes, paged),
// its content (titles, posters) and audience (viewer counts summed over every server's load report, so
// every hub sharing the table agrees), the operator gate (loopback open, elsewhere the token), and
// public places (0.1°, a city).
import { describe, expect, it } from 'vitest';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { AssetInfo, Delta, ServerEntry } from '../../signaling/protocol/types.js';
import { MAX_VIEWED_ASSETS_PER_LOAD, parse, serverLoadSchema, viewersQuerySchema } from '../../signaling/protocol/index.js';
import { loadWorthReporting } from '../../node-app/server/load-meter.js';
import {
  CATALOG_DESCRIPTION_EXCERPT_CHARS,
  CatalogView,
  excerptOf,
  MAX_CATALOG_PAGE,
  SearchBusyError,
} from '../../signaling/catalog-view.js';
import { catalogQuerySchema } from '../../signaling/protocol/index.js';
import { OperatorGate, isDirectLocal, isLoopbackHost } from '../../signaling/operator-gate.js';
import { publicPlace } from '../../signaling/geo/public-place.js';
import { serverEntry } from '../helpers/server-entry.js';

const server = (id: string, assets: Array<string | AssetInfo>, httpUrl?: string): ServerEntry =>
  serverEntry(id, { storage: assets.map((a) => (typeof a === 'string' ? asset(a) : a)), ...(httpUrl ? { httpUrl } : {}) });
const asset = (id: string, extra: Partial<AssetInfo> = {}): AssetInfo => ({ id, bytes: 1, mime: 'video/webm', ...extra });

const setup = () => {
  const table = new StateTable();
  const view = new CatalogView(table);
  const commit = (d: Delta) => {
    table.commit(d);
    view.noteDelta(d.type);
  };
  return { view, commit };
};

describe('CatalogView', () => {
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

describe('catalog content', () => {
  it('carries title, description and a versioned poster URL on a holder that has the poster', () => {
    const { view, commit } = setup();
    commit({ type: 'server-joined', server: server('s1', [asset('clip')], 'http://127.0.0.1:4001') });
    commit({
      type: 'server-joined',
      server: server('s2', [asset('clip', { title: 'A clip', description: 'About it.', poster: 'k3x9' })], 'http://127.0.0.1:4002/'),
    });
    const [e] = view.page().assets;
    expect(e).toMatchObject({
      id: 'clip',
      title: 'A clip',
      description: 'About it.',
      posterUrl: 'http://127.0.0.1:4002/poster/clip.jpg?v=k3x9',
    });
    expect(e).not.toHaveProperty('poster');
    // A new poster (a storage-add replacing the entry) is a catalog change.
    commit({ type: 'storage-add', id: 's1', assets: [asset('clip', { poster: 'zz1' })] });
    expect(view.page().assets[0]!.posterUrl).toBe('http://127.0.0.1:4001/poster/clip.jpg?v=zz1');
  });

  it('shows a live broadcast under its title', () => {
    const { view, commit } = setup();
    commit({ type: 'server-joined', server: server('s1', []) });
    commit({
      type: 'live',
      id: 's1',
      stream: { id: 'live-9dab4fc3', bytes: 10, live: true, mime: 'video/webm', startedAtMs: 1, title: 'Morning show' },
    });
    expect(view.page().assets[0]).toMatchObject({ id: 'live-9dab4fc3', live: true, title: 'Morning show' });
  });

  it('describes the longest copy when two holders differ (one salvaged at a crash), keeping the title it has', () => {
    const { view, commit } = setup();
    const cut = asset('show', { bytes: 600, durationMs: 6_000, fingerprint: 'go-aaaaaaaaaaaaaaaa', title: 'Show', poster: 'p1' });
    const whole = asset('show', { bytes: 1_000, durationMs: 10_000, fingerprint: 'rs-bbbbbbbbbbbbbbbb' });
    commit({ type: 'server-joined', server: server('s1', [cut], 'http://127.0.0.1:4001') });
    commit({ type: 'server-joined', server: server('s2', [whole]) });
    expect(view.entry('show')).toMatchObject({
      bytes: 1_000,
      durationMs: 10_000,
      fingerprint: 'rs-bbbbbbbbbbbbbbbb',
      title: 'Show',
      posterUrl: 'http://127.0.0.1:4001/poster/show.jpg?v=p1',
      holders: ['s1', 's2'],
    });
  });
});

describe('catalog search and excerpts', () => {
  const long = `${'word '.repeat(100)}zebracrossing at the very end`;

  it('searches every entry and whole descriptions, pages the matches, and counts them all', () => {
    const { view, commit } = setup();
    // 2,500 entries: the matches lie past the first page, where a page-only search never looked.
    const ids = Array.from({ length: 2_500 }, (_, i) => `a${String(i).padStart(5, '0')}`);
    commit({
      type: 'server-joined',
      server: server(
        's1',
        ids.map((id, i) => asset(id, i % 500 === 499 ? { title: `Café ${i}`, description: long } : {})),
      ),
    });
    const first = view.page(2, undefined, 'CAFE zebracrossing');
    expect(first.total).toBe(5);
    expect(first.assets.map((e) => e.id)).toEqual(['a00499', 'a00999']);
    const rest = view.page(1_000, first.next!, 'cafe   ZEBRACROSSING');
    expect(rest.assets.map((e) => e.id)).toEqual(['a01499', 'a01999', 'a02499']);
    expect(rest.next).toBeNull();
    expect(view.page(10, undefined, 'a02000').assets.map((e) => e.id)).toEqual(['a02000']);
    expect(view.page(10, undefined, 'no-such-thing')).toEqual({ assets: [], next: null, total: 0 });
    // A blank query is the whole catalog.
    expect(view.page(10, undefined, '   ').total).toBe(2_500);
    // A change of the catalog is seen by the next search (matches are kept only until then).
    commit({ type: 'storage-add', id: 's1', assets: [asset('zz', { description: 'a zebracrossing and a cafe' })] });
    expect(view.page(10, undefined, 'cafe zebracrossing').total).toBe(6);
  });

  it('pages carry description excerpts; the one entry carries the whole description', () => {
    const { view, commit } = setup();
    commit({
      type: 'server-joined',
      server: server('s1', [asset('clip', { description: long }), asset('short', { description: 'Brief.' })]),
    });
    const [clip, short] = view.page().assets;
    expect(clip!.description!.length).toBeLessThanOrEqual(CATALOG_DESCRIPTION_EXCERPT_CHARS);
    expect(clip!.description).toMatch(/^word word .*word…$/);
    expect(short!.description).toBe('Brief.');
    expect(view.entry('clip')!.description).toBe(long);
    expect(view.query({ id: 'clip' }).assets[0]!.description).toBe(long);
    expect(view.query({ id: 'nope' })).toEqual({ assets: [], next: null, total: 0 });
  });

  it('cuts an excerpt after a word, never inside a surrogate pair', () => {
    expect(excerptOf('x'.repeat(CATALOG_DESCRIPTION_EXCERPT_CHARS))).toHaveLength(CATALOG_DESCRIPTION_EXCERPT_CHARS);
    const emoji = excerptOf(`${'y'.repeat(CATALOG_DESCRIPTION_EXCERPT_CHARS - 2)}😀😀😀`);
    expect(emoji.endsWith('y…')).toBe(true);
  });

  it('spends a hub-wide budget of entries read: new searches beyond it are refused, kept ones still answered', () => {
    let now = 0;
    const table = new StateTable();
    const view = new CatalogView(table, { now: () => now, searchEntriesPerS: 1_000, searchEntriesBurst: 5_000 });
    table.commit({
      type: 'server-joined',
      server: server(
        's1',
        Array.from({ length: 1_000 }, (_, i) => `a${i}`),
      ),
    });
    view.noteDelta('server-joined');
    // The first search after a change also folds every text: 2 × 1,000; then 1,000 per new search.
    view.page(10, undefined, 'a1');
    view.page(10, undefined, 'a2');
    view.page(10, undefined, 'a3');
    view.page(10, undefined, 'a4');
    expect(() => view.page(10, undefined, 'a5')).toThrow(SearchBusyError);
    // A kept search, a blank one and one entry cost nothing.
    expect(view.page(10, undefined, 'A1').total).toBe(111);
    expect(view.page(10).total).toBe(1_000);
    expect(view.entry('a5')?.id).toBe('a5');
    now += 1_000;
    expect(view.page(10, undefined, 'a5').total).toBe(111);
  });

  it('refuses a query longer than 200 characters, a bad cursor or id, and unknown fields', () => {
    expect(catalogQuerySchema.safeParse({ q: 'x'.repeat(201) }).success).toBe(false);
    expect(catalogQuerySchema.safeParse({ q: 'x'.repeat(200), limit: 1_000 }).success).toBe(true);
    expect(catalogQuerySchema.safeParse({ cursor: '../etc' }).success).toBe(false);
    expect(catalogQuerySchema.safeParse({ id: 'a', extra: 1 }).success).toBe(false);
    expect(catalogQuerySchema.safeParse({ limit: 1_001 }).success).toBe(false);
  });
});

describe('viewer counts', () => {
  it('sums every server’s reported viewers per asset, and follows load reports at once', () => {
    const { view, commit } = setup();
    commit({ type: 'server-joined', server: server('s1', [asset('a'), asset('b')]) });
    commit({ type: 'server-joined', server: server('s2', [asset('a')]) });
    expect(view.viewersOf('a')).toBe(0);
    commit({
      type: 'load',
      id: 's1',
      load: {
        sessions: 3,
        egressMbps: 1,
        cpu: 0,
        viewers: [
          { id: 'a', n: 2 },
          { id: 'b', n: 1 },
        ],
      },
    });
    commit({ type: 'load', id: 's2', load: { sessions: 1, egressMbps: 1, cpu: 0, viewers: [{ id: 'a', n: 1 }] } });
    expect(view.viewersOf('a')).toBe(3);
    expect(view.page().assets.map((e) => [e.id, e.viewers])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    commit({ type: 'load', id: 's1', load: { sessions: 1, egressMbps: 1, cpu: 0, viewers: [{ id: 'a', n: 1 }] } });
    expect(view.viewersOf('a')).toBe(2);
    expect(view.viewersOf('b')).toBe(0);
    expect(view.page().assets.map((e) => e.viewers)).toEqual([2, 0]);
    // Load deltas do not rebuild the sorted entries.
    expect(view.builds).toBe(1);
    // A server that leaves takes its viewers with it.
    commit({ type: 'server-left', id: 's2', reason: 'test' });
    expect(view.viewersOf('a')).toBe(1);
  });

  it(`a load report counts at most ${MAX_VIEWED_ASSETS_PER_LOAD} assets; a query at most 100`, () => {
    const viewers = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `a${i}`, n: 1 }));
    const load = { sessions: 1, egressMbps: 0, cpu: 0 };
    expect(parse(serverLoadSchema, { ...load, viewers: viewers(MAX_VIEWED_ASSETS_PER_LOAD) }).ok).toBe(true);
    expect(parse(serverLoadSchema, { ...load, viewers: viewers(MAX_VIEWED_ASSETS_PER_LOAD + 1) }).ok).toBe(false);
    expect(parse(serverLoadSchema, { ...load, viewers: [{ id: '../x', n: 1 }] }).ok).toBe(false);
    expect(parse(viewersQuerySchema, { assetIds: Array.from({ length: 100 }, (_, i) => `a${i}`) }).ok).toBe(true);
    expect(parse(viewersQuerySchema, { assetIds: Array.from({ length: 101 }, (_, i) => `a${i}`) }).ok).toBe(false);
    expect(parse(viewersQuerySchema, { assetIds: [] }).ok).toBe(false);
  });

  it('a viewer moving between assets is worth a load report even when the session count stays', () => {
    const idle = { sessions: 1, ingestSessions: 0, egressMbps: 1, cpu: 0.1, storageReadBytes: 0 };
    const prev = { load: { ...idle, viewers: [{ id: 'a', n: 1 }] }, atMs: 0 };
    expect(loadWorthReporting(prev, { ...idle, viewers: [{ id: 'a', n: 1 }] }, false, 100)).toBe(false);
    expect(loadWorthReporting(prev, { ...idle, viewers: [{ id: 'b', n: 1 }] }, false, 100)).toBe(true);
  });
});

describe('OperatorGate', () => {
  it('knows loopback bind addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('open on loopback without a token, closed elsewhere without one, the token wherever one is set', () => {
    expect(new OperatorGate(undefined, '127.0.0.1').check(undefined, true)).toEqual({ ok: true });
    expect(new OperatorGate(undefined, '0.0.0.0').check('anything', true)).toMatchObject({ ok: false, status: 403 });
    const gate = new OperatorGate('a-long-operator-token', '0.0.0.0');
    expect(gate.check(undefined, true)).toMatchObject({ ok: false, status: 401 });
    expect(gate.check('a-long-operator-tokeN', false)).toMatchObject({ ok: false, status: 401 });
    expect(gate.check('a-long-operator-token', false)).toEqual({ ok: true });
    expect(new OperatorGate('a-long-operator-token', '127.0.0.1').check(undefined, true)).toMatchObject({ ok: false, status: 401 });
  });

  it('a loopback hub without a token is open to direct local requests only, not to what a proxy forwarded', () => {
    const open = new OperatorGate(undefined, '127.0.0.1');
    expect(open.check(undefined, false)).toMatchObject({ ok: false, status: 403, message: expect.stringMatching(/proxy/) });
    expect(isDirectLocal('127.0.0.1', {})).toBe(true);
    expect(isDirectLocal('::1', {})).toBe(true);
    expect(isDirectLocal('::ffff:127.0.0.1', {})).toBe(true);
    expect(isDirectLocal('192.0.2.7', {})).toBe(false);
    expect(isDirectLocal(undefined, {})).toBe(false);
    for (const h of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto'])
      expect(isDirectLocal('127.0.0.1', { [h]: '203.0.113.9' }), h).toBe(false);
    // DNS rebinding: a page of another site whose name now points at 127.0.0.1 sends that name.
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'localhost', '[::1]:8080', '127.1.2.3'])
      expect(isDirectLocal('127.0.0.1', { host }), host).toBe(true);
    for (const host of [
      'evil.example:8080',
      'evil.example',
      'hub.example.com',
      '[2001:db8::1]:8080',
      '10.0.0.1:8080',
      'localhost.evil.example',
    ])
      expect(isDirectLocal('127.0.0.1', { host }), host).toBe(false);
    // A page of another site opening a WebSocket to 127.0.0.1 (no rebinding, CORS does not cover WebSockets): its
    // browser sends the loopback Host and that site's Origin.
    for (const origin of ['http://127.0.0.1:8080', 'http://localhost:5173', 'http://[::1]:8080', 'https://127.0.0.2'])
      expect(isDirectLocal('127.0.0.1', { host: '127.0.0.1:8080', origin }), origin).toBe(true);
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'null', 'not a url', 'http://10.0.0.1:8080'])
      expect(isDirectLocal('127.0.0.1', { host: '127.0.0.1:8080', origin }), origin).toBe(false);
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
