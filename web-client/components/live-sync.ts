// How a live player keeps near the live edge: play a little faster while behind, jump when far behind (as hls.js and dash.js do).

/**
 * Media the player aims to hold ahead of the playhead while live (seconds): the latency the
 * player adds on top of capture, upload and delivery. MediaRecorder chunks arrive every 200 ms,
 * so this leaves room for two late ones without a stall. (0.75 s gave 0.93 s glass to glass in
 * the peers bench's Baton-alone run; 0.5 s with catch-up from 1 s gave 0.72 s.)
 */
export const LIVE_TARGET_AHEAD_S = 0.5;
/**
 * Past this much buffered ahead the player speeds up (hls.js: `liveSyncDuration` plus slack; dash.js: `minDrift`).
 * Between the target and this the player stays where it is, so a view stays as far behind as it happened to
 * start within the band: with 1 s the peers bench read 491 ms buffered in one run and 765 ms in the next.
 * A 200-ms chunk's arrival moves `ahead` by 0.2 s, which 0.25 s of band still absorbs.
 */
export const LIVE_CATCH_UP_ABOVE_S = 0.75;
/**
 * Past this much it jumps to `newest - LIVE_TARGET_AHEAD_S` instead (hls.js: `liveMaxLatencyDuration`):
 * from 3 s behind, 1.1× takes 25 s to get back, which is not live any more.
 */
export const LIVE_JUMP_ABOVE_S = 3;
/** Catch-up rates: gentle just past the threshold, faster further behind; audio stays intelligible (hls.js: `maxLiveSyncPlaybackRate`). */
export const LIVE_RATE_NEAR = 1.05;
export const LIVE_RATE_FAR = 1.1;
/** Behind by more than this (and under the jump), the faster rate is used (seconds). */
const FAR_AHEAD_S = 2;

export interface LiveSyncInput {
  /** The playhead (seconds). */
  currentTime: number;
  /** End of the buffered range the playhead is in (the newest media the player has), seconds. */
  bufferedEnd: number;
  /** The playback rate now (a catch-up in progress is > 1). */
  rate: number;
}

export interface LiveSyncAction {
  /** The playback rate to set. */
  rate: number;
  /** When set, move the playhead here (seconds). */
  seekTo?: number;
}

/**
 * One step of live catch-up, run on every `timeupdate` while a live stream plays. Pure.
 * Far behind (> LIVE_JUMP_ABOVE_S): jump to the target. Behind (> LIVE_CATCH_UP_ABOVE_S):
 * play at LIVE_RATE_NEAR or LIVE_RATE_FAR. A catch-up continues until the target is reached
 * (hysteresis, so the rate does not flap at the threshold); otherwise 1.
 */
export function liveSync(s: LiveSyncInput): LiveSyncAction {
  const ahead = s.bufferedEnd - s.currentTime;
  if (ahead > LIVE_JUMP_ABOVE_S) return { rate: 1, seekTo: s.bufferedEnd - LIVE_TARGET_AHEAD_S };
  const catchingUp = s.rate > 1;
  if (ahead > LIVE_CATCH_UP_ABOVE_S || (catchingUp && ahead > LIVE_TARGET_AHEAD_S))
    return { rate: ahead > FAR_AHEAD_S ? LIVE_RATE_FAR : LIVE_RATE_NEAR };
  return { rate: 1 };
}

/** Where "jump to live" goes: the target distance behind the newest buffered media, never before `start`. */
export function liveEdgeTarget(start: number, bufferedEnd: number): number {
  return Math.max(start, bufferedEnd - LIVE_TARGET_AHEAD_S);
}

/** What a live step sees of the element. */
export interface LiveSnapshot {
  /** The playhead (seconds). */
  currentTime: number;
  /** The buffered ranges, `[start, end]` in order (seconds). */
  ranges: ReadonlyArray<readonly [number, number]>;
  /** The playback rate now. */
  rate: number;
  /** The element can play on (`readyState` ≥ HAVE_FUTURE_DATA); false while it is stalled. */
  canPlay: boolean;
  /** How long the element has been seeking (ms); absent or 0 when it is not. */
  seekingForMs?: number;
}

/**
 * A seek still pending after this long is taken as stuck (ms): its target holds no decodable media and never will
 * (live media only arrives later in time; e.g. the join seek landed where the audio starts but the video does not).
 * A loaded machine's seek into buffered media takes tens of ms.
 */
export const LIVE_STUCK_SEEK_MS = 1_000;

/** A playhead this close before a range counts as in it (seconds). */
const RANGE_SLACK_S = 0.05;

/**
 * One step of a live player that plays (not paused), on every `timeupdate`, append and timer tick. Pure.
 * A seek pending for LIVE_STUCK_SEEK_MS is made again to the newest media's edge target (a live
 * player whose join seek never finished froze for good, media piling up behind the picture).
 * Past LIVE_JUMP_ABOVE_S behind the newest media it jumps to the edge target whatever
 * the element is doing: a player stalled with media ahead (its decoder or renderer starved on a loaded
 * machine: `readyState` drops while `buffered` keeps growing) would otherwise never catch up; one stalled with
 * more than LIVE_CATCH_UP_ABOVE_S ahead goes there too rather than freeze until the jump threshold. Stalled
 * before a hole (a loaded encoder drops frames; live media never fills it), it goes to the newest range.
 * Otherwise `liveSync`'s rate catch-up, which needs a playing element. Null: leave it as it is.
 */
export function liveStep(s: LiveSnapshot): LiveSyncAction | null {
  const last = s.ranges.at(-1);
  if (!last) return null;
  const [start, end] = last;
  if (s.seekingForMs) {
    // A seek in progress is left alone, unless it is stuck: then the newest media's edge target, once more.
    return s.seekingForMs >= LIVE_STUCK_SEEK_MS ? { rate: 1, seekTo: liveEdgeTarget(start, end) } : null;
  }
  const ahead = end - s.currentTime;
  // Stalled with more than the catch-up threshold ahead in its own range, the element had what it needed and did
  // not play (its decoder starved): waiting for the jump threshold would freeze the picture up to 3 s first.
  const stalledWithMedia = !s.canPlay && (s.currentTime < start - RANGE_SLACK_S || ahead > LIVE_CATCH_UP_ABOVE_S);
  if (ahead > LIVE_JUMP_ABOVE_S || stalledWithMedia) return { rate: 1, seekTo: liveEdgeTarget(start, end) };
  if (!s.canPlay) return null;
  return liveSync({ currentTime: s.currentTime, bufferedEnd: end, rate: s.rate });
}
