// Session ids from a pool of random bytes (signaling/core/session-ids.ts): the same shape as before, never repeated.
import { describe, expect, it } from 'vitest';
import { newSessionId, SESSION_ID_BYTES } from '../../signaling/core/session-ids.js';

describe('newSessionId', () => {
  it('is 12 random bytes in base64url, as a randomBytes(12) id was', () => {
    const id = newSessionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(SESSION_ID_BYTES);
  });

  it('gives a new id each time, across refills of the pool', () => {
    const ids = Array.from({ length: 5_000 }, newSessionId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
