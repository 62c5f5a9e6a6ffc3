// The gazetteer's index as a hub keeps it and its cache file holds it: columns, not one object per city.
//
// 135,000 names as objects took a hub ≈ 0.8 s to read back from JSON at every start (≈ 3-5 s on a loaded machine),
// and the hub answers nothing while it does. As columns the file is read back in ≈ 50 ms: the numbers are typed
// arrays taken as they are, and the names and keys are two strings a city's own is sliced from when it is looked at.

/** A city as the index is built from: name, key, country (ISO code, two letters), lat, lon, population. */
export type Row = [string, string, string, number, number, number];

/** Every city (and alternate name), by key, then most populous first, as columns. */
export interface Columns {
  readonly count: number;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  readonly population: Uint32Array;
  /** City i's name is `names.slice(nameAt[i], nameAt[i + 1])`; its key likewise in `keys`. */
  readonly names: string;
  readonly nameAt: Uint32Array;
  readonly keys: string;
  readonly keyAt: Uint32Array;
  /** Two letters per city. */
  readonly countries: string;
}

const MAGIC = 0x474e5442; // "BTNG"
const HEADER_BYTES = 16;

export function columnsOf(rows: readonly Row[]): Columns {
  const count = rows.length;
  const lat = new Float64Array(count);
  const lon = new Float64Array(count);
  const population = new Uint32Array(count);
  const nameAt = new Uint32Array(count + 1);
  const keyAt = new Uint32Array(count + 1);
  const names: string[] = [];
  const keys: string[] = [];
  const countries: string[] = [];
  let nameLen = 0;
  let keyLen = 0;
  rows.forEach(([name, key, country, la, lo, pop], i) => {
    if (!/^[A-Z]{2}$/.test(country)) throw new Error(`gazetteer: country ${JSON.stringify(country)} is not a two-letter code`);
    lat[i] = la;
    lon[i] = lo;
    population[i] = pop;
    names.push(name);
    keys.push(key);
    countries.push(country);
    nameAt[i + 1] = nameLen += name.length;
    keyAt[i + 1] = keyLen += key.length;
  });
  return { count, lat, lon, population, names: names.join(''), nameAt, keys: keys.join(''), keyAt, countries: countries.join('') };
}

/** The file: a header (magic, count, the two strings' byte lengths), the five arrays, the names, keys, countries. */
export function encodeColumns(c: Columns): Buffer {
  const names = Buffer.from(c.names, 'utf8');
  const keys = Buffer.from(c.keys, 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(c.count, 4);
  header.writeUInt32LE(names.length, 8);
  header.writeUInt32LE(keys.length, 12);
  const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return Buffer.concat([
    header,
    bytes(c.lat),
    bytes(c.lon),
    bytes(c.population),
    bytes(c.nameAt),
    bytes(c.keyAt),
    names,
    keys,
    Buffer.from(c.countries, 'latin1'),
  ]);
}

/** The columns a file holds; null when it is not one whole file of this format. */
export function decodeColumns(file: Buffer): Columns | null {
  if (file.length < HEADER_BYTES || file.readUInt32LE(0) !== MAGIC) return null;
  const count = file.readUInt32LE(4);
  const nameBytes = file.readUInt32LE(8);
  const keyBytes = file.readUInt32LE(12);
  const arrays = count * 20 + (count + 1) * 8;
  if (count === 0 || file.length !== HEADER_BYTES + arrays + nameBytes + keyBytes + 2 * count) return null;
  let at = HEADER_BYTES;
  // Copied out of the file's buffer: a typed array must start at a multiple of its element size.
  const take = (n: number) => file.buffer.slice(file.byteOffset + at, file.byteOffset + (at += n));
  const lat = new Float64Array(take(count * 8));
  const lon = new Float64Array(take(count * 8));
  const population = new Uint32Array(take(count * 4));
  const nameAt = new Uint32Array(take((count + 1) * 4));
  const keyAt = new Uint32Array(take((count + 1) * 4));
  const names = file.toString('utf8', at, (at += nameBytes));
  const keys = file.toString('utf8', at, (at += keyBytes));
  const countries = file.toString('latin1', at);
  if (nameAt[0] !== 0 || keyAt[0] !== 0 || nameAt[count] !== names.length || keyAt[count] !== keys.length) return null;
  for (let i = 0; i < count; i++) if (nameAt[i + 1]! < nameAt[i]! || keyAt[i + 1]! < keyAt[i]!) return null;
  return { count, lat, lon, population, names, nameAt, keys, keyAt, countries };
}
