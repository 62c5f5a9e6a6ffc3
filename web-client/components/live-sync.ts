// How a live player keeps near the live edge: play a little faster while behind, jump when far behind (as hls.js and dash.js do).

/**
 * Media the player aims to hold ahead of the playhead while live (seconds): the latency the
 * player adds on top of capture, upload and delivery. MediaRecorder chunks arrive every 200 ms,
 * so this leaves room for two late ones without a stall. (0.75 s gave 0.93 s glass to glass in
 * the peers bench's Baton-alone run; 0.5 s with catch-up from 1 s gave 0.72 s.)
 */
export const LIVE_TARGET_AHEAD_S = 0.5;
/** Past this much buffered ahead the player speeds up (hls.js: `liveSyncDuration` plus slack; dash.js: `minDrift`). */
export const LIVE_CATCH_UP_ABOVE_S = 1.0;
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
