// Flag values of the `baton` command line: each parser checks one kind of value and says what it expected (commander's argParser).
import { InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { iceServersSchema } from '../../signaling/protocol/messages.js';
import { DEFAULT_LOAD_WEIGHTS } from '../../signaling/protocol/load-factor.js';
import { isAssetId } from '../../signaling/protocol/ids.js';
import { parseAddressList } from '../../signaling/geo/ip-locate.js';
import { parseRedisUrl } from '../../signaling/redis/redis-url.js';
import { parseIceAllow } from '../webrtc/ice-filter.js';

/** Integers as people write them: decimal digits with an optional sign; `-0` is 0. */
const INTEGER_TEXT = /^[+-]?[0-9]+$/;
/** Decimal numbers: digits, an optional fraction and exponent (`2.5`, `.5`, `1e3`); never hex, binary, octal or `Infinity`. */
const DECIMAL_TEXT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?$/i;

/**
 * The number a flag value spells in decimal, else NaN. `Number()` alone also takes `0x10`, `0b11`, `0o7`, `' 5 '`
 * and `''` (as 0: an empty BATON_PORT meant "any free port"), which no one means as a flag value.
 */
export function decimal(v: string, integer = false): number {
  if (!(integer ? INTEGER_TEXT : DECIMAL_TEXT).test(v)) return Number.NaN;
  // + 0 turns -0 into 0.
  return Number(v) + 0;
}

export function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string) => {
    const n = decimal(v, true);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max} (decimal digits), got "${v}"`);
    return n;
  };
}

/**
 * The longest delay a Node timer keeps, ms (2^31 − 1): a longer one fires after 1 ms (TimeoutOverflowWarning), so
 * `--rotation-ms 3000000000` rotated ≈ 1,200 times a second. Every flag that ends in a timer is bounded by it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A timer's delay in ms (a `*-ms` flag): an integer in min..max, max never above `MAX_TIMER_MS`. */
export function timerMs(name: string, min: number, max = MAX_TIMER_MS) {
  return int(name, min, Math.min(max, MAX_TIMER_MS));
}

export function num(name: string, min: number, max: number) {
  return (v: string) => {
    const n = decimal(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in ${min}..${max}, got "${v}"`);
    return n;
  };
}

/**
 * An integer field the hub checks with `schema` (a zod integer with a min and a max), read from a flag in units of
 * `scale` of the field's (`--limit-kbps` for `limitBps`: 1000): the flag's range is the schema's, so the CLI never
 * accepts a value the hub then refuses.
 */
export function intOf(name: string, schema: z.ZodNumber, scale = 1) {
  const { minValue, maxValue } = schema;
  if (minValue === null || maxValue === null || !schema.isInt) throw new Error(`${name}: the schema must be a bounded integer`);
  return int(name, Math.ceil(minValue / scale), Math.floor(maxValue / scale));
}

/** A text field the hub checks with `schema` (a zod string with a length range): refused here as it would be there. */
export function textOf(name: string, schema: z.ZodString) {
  const { minLength, maxLength } = schema;
  return (v: string): string => {
    const r = schema.safeParse(v);
    if (r.success) return v;
    const issue = r.error.issues[0];
    if (issue?.code === 'too_big' || issue?.code === 'too_small')
      throw new InvalidArgumentError(`${name} must be ${minLength ?? 0}–${maxLength ?? '∞'} characters, got ${v.length}`);
    throw new InvalidArgumentError(`${name}: ${issue?.message ?? 'not accepted'}`);
  };
}

/** An asset, stream or server id, checked here as the hub checks it: a key minted for `../x` could never be used. */
export function assetId(v: string): string {
  if (isAssetId(v)) return v;
  throw new InvalidArgumentError(`expected 1–64 of [A-Za-z0-9_-], not starting with _ or -, got "${String(v).slice(0, 80)}"`);
}

export const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Load factor weights as `--load-weights` takes them (`sessions=0,egress=0.8,cpu=0.2`): what --help shows as the default. */
export function weightsText(w: { sessions: number; egress: number; cpu: number }): string {
  return `sessions=${w.sessions},egress=${w.egress},cpu=${w.cpu}`;
}

/**
 * `--load-weights`: `sessions=N,egress=N,cpu=N` (any of them; the others keep their defaults), or the same as a JSON
 * object (`{"egress":1}`: what a config file holds, `"loadWeights": {…}`).
 */
