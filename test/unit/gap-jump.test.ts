// Where the MSE sink moves a playhead outside buffered media (web-client/components/gap-jump.ts), on plain element state.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GapVideo, jumpGap, STALL_NUDGE_S, stallTarget } from '../../web-client/components/gap-jump.js';
import { STALL_CHECK_MS, STALL_JUMP_MS, StallWatch, type StallVideo } from '../../web-client/components/stall-watch.js';

/** A `<video>`'s state as jumpGap reads it: buffered ranges (seconds), the playhead, seeking, readyState. */
function video(ranges: Array<[number, number]>, currentTime: number, seeking = false): GapVideo {
  return { buffered: timeRanges(ranges), currentTime, seeking, readyState: 1 };
}

function timeRanges(ranges: Array<[number, number]>): TimeRanges {
  return { length: ranges.length, start: (i: number) => ranges[i]![0], end: (i: number) => ranges[i]![1] } as TimeRanges;
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

/** The VFR clip of test/e2e/player-vfr-hole.test.ts as Chromium buffered it: video frames 0–3 s and 7–10 s. */
const vfrHole = (): Array<[number, number]> => [
  [0, 3.006],
  [7.021, 10.021],
];

describe('stallTarget', () => {
  it('jumps a playhead stuck in a hole to the range after it, however far', () => {
    expect(stallTarget(timeRanges(vfrHole()), 5.945)).toEqual({ toS: 7.031, kind: 'jump' });
    expect(
      stallTarget(
        timeRanges([
          [0, 3],
          [60, 70],
        ]),
        6,
      ),
    ).toEqual({ toS: 60.01, kind: 'jump' });
  });

  it('steps over a hole from the end of a range', () => {
    expect(stallTarget(timeRanges(vfrHole()), 2.9)?.toS).toBeCloseTo(7.031);
  });

  it('nudges a playhead stuck inside media a hair forward (a hole shorter than Chromium plays past)', () => {
    const move = stallTarget(
      timeRanges([
        [0, 3.006],
        [4.021, 7.021],
      ]),
      5.946,
    );
    expect(move?.kind).toBe('nudge');
    expect(move?.toS).toBeCloseTo(5.946 + STALL_NUDGE_S);
  });

  it('leaves a playhead with nothing buffered ahead', () => {
    expect(stallTarget(timeRanges(vfrHole()), 10.021)).toBeNull();
    expect(stallTarget(timeRanges([]), 4)).toBeNull();
  });
});

describe('StallWatch', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const stuck = (o: Partial<StallVideo> = {}): StallVideo => ({
    buffered: timeRanges(vfrHole()),
    currentTime: 5.945,
    paused: false,
    seeking: false,
    ended: false,
    readyState: 2,
    ...o,
  });

  it('jumps a playhead that stood still for STALL_JUMP_MS while playing over the hole', () => {
    const v = stuck();
    const watch = new StallWatch(v, () => false);
    vi.advanceTimersByTime(STALL_JUMP_MS);
    expect(v.currentTime).toBe(5.945);
    vi.advanceTimersByTime(STALL_CHECK_MS);
    expect(v.currentTime).toBeCloseTo(7.031);
    watch.stop();
  });

  it('nudges once per stall: stuck again where it landed, it stays; moving by itself, it may be nudged again', () => {
    const v = stuck({ currentTime: 8 });
    const watch = new StallWatch(v, () => false);
    vi.advanceTimersByTime(STALL_JUMP_MS + STALL_CHECK_MS);
    expect(v.currentTime).toBeCloseTo(8 + STALL_NUDGE_S);
    vi.advanceTimersByTime(20 * STALL_JUMP_MS);
    expect(v.currentTime).toBeCloseTo(8 + STALL_NUDGE_S);
    // It played on, and stalled again further on: a new stall, a new nudge.
    v.currentTime = 9;
    vi.advanceTimersByTime(STALL_CHECK_MS);
    vi.advanceTimersByTime(STALL_JUMP_MS + STALL_CHECK_MS);
    expect(v.currentTime).toBeCloseTo(9 + STALL_NUDGE_S);
    watch.stop();
  });

  it('leaves a paused, seeking, ended, or playable element, and one with a seek pending', () => {
    const cases = [stuck({ paused: true }), stuck({ seeking: true }), stuck({ ended: true }), stuck({ readyState: 3 })];
    const watches = cases.map((v) => new StallWatch(v, () => false));
    const held = stuck();
    watches.push(new StallWatch(held, () => true));
    vi.advanceTimersByTime(10 * STALL_JUMP_MS);
    for (const v of [...cases, held]) expect(v.currentTime).toBe(5.945);
    for (const w of watches) w.stop();
  });

  it('does nothing once stopped', () => {
    const v = stuck();
    new StallWatch(v, () => false).stop();
    vi.advanceTimersByTime(10 * STALL_JUMP_MS);
    expect(v.currentTime).toBe(5.945);
  });
});
