// The player's URL: `t=` is kept only when the player can ask a server for that time.
import { describe, expect, it } from 'vitest';
import { MAX_START_SECONDS, parseHash } from '../../web-client/components/hash-route.js';

describe('parseHash t=', () => {
  it('keeps a start time from 0 to MAX_START_SECONDS, ignores the rest (1e308 threw "bad time Infinity" in the page)', () => {
    expect(parseHash('#/watch?asset=a&t=12.5')).toMatchObject({ asset: 'a', t: 12.5 });
    expect(parseHash(`#/watch?asset=a&t=${MAX_START_SECONDS}`)).toMatchObject({ t: MAX_START_SECONDS });
    for (const bad of ['1e308', String(MAX_START_SECONDS * 10), '-1', 'Infinity', 'NaN', 'x'])
      expect(parseHash(`#/watch?asset=a&t=${bad}`)).not.toHaveProperty('t');
    expect(Number.isSafeInteger(MAX_START_SECONDS * 1000)).toBe(true);
  });
});

describe('parseHash latency=', () => {
  it('keeps low or normal, ignores anything else', () => {
    expect(parseHash('#/watch?asset=a&latency=low')).toMatchObject({ asset: 'a', latency: 'low' });
    expect(parseHash('#/watch?asset=a&latency=normal')).toMatchObject({ latency: 'normal' });
    for (const bad of ['LOW', 'high', '', '1']) expect(parseHash(`#/watch?asset=a&latency=${bad}`)).not.toHaveProperty('latency');
  });
});
