// --trusted-proxies and --cluster-addresses: every entry an address, a CIDR range in range, loopback or private, or a
// clear error. `10.0.0.0/33,lodbalancer.local` was taken silently and both entries skipped: nothing was trusted.
import { describe, expect, it } from 'vitest';
import { addressList } from '../../node-app/cli/parsers.js';
import { isTrustedProxy, parseAddressList } from '../../signaling/geo/ip-locate.js';
import { Hub } from '../../signaling/hub.js';

describe('address lists (--trusted-proxies, --cluster-addresses)', () => {
  it('takes addresses, CIDR ranges and the keywords, as the matcher reads them', () => {
    const list = parseAddressList(' 10.0.0.0/8, 192.168.1.7 ,::1, fd00::/8,loopback,PRIVATE');
    expect(list).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', 'loopback', 'PRIVATE']);
    expect(isTrustedProxy('10.1.2.3', list)).toBe(true);
    expect(isTrustedProxy('127.0.0.1', list)).toBe(true);
  });

  it('refuses a bad entry, naming it (the whole list, not only that entry)', () => {
    expect(() => parseAddressList('10.0.0.0/33,lodbalancer.local')).toThrow(/"10\.0\.0\.0\/33": the prefix length must be 0\.\.32/);
    expect(() => parseAddressList('10.0.0.1,lodbalancer.local')).toThrow(/"lodbalancer\.local" is not an IP address, a CIDR range/);
    for (const bad of ['::1/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/x', '10.0.0.256', 'public'])
      expect(() => parseAddressList(bad), bad).toThrow(/is not an IP address|prefix length/);
  });

  it('the CLI parser says so as a flag error; the hub refuses such a list from code too', () => {
    expect(() => addressList('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => new Hub({ clusterSecret: 'a-cluster-secret-of-some-length', trustedProxies: ['lodbalancer.local'] })).toThrow(
      /lodbalancer\.local/,
    );
    expect(() => new Hub({ clusterSecret: 'a-cluster-secret-of-some-length', clusterAddresses: ['10.0.0.0/33'] })).toThrow(/prefix length/);
  });
});
