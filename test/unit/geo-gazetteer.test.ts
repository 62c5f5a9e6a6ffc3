// The gazetteer: typed places and coordinates to Places, and autocomplete.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { distanceKm } from '../../node-app/director/geo.js';
import { columnsOf, decodeColumns, encodeColumns } from '../../signaling/geo/gazetteer-file.js';
import {
  MAX_SHORT_PREFIXES,
  normalise,
  parseCoordinates,
  resolveLocation,
  resolvePlace,
  shortPrefixesHeld,
  suggest,
} from '../../signaling/geo/gazetteer.js';

const FRANKFURT = { lat: 50.11, lon: 8.68 };
const near = (p: { lat: number; lon: number } | null, q: { lat: number; lon: number }, km = 25) => p !== null && distanceKm(p, q) < km;

describe('resolvePlace', () => {
  it('resolves well-known city names', () => {
    const fra = resolvePlace('Frankfurt am Main');
    expect(fra).toMatchObject({ label: 'Frankfurt am Main, DE', source: 'typed' });
    expect(near(fra, FRANKFURT)).toBe(true);
    expect(near(resolvePlace('Singapore'), { lat: 1.29, lon: 103.85 })).toBe(true);
    expect(resolvePlace('Singapore')?.label).toBe('Singapore, SG');
  });

  it('picks the most populous of several same-named cities, or the one in the given country', () => {
    expect(near(resolvePlace('Paris'), { lat: 48.86, lon: 2.35 })).toBe(true);
    expect(resolvePlace('Paris, FR')).toMatchObject({ label: 'Paris, FR', source: 'typed' });
    expect(near(resolvePlace('Paris, FR'), { lat: 48.86, lon: 2.35 })).toBe(true);
    const paris = resolvePlace('Paris, US');
    expect(paris?.label).toBe('Paris, US');
    expect(paris!.lon).toBeLessThan(-60);
    expect(resolvePlace('London, CA')?.label).toBe('London, CA');
    expect(resolvePlace('Paris, Canada')?.label).toBe('Paris, CA');
  });

  it('is case-, space- and accent-insensitive', () => {
    expect(resolvePlace('  sao   PAULO ')?.label).toBe('São Paulo, BR');
    expect(resolvePlace('ZURICH')?.label).toBe('Zürich, CH');
    expect(resolvePlace('zürich')?.label).toBe('Zürich, CH');
  });

  it('falls back to whole-word prefixes when no name matches exactly', () => {
    expect(resolvePlace('Frankfurt')?.label).toBe('Frankfurt am Main, DE');
    expect(resolvePlace('New York')?.label).toBe('New York City, US');
    // A prefix inside a word is not a match.
    expect(resolvePlace('Frankfur')).toBeNull();
  });

  it('reads coordinates', () => {
    expect(resolvePlace('50.1, 8.7')).toEqual({ lat: 50.1, lon: 8.7, label: '50.1, 8.7', source: 'coordinates' });
    expect(resolvePlace('-33.87,151.21')).toMatchObject({ lat: -33.87, lon: 151.21, source: 'coordinates' });
    expect(resolvePlace('40.7 -74')).toMatchObject({ lat: 40.7, lon: -74, source: 'coordinates' });
  });

  it('returns null for unknown places, empty text and out-of-range coordinates', () => {
    expect(resolvePlace('Xyzzyville')).toBeNull();
    expect(resolvePlace('Paris, Xyzzy')).toBeNull();
    expect(resolvePlace('   ')).toBeNull();
    expect(resolvePlace('95, 8')).toBeNull();
    expect(resolvePlace('45, 200')).toBeNull();
    expect(parseCoordinates('Paris')).toBeNull();
  });
});

describe('resolveLocation', () => {
  it('passes explicit coordinates through and validates them', () => {
    expect(resolveLocation({ lat: 1, lon: 2, label: 'Office' })).toEqual({ lat: 1, lon: 2, label: 'Office', source: 'coordinates' });
    expect(resolveLocation({ lat: 1, lon: 2 })?.label).toBe('1, 2');
    expect(resolveLocation({ lat: 91, lon: 2 })).toBeNull();
    expect(resolveLocation('Singapore')?.label).toBe('Singapore, SG');
  });
});

