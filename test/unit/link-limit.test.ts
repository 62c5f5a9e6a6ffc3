// A viewer's own delivery limit (the `limit` control frame): its bounds, and the server's per-session pacing to it.
import { describe, expect, it } from 'vitest';
import { LinkLimit } from '../../node-app/delivery/link-limit.js';
import { MAX_LINK_LIMIT_BPS, MIN_LINK_LIMIT_BPS, clientControlSchema } from '../../signaling/protocol/frames.js';
import { parse } from '../../signaling/protocol/index.js';
import { MAX_LIMIT_KBPS, MIN_LIMIT_KBPS, parseHash } from '../../web-client/components/hash-route.js';

describe('the limit frame', () => {
  it(`takes a whole number of bits per second from ${MIN_LINK_LIMIT_BPS} to ${MAX_LINK_LIMIT_BPS}, or null`, () => {
    for (const bps of [MIN_LINK_LIMIT_BPS, 232_000, MAX_LINK_LIMIT_BPS, null])
      expect(parse(clientControlSchema, { t: 'limit', bps }).ok).toBe(true);
    for (const bps of [MIN_LINK_LIMIT_BPS - 1, MAX_LINK_LIMIT_BPS + 1, 1.5, -1, '1000', undefined])
      expect(parse(clientControlSchema, { t: 'limit', bps }).ok).toBe(false);
  });

  it('the watch URL’s limit= is kept only within the same bounds (kbit/s)', () => {
    expect(parseHash('#/watch?asset=a&limit=232')).toMatchObject({ asset: 'a', limitKbps: 232 });
    for (const bad of [String(MIN_LIMIT_KBPS - 1), String(MAX_LIMIT_KBPS + 1), '2.5', 'x', ''])
      expect(parseHash(`#/watch?asset=a&limit=${bad}`)).not.toHaveProperty('limitKbps');
  });
});

describe('LinkLimit', () => {
  it('without a limit never waits', () => {
    const l = new LinkLimit();
    l.record(0, 10_000_000);
    expect(l.delayMs(0)).toBe(0);
  });

  it('books the link for each frame at the limit: 64 KiB at 256 kbit/s is 2,048 ms', () => {
    const l = new LinkLimit();
    l.set(256_000, 1_000);
    expect(l.delayMs(1_000)).toBe(0);
    l.record(1_000, 65_536);
    expect(l.delayMs(1_000)).toBe(2_048);
    expect(l.delayMs(2_000)).toBe(1_048);
    // Sent late: the booking starts from now, with at most 250 ms of idle credit (no burst after a pause).
    l.record(10_000, 65_536);
    expect(l.delayMs(10_000)).toBe(2_048 - 250);
    // Lifted: sends at once.
    l.set(null, 10_000);
    expect(l.delayMs(10_000)).toBe(0);
  });

  it('the same limit again (the frame a player sends at connect, after its watch carried it) keeps what was booked', () => {
    const l = new LinkLimit();
    l.set(256_000, 1_000);
    l.record(1_000, 65_536);
    l.set(256_000, 1_000);
    expect(l.delayMs(1_010)).toBe(2_038);
  });

  it('averages to the limit over many frames', () => {
    const l = new LinkLimit();
    l.set(100_000, 0);
    let now = 0;
    let bytes = 0;
    while (now < 60_000) {
      now += l.delayMs(now);
      l.record(now, 1_200);
      bytes += 1_200;
    }
    expect((bytes * 8 * 1000) / now).toBeCloseTo(100_000, -3);
  });
});
