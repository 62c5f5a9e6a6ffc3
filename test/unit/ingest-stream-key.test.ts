// Stream keys: configured keys, signed keys with an expiry, and everything a forger might try.
import { describe, expect, it } from 'vitest';
import { mintStreamKey, verifyStreamKey } from '../../signaling/policies/stream-key.js';

const KEYS: ReadonlySet<string> = new Set(['plain-key']);
const SECRET = 'key-secret';
const NOW = 1_800_000_000_000;

describe('stream keys', () => {
  it('accepts configured keys and unexpired signed keys', () => {
    expect(verifyStreamKey('plain-key', KEYS, undefined, NOW)).toEqual({ ok: true });
    expect(verifyStreamKey(mintStreamKey(SECRET, { expiresAtMs: NOW + 1 }), KEYS, SECRET, NOW)).toEqual({ ok: true });
    expect(verifyStreamKey(mintStreamKey(SECRET, { expiresAtMs: NOW + 60_000, streamId: 'show-1' }), KEYS, SECRET, NOW)).toEqual({
      ok: true,
      streamId: 'show-1',
    });
  });

  it('refuses expired keys with a reason that says so', () => {
    const r = verifyStreamKey(mintStreamKey(SECRET, { expiresAtMs: NOW }), KEYS, SECRET, NOW);
    expect(r).toMatchObject({ ok: false, reason: 'expired', message: expect.stringMatching(/expired at 2027-/) });
  });

  it('refuses unknown, tampered, re-signed and malformed keys as unknown', () => {
    const good = mintStreamKey(SECRET, { expiresAtMs: NOW + 60_000 });
    const [prefix, payload, sig] = good.split('.');
    const longer = Buffer.from(JSON.stringify({ exp: NOW + 10 ** 12 })).toString('base64url');
    for (const key of [
      'nope',
      '',
      `${prefix}.${longer}.${sig}`,
      `${prefix}.${payload}.${sig!.slice(0, -2)}AA`,
      mintStreamKey('other-secret', { expiresAtMs: NOW + 60_000 }),
      `${prefix}.${payload}`,
      `${prefix}..`,
      `${prefix}.!!!.${sig}`,
    ]) {
      expect(verifyStreamKey(key, KEYS, SECRET, NOW), key).toMatchObject({ ok: false, reason: 'unknown' });
    }
    // Other spellings of a good key's signature decode to the same bytes; each would count as a key of its own
    // against the per-key broadcast cap, so only the minted spelling passes.
    // (A minted signature's last character leaves its 2 spare bits at 0; setting one changes the text, not the bytes.)
    const spareBitSet = `${good.slice(0, -1)}${String.fromCharCode(good.charCodeAt(good.length - 1) + 1)}`;
    for (const key of [`${good}=`, `${good}!`, `${good}!!`, `${good} `, `${good}\n`, spareBitSet]) {
      expect(Buffer.from(key.split('.')[2]!, 'base64url').equals(Buffer.from(sig!, 'base64url')), key).toBe(true);
      expect(verifyStreamKey(key, KEYS, SECRET, NOW), key).toMatchObject({ ok: false, reason: 'unknown' });
    }
    // Without a secret, signed keys are not accepted at all.
    expect(verifyStreamKey(good, KEYS, undefined, NOW)).toMatchObject({ ok: false, reason: 'unknown' });
  });
});
