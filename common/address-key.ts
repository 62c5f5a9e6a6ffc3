// The key per-address limits count a client under: an IPv4 address as it is, an IPv6 address by its /64. A host picks
// any address of its /64 freely (privacy addresses, or simply by configuration), so counting by the whole address
// would give one subscriber 2^64 budgets of every per-address cap and rate.

/** The network an IPv6 address counts under (its first 64 bits). */
export const IPV6_PREFIX_GROUPS = 4;

/**
 * `ip` as a limit key: IPv4 (and IPv4-mapped IPv6) as the dotted address, IPv6 as `a:b:c:d::/64` (lower case, no
 * leading zeros), anything else (`unknown`, a malformed address) unchanged.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bare);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(bare);
  if (!groups) return ip;
  return `${groups.slice(0, IPV6_PREFIX_GROUPS).join(':')}::/64`;
}

/** The 8 groups of an IPv6 address (hex, no leading zeros), or null when it is not one. */
function expandIpv6(ip: string): string[] | null {
  const halves = ip.split('::');
  if (halves.length > 2) return null;
  const part = (s: string | undefined): string[] | null => {
    if (!s) return [];
    const out: string[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        // An embedded IPv4 address: its two groups.
        const b = g.split('.').map(Number);
        if (b.length !== 4 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return null;
        out.push(((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16));
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
        out.push(Number.parseInt(g, 16).toString(16));
      }
    }
    return out;
  };
  const head = part(halves[0]);
  const tail = part(halves[1]);
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...Array.from({ length: missing }, () => '0'), ...tail];
}
