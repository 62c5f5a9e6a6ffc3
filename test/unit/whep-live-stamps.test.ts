// A live WHEP player's RTP times: the catch-up from the join keyframe is compressed to the moment it is sent, the broadcaster's spacing kept after it.
import { describe, expect, it } from 'vitest';
import { CATCH_UP_FRAME_S, LiveStamps } from '../../node-app/whep/live-stamps.js';

describe('LiveStamps', () => {
  it('stamps a catch-up read at once at the wall time, then keeps the spacing of frames that arrive live', () => {
    let nowMs = 1_000;
    const s = new LiveStamps(() => nowMs);
    // The join keyframe at 10 s and 1.5 s of frames behind the edge, all read in the same millisecond.
    const catchUp = Array.from({ length: 46 }, (_, i) => s.stamp('video', 10 + i / 30)!);
    expect(catchUp[0]).toBe(10);
    expect(catchUp.at(-1)! - catchUp[0]!).toBeCloseTo(45 * CATCH_UP_FRAME_S, 9);
    for (let i = 1; i < catchUp.length; i++) expect(catchUp[i]!).toBeGreaterThan(catchUp[i - 1]!);
    // Live from here: a 200-ms chunk of six frames arrives 200 ms later, each 1/30 s after the edge frame.
    nowMs += 200;
    const live = Array.from({ length: 6 }, (_, i) => s.stamp('video', 11.5 + (i + 1) / 30)!);
    // The edge frame keeps its place: the first live frame is 1/30 s after it, less the catch-up's ticks.
    expect(Math.abs(live[0]! - catchUp.at(-1)! - 1 / 30)).toBeLessThan(0.001);
    for (let i = 1; i < live.length; i++) expect(live[i]! - live[i - 1]!).toBeCloseTo(1 / 30, 6);
  });

  it('drops catch-up audio (it would go back in RTP time) and sends audio that arrives live', () => {
    let nowMs = 0;
    const s = new LiveStamps(() => nowMs);
    expect(s.stamp('video', 5)).toBe(5);
    expect(s.stamp('audio', 5.01)).toBe(5);
    expect(s.stamp('video', 5.5)).toBeDefined();
    expect(s.stamp('audio', 5.51)).toBeUndefined();
    nowMs = 20;
    expect(s.stamp('audio', 5.53)).toBeCloseTo(5.02, 6);
  });

  it('never stamps a frame later than the wall time since the first one', () => {
    let nowMs = 0;
    const s = new LiveStamps(() => nowMs);
    s.stamp('video', 0);
    for (let i = 1; i <= 100; i++) {
      nowMs = i * 10;
      // The file runs twice as fast as the wall clock (a burst): the stamps follow the wall clock.
      expect(s.stamp('video', i * 0.02)!).toBeLessThanOrEqual(nowMs / 1000 + 1e-9);
    }
  });
});
