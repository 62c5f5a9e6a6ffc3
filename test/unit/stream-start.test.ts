// Where a new copy of a stream counts its bitrate quota from: the cluster's word (table, hub), never later than now.
import { describe, expect, it } from 'vitest';
import { allowedStreamBytes, ingestLimits, streamStartMs } from '../../node-app/ingest/ingest-limits.js';
import { sessionOpenSchema } from '../../signaling/protocol/replies.js';
import { MAX_TIME_MS } from '../../signaling/protocol/messages.js';

describe('streamStartMs', () => {
  const now = 1_800_000_000_000;
  it('takes the earliest of the table and the hub, and neither when none is known', () => {
    expect(streamStartMs(now - 5_000, now - 60_000, now)).toBe(now - 60_000);
    expect(streamStartMs(now - 60_000, now - 5_000, now)).toBe(now - 60_000);
    // Both entry servers gone: the table has no live holder (Infinity from an empty min), the hub still knows.
    expect(streamStartMs(Number.POSITIVE_INFINITY, now - 60_000, now)).toBe(now - 60_000);
    expect(streamStartMs(undefined, now - 60_000, now)).toBe(now - 60_000);
    expect(streamStartMs(Number.POSITIVE_INFINITY, undefined, now)).toBeUndefined();
    expect(streamStartMs(undefined, undefined, now)).toBeUndefined();
  });
  it('is never later than now (a clock ahead of this one gives no less and no more than a start now)', () => {
    expect(streamStartMs(undefined, now + 60_000, now)).toBe(now);
    expect(streamStartMs(now + 1, now + 2, now)).toBe(now);
  });
  it('gives a replacement 60 s into a 2.5 Mbit/s stream room for its resend from byte 0', () => {
    const limits = ingestLimits(2.5);
    const resend = (2.5e6 / 8) * 60;
    expect(allowedStreamBytes(limits, now - now)).toBeLessThan(resend);
    expect(allowedStreamBytes(limits, now - streamStartMs(undefined, now - 60_000, now)!)).toBeGreaterThanOrEqual(resend);
  });
});

describe('session-open startedAtMs', () => {
  const open = { sessionId: 'abcdefghijkl', kind: 'publish', assetId: 'show', offset: 0, streamSecret: 's'.repeat(43) };
  it('is an integer time within the protocol bounds', () => {
    expect(sessionOpenSchema.safeParse({ ...open, startedAtMs: 1_800_000_000_000 }).success).toBe(true);
    expect(sessionOpenSchema.safeParse(open).success).toBe(true);
    for (const bad of [-1, 1.5, MAX_TIME_MS + 1, Number.NaN, '1'])
      expect(sessionOpenSchema.safeParse({ ...open, startedAtMs: bad }).success, String(bad)).toBe(false);
  });
});
