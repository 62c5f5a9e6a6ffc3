// Per-address limits count IPv6 clients by their /64 (common/address-key.ts).
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../common/address-key.js';

describe('addressKey', () => {
  it('keeps IPv4, and takes IPv4-mapped IPv6 as IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::FFFF:203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts every address of one IPv6 /64 under one key, however it is written', () => {
    const keys = new Set(
      [
        '2001:db8:1:2::1',
        '2001:db8:1:2:ffff:ffff:ffff:ffff',
        '2001:0DB8:0001:0002:0:0:0:5',
        '2001:db8:1:2:a:b:c:d%eth0',
        '2001:db8:1:2::10.0.0.1',
      ].map(addressKey),
    );
    expect([...keys]).toEqual(['2001:db8:1:2::/64']);
    expect(addressKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1')).toBe('fe80:0:0:0::/64');
  });

  it('leaves what is not an address unchanged', () => {
    for (const s of ['unknown', '1:2:3', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9']) expect(addressKey(s)).toBe(s);
  });
});
