// IP geolocation and the client address behind trusted proxies.
import { describe, expect, it } from 'vitest';
import { clientIp, ipPlace, normaliseIp } from '../../signaling/geo/ip-locate.js';

describe('ipPlace', () => {
  it('places a public address', () => {
    const p = ipPlace('8.8.8.8');
    expect(p).not.toBeNull();
    expect(p!.source).toBe('ip');
    expect(p!.label).toMatch(/US$/);
    // Somewhere in the contiguous United States.
    expect(p!.lat).toBeGreaterThan(24);
    expect(p!.lat).toBeLessThan(50);
    expect(p!.lon).toBeGreaterThan(-125);
    expect(p!.lon).toBeLessThan(-66);
    expect(ipPlace('::ffff:8.8.8.8')).toEqual(p);
  });

  it('returns null for loopback, private and malformed addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '::1',
      '10.1.2.3',
      '192.168.0.10',
      '172.20.0.1',
      '169.254.1.1',
      'fd00::1',
      '::ffff:127.0.0.1',
      'not-an-ip',
      '',
    ]) {
      expect(ipPlace(ip), ip).toBeNull();
    }
  });
});

describe('normaliseIp', () => {
  it('strips mapped prefixes, brackets, ports and zones', () => {
    expect(normaliseIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normaliseIp(' 1.2.3.4:8080 ')).toBe('1.2.3.4');
    expect(normaliseIp('[2001:DB8::1]:443')).toBe('2001:db8::1');
    expect(normaliseIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normaliseIp('unknown')).toBeNull();
  });
});

describe('clientIp', () => {
  const proxies = ['10.0.0.1', '192.168.0.0/16'];

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientIp('203.0.113.9', '8.8.8.8', proxies)).toBe('203.0.113.9');
    expect(clientIp('::ffff:203.0.113.9', '8.8.8.8', proxies)).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientIp('10.0.0.1', '8.8.8.8', [])).toBe('10.0.0.1');
  });

  it('takes the right-most address that is not a trusted proxy', () => {
    expect(clientIp('10.0.0.1', '8.8.8.8', proxies)).toBe('8.8.8.8');
    expect(clientIp('::ffff:10.0.0.1', '1.1.1.1, 8.8.8.8, 192.168.4.4', proxies)).toBe('8.8.8.8');
    // The client can put anything on the left; it is never believed past an untrusted hop.
    expect(clientIp('10.0.0.1', '6.6.6.6, 9.9.9.9', proxies)).toBe('9.9.9.9');
  });

  it('joins repeated headers and normalises each hop', () => {
    expect(clientIp('10.0.0.1', ['1.1.1.1', '::ffff:9.9.9.9, 192.168.1.1'], proxies)).toBe('9.9.9.9');
  });

  it('uses the left-most hop when every hop is trusted, and stops at a malformed hop', () => {
    expect(clientIp('10.0.0.1', '192.168.1.1, 192.168.1.2', proxies)).toBe('192.168.1.1');
    expect(clientIp('10.0.0.1', 'garbage, 192.168.1.2', proxies)).toBe('192.168.1.2');
    expect(clientIp('10.0.0.1', 'garbage', proxies)).toBe('10.0.0.1');
  });

  it('understands the loopback keyword (hub behind a local proxy, or tests)', () => {
    expect(clientIp('127.0.0.1', '8.8.8.8', ['loopback'])).toBe('8.8.8.8');
    expect(clientIp('::1', '8.8.8.8', ['loopback'])).toBe('8.8.8.8');
    expect(clientIp('127.0.0.1', undefined, ['loopback'])).toBe('127.0.0.1');
  });

  it('returns null without a usable remote address', () => {
    expect(clientIp(undefined, '8.8.8.8', proxies)).toBeNull();
    expect(clientIp('nonsense', '8.8.8.8', proxies)).toBeNull();
  });
});
