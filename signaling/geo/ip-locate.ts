// Where a client is, by IP address: the client's address behind trusted proxies, and its geoip place.
import { createRequire } from 'node:module';
import { BlockList, isIP } from 'node:net';
import type { Lookup } from 'geoip-lite';
import type { Place } from '../protocol/types.js';

type GeoipLookup = (ip: string) => Lookup | null;

let lookup: GeoipLookup | null = null;

/**
 * Load geoip-lite's tables (≈ 1 s and a few hundred MB the first time) so the
 * first `ipPlace` call does not pay for it. Idempotent; `ipPlace` calls it too.
 */
export function loadIpData(): void {
  if (lookup) return;
  const require = createRequire(import.meta.url);
  const geoip = require('geoip-lite') as { lookup: GeoipLookup };
  lookup = (ip) => geoip.lookup(ip);
}

/** Ranges that never geolocate: loopback, private, link-local, CGNAT, unspecified, documentation. */
const NOT_ROUTABLE = buildList([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/3',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
  '2001:db8::/32',
]);

/**
 * The geoip place of an address (source `ip`, label `"City, CC"` or `"CC"`),
 * or null for loopback, private and other non-routable addresses, malformed
 * input, and addresses geoip-lite does not know.
 */
export function ipPlace(ip: string): Place | null {
  const addr = normaliseIp(ip);
  if (!addr) return null;
  if (NOT_ROUTABLE.check(addr, isIP(addr) === 6 ? 'ipv6' : 'ipv4')) return null;
  loadIpData();
  const hit = lookup!(addr);
  if (!hit || !Array.isArray(hit.ll) || hit.ll.length !== 2) return null;
  const [lat, lon] = hit.ll;
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const label = hit.city ? `${hit.city}, ${hit.country}` : hit.country || addr;
  return { lat, lon, label, source: 'ip' };
}

/**
 * The client's address. `X-Forwarded-For` is honoured only when the direct
 * peer (`remoteAddress`) is a trusted proxy; then the header is read right to
 * left and the first address that is not a trusted proxy is the client (the
 * left part of the header is whatever the client chose to send, so it is never
 * taken on trust). When every hop is trusted, the left-most one is used; a
 * malformed hop stops the walk at the last good address.
 *
 * @param trustedProxies addresses or CIDR ranges (`10.0.0.0/8`, `::1`), plus
 *   the keywords `loopback` and `private`; invalid entries are ignored
 * @returns a normalised address (`::ffff:` prefix removed), or null when
 *   `remoteAddress` is missing or malformed
 */
export function clientIp(
  remoteAddress: string | undefined | null,
  forwardedFor: string | readonly string[] | undefined | null,
  trustedProxies: readonly string[],
): string | null {
  let addr = remoteAddress ? normaliseIp(remoteAddress) : null;
  if (!addr || !forwardedFor || trustedProxies.length === 0) return addr;
  const trusted = trustedList(trustedProxies);
  if (!isTrusted(trusted, addr)) return addr;
  const hops = (typeof forwardedFor === 'string' ? [forwardedFor] : forwardedFor).join(',').split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseIp(hops[i]!);
    if (!hop) break;
    addr = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return addr;
}

/**
 * Canonical text of one address: trims, drops `[...]` brackets, a `:port`
 * suffix on IPv4 and bracketed IPv6, a `%zone`, and the `::ffff:` prefix of
 * IPv4-mapped IPv6. Null when the result is not an IP address.
 */
export function normaliseIp(raw: string): string | null {
  let s = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  if (mapped) s = mapped[1]!;
  const family = isIP(s);
  if (family === 0) return null;
  return family === 6 ? s.toLowerCase() : s;
}

const KEYWORDS: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
};

/**
 * Why `entry` is not an address list entry (an address, `address/prefix` in range, `loopback`, `private`), or null.
 * The list is matched leniently (a bad entry matches nothing), so every way in checks it first: a typo such as
 * `10.0.0.0/33` or a host name was skipped silently, and the proxy or server it meant was then not trusted.
 */
export function addressEntryError(entry: string): string | null {
  const e = entry.trim();
  if (KEYWORDS[e.toLowerCase()]) return null;
  const [rawAddr = '', rawPrefix, extra] = e.split('/');
  const addr = normaliseIp(rawAddr);
  const expected = `an IP address, a CIDR range (a.b.c.d/n, x::y/n) or one of ${Object.keys(KEYWORDS).join(', ')}`;
  if (!addr || extra !== undefined) return `"${e.slice(0, 80)}" is not ${expected}`;
  if (rawPrefix === undefined) return null;
  const max = isIP(addr) === 6 ? 128 : 32;
  if (!/^[0-9]{1,3}$/.test(rawPrefix) || Number(rawPrefix) > max) return `"${e.slice(0, 80)}": the prefix length must be 0..${max}`;
  return null;
}

/** `spec` (`a,b,…`) as a list of checked entries; throws naming the first bad one. */
export function parseAddressList(spec: string): string[] {
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  checkAddressList(entries);
  return entries;
}

/** Throws naming the first entry of `entries` that is not an address, a CIDR range or a keyword. */
export function checkAddressList(entries: readonly string[]): void {
  for (const entry of entries) {
    const error = addressEntryError(entry);
    if (error) throw new Error(error);
  }
}

const trustedCache = new WeakMap<readonly string[], BlockList>();

/** Whether `address` is one of `trustedProxies` (addresses, CIDR ranges, `loopback`, `private`). */
export function isTrustedProxy(address: string, trustedProxies: readonly string[]): boolean {
  const addr = normaliseIp(address);
  return !!addr && trustedProxies.length > 0 && isTrusted(trustedList(trustedProxies), addr);
}

function trustedList(entries: readonly string[]): BlockList {
  let list = trustedCache.get(entries);
  if (!list) {
    list = buildList(entries.flatMap((e) => KEYWORDS[e.trim().toLowerCase()] ?? [e]));
    trustedCache.set(entries, list);
  }
  return list;
}

function isTrusted(list: BlockList, addr: string): boolean {
  return list.check(addr, isIP(addr) === 6 ? 'ipv6' : 'ipv4');
}

function buildList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [rawAddr, rawPrefix] = entry.trim().split('/');
    const addr = rawAddr ? normaliseIp(rawAddr) : null;
    if (!addr) continue;
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (rawPrefix === undefined) {
      list.addAddress(addr, type);
      continue;
    }
    const prefix = Number(rawPrefix);
    if (Number.isInteger(prefix) && prefix >= 0 && prefix <= (type === 'ipv6' ? 128 : 32)) {
      list.addSubnet(addr, prefix, type);
    }
  }
  return list;
}
