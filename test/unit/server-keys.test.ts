// Each media server signs its hub tokens with its own key, HMAC(cluster secret, its id): a server given only its key
// signs for its own id and no other; a hub makes every key again from the secret and the id a token names.
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  mintServerToken,
  mintWithServerKey,
  serverCredential,
  serverKeyFor,
  serverTokenMinter,
  TokenVerifier,
} from '../../signaling/auth.js';

const SECRET = 'a-cluster-secret-of-some-length';
const NOW = 1_800_000_000_000;

describe('server keys', () => {
  it('a key is fixed by the secret and the id, differs for another of either, and carries 256 bits', () => {
    const key = serverKeyFor(SECRET, 'fra-1');
    expect(serverKeyFor(SECRET, 'fra-1')).toBe(key);
    expect(serverKeyFor(SECRET, 'fra-2')).not.toBe(key);
    expect(serverKeyFor(`${SECRET}x`, 'fra-1')).not.toBe(key);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    expect(key).not.toContain(SECRET);
  });

  it("a token signed with a server's key is accepted for its id, and for no other id", () => {
    const v = new TokenVerifier(SECRET);
    const key = serverKeyFor(SECRET, 'fra-1');
    expect(v.verify(mintWithServerKey(key, 'fra-1', NOW), NOW)).toBe('fra-1');
    for (const other of ['iad-1', 'fra-10', 'FRA-1'])
      expect(() => v.verify(mintWithServerKey(key, other, NOW), NOW)).toThrow(/bad cluster secret or server key for/);
    // A token of fra-1's with its id part swapped for another: the signature covers the id.
    const [ver, , exp, nonce, mac] = mintWithServerKey(key, 'fra-1', NOW).split('.');
    expect(() => v.verify([ver, 'iad-1', exp, nonce, mac].join('.'), NOW)).toThrow(AuthError);
  });

  it('the cluster secret mints the same as the key made from it; another secret is refused', () => {
    const v = new TokenVerifier(SECRET);
    expect(v.verify(mintServerToken(SECRET, 'sin-1', NOW), NOW)).toBe('sin-1');
    expect(v.verify(serverTokenMinter({ clusterSecret: SECRET }, 'sin-1')(), Date.now())).toBe('sin-1');
    expect(v.verify(serverTokenMinter({ serverKey: serverKeyFor(SECRET, 'sin-1') }, 'sin-1')(), Date.now())).toBe('sin-1');
    expect(() => v.verify(mintServerToken('another-secret-of-some-length', 'sin-1', NOW), NOW)).toThrow(/signature mismatch/);
  });

  it("a server of an earlier version (baton1: signed with the cluster secret itself) is still taken; a key can't sign that way for another id", () => {
    const v = new TokenVerifier(SECRET);
    const body = `baton1.iad-1.${NOW + 30_000}.${randomBytes(12).toString('base64url')}`;
    const legacy = (secret: string) => `${body}.${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(v.verify(legacy(SECRET), NOW)).toBe('iad-1');
    expect(() => new TokenVerifier(SECRET).verify(legacy(serverKeyFor(SECRET, 'fra-1')), NOW)).toThrow(/signature mismatch/);
    expect(() => v.verify(`baton3${body.slice(6)}.00`, NOW)).toThrow(/malformed cluster token/);
  });

  it('a media server takes the cluster secret or its key: one of the two', () => {
    expect(serverCredential({ clusterSecret: SECRET })).toEqual({ clusterSecret: SECRET });
    expect(serverCredential({ serverKey: 'k'.repeat(43) })).toEqual({ serverKey: 'k'.repeat(43) });
    expect(() => serverCredential({})).toThrow(/cluster secret or its server key/);
    expect(() => serverCredential({ clusterSecret: SECRET, serverKey: 'k'.repeat(43) })).toThrow(/not both/);
  });
});