describe('suggest', () => {
  it('lists prefix matches, most populous first, one per label', () => {
    const labels = suggest('par', 8).map((p) => p.label);
    expect(labels[0]).toBe('Paris, FR');
    expect(labels.length).toBe(8);
    expect(new Set(labels).size).toBe(labels.length);
    for (const l of labels) expect(normalise(l).startsWith('par')).toBe(true);
  });

  it('answers short prefixes with the largest cities and respects the limit', () => {
    const s = suggest('s', 5);
    expect(s).toHaveLength(5);
    expect(s.map((p) => p.label)).toContain('Shanghai, CN');
    expect(suggest('s', 3).map((p) => p.label)).toEqual(s.slice(0, 3).map((p) => p.label));
    expect(suggest('s', 1000).length).toBeLessThanOrEqual(20);
  });

  it('narrows by a country qualifier', () => {
    const us = suggest('Paris, U', 5);
    expect(us.length).toBeGreaterThan(0);
    for (const p of us) expect(p.label).toMatch(/^Paris.*, (US|UY|UA|UG|UZ|GB|AE)$/);
  });

  it('every suggestion resolves back to itself', () => {
    for (const p of [...suggest('lon', 10), ...suggest('san', 10), ...suggest('fr', 10)]) {
      expect(resolvePlace(p.label)).toEqual(p);
    }
  });

  it('returns nothing for an empty or unmatched prefix', () => {
    expect(suggest('', 5)).toEqual([]);
    expect(suggest('xyzzyq', 5)).toEqual([]);
  });
});

describe('the index cache', () => {
  const QUERIES = ['Paris', 'Paris, US', 'Frankfurt', 'zürich', 'sao paulo', 'New York', 'London, CA', 'Xyzzyville'];
  const PREFIXES = ['fr', 'new y', 'san, m', 'z', 'los'];
  const answers = (g: typeof import('../../signaling/geo/gazetteer.js')) => ({
    places: QUERIES.map((q) => g.resolvePlace(q)),
    suggestions: PREFIXES.map((p) => g.suggest(p, 20)),
    near: g.nearestCityLabel(48.1, 11.5),
  });
  const fresh = async () => {
    vi.resetModules();
    return import('../../signaling/geo/gazetteer.js');
  };

  it('a hub that reads the cached index answers as one that built it; a damaged cache is built again', async () => {
    // A directory of its own: hubs started by other test files meanwhile read the shared one.
    process.env.BATON_CACHE_DIR = mkdtempSync(join(tmpdir(), 'baton-gazetteer-'));
    onTestFinished(() => {
      rmSync(process.env.BATON_CACHE_DIR!, { recursive: true, force: true });
      delete process.env.BATON_CACHE_DIR;
    });
    const built = await fresh();
    const file = built.gazetteerCacheFile();
    expect(file).toBe(join(process.env.BATON_CACHE_DIR!, file!.split('/').at(-1)!));
    expect(file).toMatch(/gazetteer-[\d.]+-[0-9a-f]{12}\.bin$/);
    const fromBuild = answers(built);
    expect(existsSync(file!)).toBe(true); // written by that first build

    const fromCache = answers(await fresh());
    expect(fromCache).toEqual(fromBuild);
    expect(fromBuild.places[0]).toMatchObject({ label: 'Paris, FR' });

    // Read, not built: a cache holding one made-up town is all the index knows.
    writeFileSync(file!, encodeColumns(columnsOf([['Xyzzyville', 'xyzzyville', 'ZZ', 1, 2, 5]])));
    const fake = await fresh();
    expect(fake.resolvePlace('Xyzzyville')?.label).toBe('Xyzzyville, ZZ');
    expect(fake.resolvePlace('Paris')).toBeNull();

    const whole = readFileSync(file!);
    for (const damaged of [whole.subarray(0, whole.length - 1), Buffer.from('[["Paris", "paris"')]) {
      writeFileSync(file!, damaged); // cut short, or not this format
      expect(answers(await fresh())).toEqual(fromBuild);
      expect(decodeColumns(readFileSync(file!))?.count).toBeGreaterThan(100_000); // and rewritten whole
    }
  });
});

describe('suggest: what anonymous prefixes can make the hub hold', () => {
  it('short prefixes that match nothing are not remembered; those that match are, up to MAX_SHORT_PREFIXES', () => {
    expect(suggest('be').length).toBeGreaterThan(0);
    const before = shortPrefixesHeld();
    // Two CJK units each: none is the start of an indexed name (a million of them held 85 MB before).
    for (let i = 0; i < 20_000; i++) expect(suggest(String.fromCharCode(0x4e00 + (i % 5000), 0x6000 + Math.floor(i / 5000)))).toEqual([]);
    expect(shortPrefixesHeld()).toBe(before);
    // Every two-letter ASCII prefix: answers that exist are kept, within the bound.
    for (let a = 97; a < 123; a++) for (let b = 97; b < 123; b++) suggest(String.fromCharCode(a, b));
    expect(shortPrefixesHeld()).toBeGreaterThan(before);
    expect(shortPrefixesHeld()).toBeLessThanOrEqual(MAX_SHORT_PREFIXES);
  });
});
