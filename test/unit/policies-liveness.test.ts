// Liveness: a server is gone after it misses three heartbeats, not before.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MISSED_HEARTBEATS, expired } from '../../signaling/policies/liveness.js';

const HEARTBEAT_MS = 1000;

describe('expired', () => {
  it('defaults to three missed heartbeats', () => {
    expect(DEFAULT_MISSED_HEARTBEATS).toBe(3);
  });

  it('keeps a server until more than three heartbeat intervals have passed', () => {
    const seen = new Map([['s1', 10_000]]);
    expect(expired(seen, 10_000, HEARTBEAT_MS)).toEqual([]);
    expect(expired(seen, 13_000, HEARTBEAT_MS)).toEqual([]);
    expect(expired(seen, 13_001, HEARTBEAT_MS)).toEqual(['s1']);
  });

  it('honours a custom number of missed heartbeats', () => {
    const seen = new Map([['s1', 0]]);
    expect(expired(seen, 1_500, HEARTBEAT_MS, 1)).toEqual(['s1']);
    expect(expired(seen, 4_500, HEARTBEAT_MS, 5)).toEqual([]);
    expect(expired(seen, 5_001, HEARTBEAT_MS, 5)).toEqual(['s1']);
  });

  it('returns only the silent servers, sorted by id', () => {
    const seen = new Map([
      ['zeta', 0],
      ['alpha', 0],
      ['fresh', 9_500],
      ['mid', 6_000],
    ]);
    expect(expired(seen, 10_000, HEARTBEAT_MS)).toEqual(['alpha', 'zeta', 'mid'].sort());
  });

  it('does not change the map it is given', () => {
    const seen = new Map([['s1', 0]]);
    expired(seen, 99_999, HEARTBEAT_MS);
    expect([...seen]).toEqual([['s1', 0]]);
  });
});
