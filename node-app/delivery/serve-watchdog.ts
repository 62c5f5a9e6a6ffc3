// When a viewer session is given up on — a viewer that stopped reading, one too slow to play, one idle too long.
// A pure verdict per watchdog tick, apart from the session that sends and streams; the caller passes `now`.
import {
  ENDED_IDLE_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  SLOW_VIEWER_MS,
  STALL_TIMEOUT_MS,
  type ServeSessionOptions,
  type ServeState,
} from './serve-options.js';
import type { SlowViewerWatch } from './slow-viewer.js';

export interface WatchdogSample {
  /** ms */
  now: number;
  state: ServeState;
  /** The source is a live stream. */
  live: boolean;
  /** When the write outstanding was handed to the channel (ms), null when none is. */
  writePendingSince: number | null;
  /** Ms spent with a write waiting on the viewer, completed writes only. */
  blockedMs: number;
  bytesSent: number;
  bitrateBps: number | undefined;
  /** Last time media moved or the viewer asked for it (connect, play, pause, resume), ms; never a `stats` or `limit` frame. */
  lastActivityAt: number;
  timeouts: ServeSessionOptions['timeouts'];
}

/** Close the session for `close`; `tell` goes to the viewer first as a `timeout` error frame (`idle`: an `idle` one). */
export type WatchdogVerdict = { close: 'stalled'; tell: string } | { close: 'too-slow'; tell: string; error: Error } | { close: 'idle' };

/** The verdict of one watchdog tick, or null to keep going. Feeds `slow` one sample (unless the viewer stalled). */
export function watchdogVerdict(s: WatchdogSample, slow: SlowViewerWatch): WatchdogVerdict | null {
  const t = s.timeouts ?? {};
  if (s.writePendingSince !== null && s.now - s.writePendingSince > (t.stallMs ?? STALL_TIMEOUT_MS)) {
    return { close: 'stalled', tell: 'the viewer stopped reading' };
  }
  const blockedMs = s.blockedMs + (s.writePendingSince === null ? 0 : s.now - s.writePendingSince);
  const slowMs = slow.slowFor({
    now: s.now,
    bytesSent: s.bytesSent,
    blockedMs,
    streaming: s.state === 'streaming',
    bitrateBps: s.bitrateBps,
  });
  if (slowMs > (t.slowMs ?? SLOW_VIEWER_MS)) {
    const message = 'the viewer receives slower than the media plays';
    return { close: 'too-slow', tell: message, error: new Error(message) };
  }
  const idle = s.state === 'paused' || s.state === 'ended' || (s.state === 'streaming' && s.live);
  const idleMs = t.idleMs ?? IDLE_TIMEOUT_MS;
  const limitMs = s.state === 'ended' ? Math.min(idleMs, ENDED_IDLE_TIMEOUT_MS) : idleMs;
  if (idle && s.writePendingSince === null && s.now - s.lastActivityAt > limitMs) {
    return { close: 'idle' };
  }
  return null;
}
