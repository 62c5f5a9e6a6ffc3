// The live player's catch-up rule: faster while behind the newest media, a jump when far behind, hysteresis at the target.
import { describe, expect, it } from 'vitest';
import {
  LIVE_CATCH_UP_ABOVE_S,
  LIVE_JUMP_ABOVE_S,
  LIVE_RATE_FAR,
  LIVE_RATE_NEAR,
  LIVE_STUCK_SEEK_MS,
  LIVE_TARGET_AHEAD_S,
  liveEdgeTarget,
  liveStep,
  liveSync,
} from '../../web-client/components/live-sync.js';
import { LiveKeeper, type LiveVideo } from '../../web-client/components/live-keeper.js';

const at = (ahead: number, rate = 1) => liveSync({ currentTime: 100, bufferedEnd: 100 + ahead, rate });

describe('liveSync', () => {
  it('plays at normal speed near the edge', () => {
    expect(at(0.2)).toEqual({ rate: 1 });
    expect(at(LIVE_CATCH_UP_ABOVE_S)).toEqual({ rate: 1 });
  });

  it('plays faster past the catch-up threshold, faster still further behind, and keeps on until the target', () => {
    expect(at(LIVE_CATCH_UP_ABOVE_S + 0.1)).toEqual({ rate: LIVE_RATE_NEAR });
    expect(at(LIVE_JUMP_ABOVE_S - 0.1)).toEqual({ rate: LIVE_RATE_FAR });
    // Already catching up: continues below the threshold, stops at the target.
    expect(at(1.0, LIVE_RATE_NEAR)).toEqual({ rate: LIVE_RATE_NEAR });
    expect(at(LIVE_TARGET_AHEAD_S, LIVE_RATE_NEAR)).toEqual({ rate: 1 });
    expect(LIVE_RATE_NEAR).toBeGreaterThan(1);
    expect(LIVE_RATE_FAR).toBeLessThanOrEqual(1.1);
  });

  it('jumps to the target behind the newest media when far behind', () => {
    expect(at(LIVE_JUMP_ABOVE_S + 0.1)).toEqual({ rate: 1, seekTo: 100 + LIVE_JUMP_ABOVE_S + 0.1 - LIVE_TARGET_AHEAD_S });
    expect(at(80, LIVE_RATE_FAR).seekTo).toBeCloseTo(180 - LIVE_TARGET_AHEAD_S);
  });

  it('"jump to live" never lands before the range it jumps into', () => {
    expect(liveEdgeTarget(10, 20)).toBe(20 - LIVE_TARGET_AHEAD_S);
    expect(liveEdgeTarget(10, 10.3)).toBe(10);
  });
});

describe('liveStep (what the live player does in each state of the element)', () => {
  const step = (currentTime: number, ranges: Array<[number, number]>, canPlay: boolean, rate = 1) =>
    liveStep({ currentTime, ranges, rate, canPlay });

  it('playing: the rate catch-up and the jump of liveSync, against the newest range', () => {
    expect(step(10, [[0, 10.3]], true)).toEqual({ rate: 1 });
    expect(step(10, [[0, 11.5]], true)).toEqual({ rate: LIVE_RATE_NEAR });
    expect(step(10, [[0, 40]], true)).toEqual({ rate: 1, seekTo: 40 - LIVE_TARGET_AHEAD_S });
  });

  it('stalled with media far ahead in its own range (a starved decoder on a loaded machine): jumps to the edge', () => {
    // 29 s buffered ahead of a playhead that cannot play on: before, nothing was done and the player fell behind for good.
    expect(step(60, [[30, 89]], false)).toEqual({ rate: 1, seekTo: 89 - LIVE_TARGET_AHEAD_S });
    // Past the catch-up threshold is enough: a playing element would speed up there, a frozen one cannot.
    expect(step(10, [[0, 11.5]], false)).toEqual({ rate: 1, seekTo: 11.5 - LIVE_TARGET_AHEAD_S });
    expect(step(10, [[0, 10.7]], false)).toBeNull();
  });

  it('stalled before a hole: goes to the newest range; stalled near the edge: waits for media', () => {
    expect(
      step(
        10,
        [
          [0, 10],
          [10.4, 11],
        ],
        false,
      ),
    ).toEqual({ rate: 1, seekTo: 10.5 });
    expect(step(10.9, [[0, 11]], false)).toBeNull();
    expect(step(0, [], true)).toBeNull();
  });

  it('never lands before the newest range, however short', () => {
    expect(step(0, [[20, 20.2]], true)).toEqual({ rate: 1, seekTo: 20 });
  });
});

describe('a live seek that never finishes (its target holds no decodable media, and live media only comes later)', () => {
  it('liveStep: leaves a pending seek alone, then goes to the newest media once it is stuck', () => {
    const seeking = (ms: number) => liveStep({ currentTime: 9, ranges: [[10, 14]], rate: 1, canPlay: false, seekingForMs: ms });
    expect(seeking(LIVE_STUCK_SEEK_MS - 1)).toBeNull();
    expect(seeking(LIVE_STUCK_SEEK_MS)).toEqual({ rate: 1, seekTo: 14 - LIVE_TARGET_AHEAD_S });
  });

  it('LiveKeeper: a join seek stuck for a second is made again at the edge, and that one gets its own second', () => {
    let now = 0;
    const ranges: Array<[number, number]> = [[10, 12]];
    const seeks: number[] = [];
    let currentTime = 9;
    const video = {
      buffered: {
        get length() {
          return ranges.length;
        },
        start: (i: number) => ranges[i]![0],
        end: (i: number) => ranges[i]![1],
      },
      get currentTime() {
        return currentTime;
      },
      set currentTime(t: number) {
        currentTime = t;
        seeks.push(t);
      },
      seeking: true,
      paused: false,
      readyState: 1,
      playbackRate: 1,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    } as unknown as LiveVideo;
    const keeper = new LiveKeeper(video, () => now);
    try {
      keeper.step();
      now = LIVE_STUCK_SEEK_MS - 1;
      keeper.step();
      expect(seeks).toEqual([]);
      now = LIVE_STUCK_SEEK_MS + 10;
      ranges[0] = [10, 13];
      keeper.step();
      expect(seeks).toEqual([13 - LIVE_TARGET_AHEAD_S]);
      // Still seeking (the new seek): not again before its own second.
      now += LIVE_STUCK_SEEK_MS - 1;
      keeper.step();
      expect(seeks).toHaveLength(1);
      now += 2;
      keeper.step();
      expect(seeks).toHaveLength(2);
      // It finished: a playing element is back to the rate catch-up only.
      (video as { seeking: boolean }).seeking = false;
      (video as { readyState: number }).readyState = 4;
      currentTime = 12.7;
      now += 5_000;
      keeper.step();
      expect(seeks).toHaveLength(2);
    } finally {
      keeper.stop();
    }
  });
});
