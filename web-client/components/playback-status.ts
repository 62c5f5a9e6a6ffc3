// Where one playback stands, as the player shows it: phase, video state, server, bytes, buffer, live latency, failovers.
import type { SelectReason } from '../../signaling/protocol/types.js';

export type HubState = 'connecting' | 'connected' | 'offline';

/**
 * Where one playback stands: `selecting` (the director is choosing), `connecting`
 * (WebRTC to the chosen server), `streaming` (bytes flowing), `complete` (every
 * byte received), `error`.
 */
export type WatchPhase = 'idle' | 'selecting' | 'connecting' | 'streaming' | 'complete' | 'error';

/** What the <video> element is doing. */
export type VideoState = 'empty' | 'waiting' | 'playing' | 'paused' | 'ended';

export interface FailoverNotice {
  from: string;
  to: string;
  /** The byte the stream resumed at; null: at the live edge (a low-latency live session has no byte offset). */
  offset: number | null;
  atMs: number;
}

export interface PlaybackStatus {
  assetId: string | null;
  /** The asset streaming now: `assetId` itself or one of its renditions. */
  streamId: string | null;
  phase: WatchPhase;
  video: VideoState;
  server: { id: string; region: string } | null;
  reason: SelectReason | null;
  loadFactor: number | null;
  epoch: number | null;
  mime: string | null;
  totalBytes: number | null;
  live: boolean;
  bytesReceived: number;
  /** The media's own bitrate (from the server's metadata). */
  mediaBitrateBps: number | null;
  /** How fast bytes arrive now (over the last second). */
  receiveBps: number | null;
  bufferAheadS: number;
  /** Live: seconds between the playhead and the newest media received (what "jump to live" would skip). */
  behindLiveS: number;
  /**
   * Live: seconds from the moment the frame on screen was captured to now, from the stream's start time
   * (`meta.startedAtMs`) plus the playhead's media time; null when the server did not say when it started.
   */
  latencyS: number | null;
  /** `midway`: it came after the media that had arrived was played out (`interrupted`). */
  error: { code: string; message: string; midway?: boolean } | null;
  /**
   * The stream failed while media was buffered ahead (its file removed from its last server, every holder gone): the
   * player plays that media out, saying why, and shows the failure once it is played (`error`, phase `error`).
   */
  interrupted: { code: string; message: string; aheadS: number } | null;
  failovers: FailoverNotice[];
  /** Viewer sessions open for this asset across the cluster (this one included), as the hub last said. */
  viewers: number | null;
  /** Live over WebRTC media (WHEP, the low-latency way): no MSE buffer, no byte offsets. */
  rtc: boolean;
}

export function idleStatus(assetId: string | null): PlaybackStatus {
  return {
    assetId,
    streamId: assetId,
    phase: assetId ? 'selecting' : 'idle',
    video: 'empty',
    server: null,
    reason: null,
    loadFactor: null,
    epoch: null,
    mime: null,
    totalBytes: null,
    live: false,
    bytesReceived: 0,
    mediaBitrateBps: null,
    receiveBps: null,
    bufferAheadS: 0,
    behindLiveS: 0,
    latencyS: null,
    error: null,
    interrupted: null,
    failovers: [],
    viewers: null,
    rtc: false,
  };
}

/** Failover notices kept on screen. */
const MAX_FAILOVER_NOTICES = 5;

/** The status's failovers after one from `from` to `to` at byte `offset`: its notice first, at most MAX_FAILOVER_NOTICES. */
export function failoversAfter(s: PlaybackStatus, d: Omit<FailoverNotice, 'atMs'>, atMs: number): FailoverNotice[] {
  const notice: FailoverNotice = { from: d.from, to: d.to, offset: d.offset, atMs };
  return [notice, ...s.failovers].slice(0, MAX_FAILOVER_NOTICES);
}

/** What changes in the status when the stream ends. */
export function endedStatus(s: PlaybackStatus): Pick<PlaybackStatus, 'phase' | 'live' | 'totalBytes'> {
  // A live stream that ended is a recording now: not "live", and what arrived is all there is.
  return { phase: 'complete', live: false, totalBytes: s.totalBytes === null || s.live ? s.bytesReceived : s.totalBytes };
}

/** What `video` is doing now, for an element that played before the player listened to it (early-playback.ts). */
export function videoStateOf(video: Pick<HTMLMediaElement, 'ended' | 'paused' | 'readyState'>): VideoState {
  if (video.ended) return 'ended';
  if (video.paused) return video.readyState >= 2 ? 'paused' : 'empty';
  return video.readyState >= 3 ? 'playing' : 'waiting';
}

/** What the <video> element is doing after one of its `waiting`, `playing`, `pause`, `ended` or `seeking` events. */
export function videoStateAfter(type: string, ended: boolean): VideoState {
  if (type === 'playing') return 'playing';
  if (type === 'pause') return ended ? 'ended' : 'paused';
  return type === 'ended' ? 'ended' : 'waiting';
}

/** Why this player cannot play a stream of type `mime`, as the viewer is told. */
export function unsupportedReason(mime: string, assetId: string): string {
  // H.264 (from a WHIP publisher such as OBS) is remuxed to MP4 for MSE; a browser without H.264 in MSE may still decode it over WebRTC.
  return /avc1/.test(mime)
    ? `This stream is H.264 (sent by OBS or another WHIP publisher) and this browser cannot play H.264 through Media Source Extensions: play it over WHEP (POST /whep/${assetId}).`
    : `This browser cannot play ${mime}.`;
}
