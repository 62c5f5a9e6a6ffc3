// The viewer session's watchdog verdict: a viewer that stopped reading, one too slow to play, one idle too long.
import { describe, expect, it } from 'vitest';
import { ENDED_IDLE_TIMEOUT_MS, IDLE_TIMEOUT_MS, SLOW_VIEWER_MS, STALL_TIMEOUT_MS } from '../../node-app/delivery/serve-options.js';
import { type WatchdogSample, watchdogVerdict } from '../../node-app/delivery/serve-watchdog.js';
import { SlowViewerWatch } from '../../node-app/delivery/slow-viewer.js';

const streaming: WatchdogSample = {
  now: 0,
  state: 'streaming',
  live: false,
  writePendingSince: null,
  blockedMs: 0,
  bytesSent: 0,
  bitrateBps: 1_000_000,
  lastActivityAt: 0,
  timeouts: undefined,
};

describe('watchdogVerdict', () => {
  it('keeps a viewer that reads at the media rate', () => {
    const slow = new SlowViewerWatch();
    for (let t = 0; t <= 60_000; t += 1_000) {
      expect(watchdogVerdict({ ...streaming, now: t, bytesSent: t * 125, lastActivityAt: t }, slow)).toBeNull();
    }
  });

  it('closes a viewer whose write has waited past the stall timeout, and tells it why', () => {
    const slow = new SlowViewerWatch();
    const pending = { ...streaming, writePendingSince: 1_000 };
    expect(watchdogVerdict({ ...pending, now: 1_000 + STALL_TIMEOUT_MS }, slow)).toBeNull();
    expect(watchdogVerdict({ ...pending, now: 1_001 + STALL_TIMEOUT_MS }, slow)).toEqual({
      close: 'stalled',
      tell: 'the viewer stopped reading',
    });
    expect(watchdogVerdict({ ...pending, now: 1_100, timeouts: { stallMs: 50 } }, slow)?.close).toBe('stalled');
  });

  it('closes a viewer that keeps the sender waiting yet receives under half the bitrate for SLOW_VIEWER_MS', () => {
    const slow = new SlowViewerWatch();
    let verdict = null;
    let t = 0;
    // Blocked the whole time, receiving a tenth of the bitrate.
    for (; t <= SLOW_VIEWER_MS + 2_000 && !verdict; t += 1_000) {
      verdict = watchdogVerdict({ ...streaming, now: t, blockedMs: t, bytesSent: t * 12.5, lastActivityAt: t }, slow);
    }
    expect(verdict?.close).toBe('too-slow');
    expect(t).toBeGreaterThan(SLOW_VIEWER_MS);
  });

  it('closes a paused or caught-up live session after the idle timeout, an ended one sooner, never one with a write outstanding', () => {
    for (const [idle, limitMs] of [
      [{ state: 'paused' as const }, IDLE_TIMEOUT_MS],
      [{ state: 'streaming' as const, live: true }, IDLE_TIMEOUT_MS],
      [{ state: 'ended' as const }, ENDED_IDLE_TIMEOUT_MS],
    ] as const) {
      const s = { ...streaming, ...idle, bitrateBps: undefined };
      expect(watchdogVerdict({ ...s, now: limitMs }, new SlowViewerWatch())).toBeNull();
      expect(watchdogVerdict({ ...s, now: limitMs + 1 }, new SlowViewerWatch())).toEqual({ close: 'idle' });
      expect(watchdogVerdict({ ...s, now: limitMs + 1, writePendingSince: limitMs }, new SlowViewerWatch())).toBeNull();
    }
    // An operator's idle timeout under the ended one bounds both.
    const ended = { ...streaming, state: 'ended' as const, timeouts: { idleMs: 3_000 } };
    expect(watchdogVerdict({ ...ended, now: 3_001 }, new SlowViewerWatch())).toEqual({ close: 'idle' });
    // A stored asset still streaming is not idle, however long since the viewer said anything.
    expect(watchdogVerdict({ ...streaming, bitrateBps: undefined, now: 10 * IDLE_TIMEOUT_MS }, new SlowViewerWatch())).toBeNull();
  });
});
