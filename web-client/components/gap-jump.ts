// Where the MSE sink moves a playhead that sits outside buffered media: into a range that starts just after it, or,
// once the playhead is stuck in a hole of a track, into the range after the hole.
import { liveEdgeTarget } from './live-sync.js';

/** A playhead stuck this close before a buffered range jumps into it (seconds). */
const GAP_JUMP_S = 3;
/** A playhead stalled this close to the end of its range steps over a hole to the next range (seconds). */
const HOLE_STEP_S = 0.3;
/** HTMLMediaElement.readyState below which the element cannot play on (it is stalled). */
const HAVE_FUTURE_DATA = 3;
/** A time counts as buffered when a range holds it within this much (seconds). */
const BUFFERED_SLACK_S = 0.05;

/** True when `ranges` hold media at `timeS`. */
export function holds(ranges: TimeRanges, timeS: number): boolean {
  for (let i = 0; i < ranges.length; i++) {
    if (timeS >= ranges.start(i) - BUFFERED_SLACK_S && timeS <= ranges.end(i)) return true;
  }
  return false;
}

/** What jumpGap reads and moves of a `<video>`. */
export type GapVideo = Pick<HTMLVideoElement, 'buffered' | 'currentTime' | 'seeking' | 'readyState'>;

/**
 * Live joins and resumed streams may not start at time 0: moves the playhead into the media. After a seek to
 * `seekTarget` only a range starting just past it may move the playhead; returns the seek target still
 * pending (null once media holding it, or just after it, is buffered). A seek the player has not taken yet
 * (the element is seeking, no target) is left alone.
 */
export function jumpGap(video: GapVideo, seekTarget: number | null, live: boolean): number | null {
  const ranges = video.buffered;
  const t = video.currentTime;
  if (seekTarget !== null) {
    // The Cluster's audio may start a bit after the target.
    if (holds(ranges, seekTarget)) return null;
    for (let i = 0; i < ranges.length; i++) {
      const start = ranges.start(i);
      if (start > seekTarget && start - seekTarget < GAP_JUMP_S) {
        video.currentTime = start + 0.01;
        return null;
      }
    }
    return seekTarget;
  }
  // The viewer just moved the playhead and the player has not taken the seek yet (its `seeking` handler runs after
  // this append's `updateend`): the media here is the old position's, and jumping into it undid the seek (a seek
  // back from 418 s to 44 s played on at 418 s, in the seek bench).
  if (video.seeking) return null;
  for (let i = 0; i < ranges.length; i++) {
    const start = ranges.start(i);
    const end = ranges.end(i);
    if (t >= start - 0.05 && t <= end) {
      // Stalled at the end of a range with the next one just after it (a hole in one track, often where a
      // live view joined): step over the hole, as it will never fill.
      const next = i + 1 < ranges.length ? ranges.start(i + 1) : null;
      if (next !== null && end - t < HOLE_STEP_S && next - t < GAP_JUMP_S && video.readyState < HAVE_FUTURE_DATA)
        video.currentTime = next + 0.01;
      return null;
    }
    if (start > t && (i === 0 || start - t < GAP_JUMP_S)) {
      // A live join starts near the newest media it has (a keyframe Cluster's worth may arrive at once).
      video.currentTime = live ? liveEdgeTarget(start + 0.01, ranges.end(ranges.length - 1)) : start + 0.01;
      return null;
    }
  }
  return null;
}

/** How far a stuck playhead inside buffered media is moved: a seek, which restarts the element's reading (seconds). */
export const STALL_NUDGE_S = 0.01;

/** Where a stuck playhead goes: over a hole (`jump`), or a hair forward inside the media it sits in (`nudge`). */
export interface StallMove {
  toS: number;
  kind: 'jump' | 'nudge';
}

/**
 * Where a playhead that is stuck though playing goes (null: it stays). A video track with a hole (variable frame
 * rate: a screen recording without frames while nothing changed) shows as a hole in `buffered`; Chromium plays on
 * into it with the audio, then stops about 3 s past the last frame before the hole, with no `waiting` event and
 * nothing more to append (measured, Chromium 156, VP8/VP9 + Opus, last frame before the hole at 2.94 s: stuck at
 * 5.92–5.99 s, readyState 2, for ever). A playhead in no range, or at the end of one, jumps to the start of the
 * next range however far (a 10-s hole: 5.924 → 13.031): nothing else fills a hole ahead of it, as a seek drops what
 * was buffered, so a range ahead is media appended after this point. A hole shorter than that 3 s leaves it stuck
 * inside the next range (a 1-s hole: at 5.946 in 4.021–7.021): the element's reading stalled at the hole and does
 * not resume by itself; a seek a hair forward restarts it (`nudge`).
 */
export function stallTarget(ranges: TimeRanges, timeS: number): StallMove | null {
  for (let i = 0; i < ranges.length; i++) {
    const start = ranges.start(i);
    if (start > timeS + BUFFERED_SLACK_S) return { toS: start + 0.01, kind: 'jump' };
    if (timeS >= start - BUFFERED_SLACK_S && ranges.end(i) - timeS >= HOLE_STEP_S) return { toS: timeS + STALL_NUDGE_S, kind: 'nudge' };
  }
  return null;
}