export function loadWeights(v: string): { sessions: number; egress: number; cpu: number } {
  const w = { sessions: DEFAULT_LOAD_WEIGHTS.sessions, egress: DEFAULT_LOAD_WEIGHTS.egress, cpu: DEFAULT_LOAD_WEIGHTS.cpu };
  const expected = 'expected sessions=N,egress=N,cpu=N or {"sessions":N,"egress":N,"cpu":N} with N ≥ 0';
  let entries: [string, unknown][];
  if (v.trim().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(v);
    } catch {
      throw new InvalidArgumentError(`${expected}, got "${v.slice(0, 200)}" (not JSON)`);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new InvalidArgumentError(`${expected}, got "${v.slice(0, 200)}"`);
    entries = Object.entries(json);
  } else entries = list(v).map((part) => [part.split('=')[0] ?? '', decimal(part.split('=')[1] ?? '')]);
  for (const [k, n] of entries) {
    if (!(k in w) || typeof n !== 'number' || !Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${expected}, got ${JSON.stringify(k)}: ${JSON.stringify(n) ?? 'nothing'}`);
    w[k as keyof typeof w] = n;
  }
  if (w.sessions + w.egress + w.cpu <= 0) throw new InvalidArgumentError('at least one weight must be positive');
  return w;
}

/** 'off' stays a string here: commander stores a parser's `null` as '' (and '' ≥ 0 read as ε = 0). */
export function loadBound(v: string): number | 'off' {
  if (v === 'off') return 'off';
  const n = decimal(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError(`expected a number from 0 to 100 or "off", got "${v}"`);
  return n;
}

/** A number of seconds in min..max, or 'off' (kept a string, as `loadBound`'s); it ends in a timer, so max ≤ `MAX_TIMER_MS`. */
export function secondsOrOff(name: string, min: number, max: number) {
  const seconds = num(name, min, Math.min(max, Math.floor(MAX_TIMER_MS / 1000)));
  return (v: string): number | 'off' => (v === 'off' ? 'off' : seconds(v));
}

export function iceServers(v: string): RTCIceServer[] {
  let json: unknown;
  try {
    json = JSON.parse(v);
  } catch {
    throw new InvalidArgumentError('must be JSON, e.g. [{"urls":"turn:turn.example.com:3478","username":"u","credential":"p"}]');
  }
  const r = iceServersSchema.safeParse(json);
  if (!r.success) throw new InvalidArgumentError(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data as RTCIceServer[];
}

export function redisUrl(v: string): string {
  try {
    return parseRedisUrl(v).url;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function hubId(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new InvalidArgumentError(`expected 1–64 of [A-Za-z0-9_.-], got "${v.slice(0, 80)}"`);
  return v;
}

/** One hub URL or several (`URL1,URL2`): a server or client moves to the next when its hub disappears. */
export function hubUrls(v: string): string[] {
  const urls = list(v);
  if (urls.length === 0 || urls.length > 16)
    throw new InvalidArgumentError(`expected 1–16 hub URLs separated by commas, got "${v.slice(0, 200)}"`);
  for (const u of urls) hubUrl(u);
  return urls;
}

/** A hub's own public URL (`--public-url`): one http(s) URL, without a trailing slash. */
export function publicUrl(v: string): string {
  return hubUrl(v.trim()).replace(/\/+$/, '');
}

function hubUrl(u: string): string {
  let p: URL;
  try {
    p = new URL(u);
  } catch {
    throw new InvalidArgumentError(`not a URL: "${u.slice(0, 200)}"`);
  }
  if (p.protocol !== 'http:' && p.protocol !== 'https:')
    throw new InvalidArgumentError(`hub URLs are http(s)://, got "${u.slice(0, 200)}"`);
  return u;
}

/** `--trusted-proxies`, `--cluster-addresses`: addresses, CIDR ranges, `loopback`, `private`; a bad entry stops start-up. */
export function addressList(v: string): string[] {
  try {
    return parseAddressList(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function iceAllow(v: string): string[] {
  try {
    return parseIceAllow(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function opt(flags: string, description: string, env: string, parse?: (v: string) => unknown, def?: unknown): Option {
  const o = new Option(flags, description).env(env);
  if (parse) o.argParser(parse as (v: string, p: unknown) => unknown);
  // --help shows a list's default as its flag takes it (`a,b`), not as JSON (`["a","b"]`, which the flag refuses).
  if (Array.isArray(def)) o.default(def, def.length ? def.join(',') : 'none');
  else if (def !== undefined) o.default(def);
  return o;
}

/** `--hub` of the tools (`baton watch`, `baton publish`): one hub or several of one cluster, BATON_HUB, loopback by default. */
export function toolHubOption(): Option {
  return opt(
    '--hub <url,…>',
    'hub URL, or several hubs of one cluster (the first that answers is used, the others if it goes)',
    'BATON_HUB',
    hubUrls,
    ['http://127.0.0.1:8080'],
  );
}

/** The first hub of the list whose /healthz answers within 2 s (else the first: its error is then the one reported). */
export async function firstReachable(urls: readonly string[]): Promise<string> {
  if (urls.length === 1) return urls[0]!;
  for (const u of urls) {
    try {
      const res = await fetch(`${u.replace(/\/$/, '')}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return u;
    } catch {
      // unreachable: try the next
    }
  }
  return urls[0]!;
}
