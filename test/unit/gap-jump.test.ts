// Where the MSE sink moves a playhead outside buffered media (web-client/components/gap-jump.ts), on plain element state.
import { describe, expect, it } from 'vitest';
import { type GapVideo, jumpGap } from '../../web-client/components/gap-jump.js';

/** A `<video>`'s state as jumpGap reads it: buffered ranges (seconds), the playhead, seeking, readyState. */
function video(ranges: Array<[number, number]>, currentTime: number, seeking = false): GapVideo {
  const buffered = {
    length: ranges.length,
    start: (i: number) => ranges[i]![0],
    end: (i: number) => ranges[i]![1],
  } as TimeRanges;
  return { buffered, currentTime, seeking, readyState: 1 };
}

describe('jumpGap', () => {
  it('moves a playhead before the first range into it (a live join or resumed stream that does not start at 0)', () => {
    const v = video([[418, 498.5]], 0);
    expect(jumpGap(v, null, false)).toBeNull();
    expect(v.currentTime).toBeCloseTo(418.01);
  });

  it('leaves a seek the player has not taken yet alone: the buffered media is the old position’s', () => {
    // The viewer set currentTime 44.2 while the stream of 418 s still flows; an append ends before `seeking` is handled.
    const v = video([[418, 498.5]], 44.2, true);
    expect(jumpGap(v, null, false)).toBeNull();
    expect(v.currentTime).toBe(44.2);
  });

  it('once the seek is taken, only a range starting just past its target moves the playhead', () => {
    const far = video([[418, 498.5]], 44.2, true);
    expect(jumpGap(far, 44.2, false)).toBe(44.2);
    expect(far.currentTime).toBe(44.2);
    const near = video([[45, 60]], 44.2, true);
    expect(jumpGap(near, 44.2, false)).toBeNull();
    expect(near.currentTime).toBeCloseTo(45.01);
  });
});
