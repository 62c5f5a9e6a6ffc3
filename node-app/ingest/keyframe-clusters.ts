// Which Clusters of a growing stream hold a video keyframe (start points): the Tracks name the video track, any video block of a Cluster may make it one.
import type { WebmTrack } from '../storage/webm-probe.js';
import type { ClusterOffsets } from './cluster-offsets.js';

/**
 * What the index knows of keyframes: `video` (each Cluster is checked for a video keyframe),
 * `all` (no video track: every Cluster is a start point), `unknown` (the Tracks could not be
 * read: no Cluster is known to hold a keyframe).
 */
export type KeyframeMode = 'video' | 'all' | 'unknown';

/** Judges one Cluster at a time, as its blocks are walked; the start points go to `offsets`. */
export class KeyframeClusters {
  #mode: KeyframeMode = 'unknown';
  #videoTrack: number | undefined;
  /** The Cluster being walked, while none of its video blocks so far was a keyframe. */
  #pending: number | undefined;
  readonly #offsets: ClusterOffsets;
  /** The media time (ms) of the Cluster being walked, once its Timecode was read. */
  readonly #clusterMs: () => number | undefined;

  constructor(offsets: ClusterOffsets, clusterMs: () => number | undefined) {
    this.#offsets = offsets;
    this.#clusterMs = clusterMs;
  }

  /** How keyframe Clusters are known (see KeyframeMode). */
  get mode(): KeyframeMode {
    return this.#mode;
  }

  /** The Cluster being walked has shown no video keyframe yet (its blocks are still to be looked at). */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** The Tracks, read before the first Cluster, say which track is video. */
  tracks(tracks: readonly WebmTrack[]): void {
    const video = tracks.find((t) => t.type === 'video');
    if (!video) this.#mode = 'all';
    else if (video.number !== undefined) {
      this.#mode = 'video';
      this.#videoTrack = video.number;
    }
  }

  /** A Cluster starts at `at`. */
  cluster(at: number): void {
    this.#pending = undefined;
    if (this.#mode === 'all') this.#offsets.keyCluster(at, this.#clusterMs());
    else if (this.#mode === 'video') this.#pending = at;
  }

  /**
   * A block of the Cluster being walked (`track` undefined when its head is unreadable). A video keyframe
   * anywhere in it makes the Cluster a start point: a muxer that cuts Clusters by time (ffmpeg's
   * `-cluster_time_limit`) puts keyframes mid-Cluster, and a player joining there drops the few frames before the
   * keyframe (MSE waits for a random access point; a WHEP session for a keyframe). Until 2026-12-06 only the
   * first video block counted, and a looped ffmpeg feed had no start point after its first 20 s: a viewer
   * joining 10 minutes in got the whole 10 minutes. Other tracks' blocks do not decide.
   */
  block(track: number | undefined, key: boolean): void {
    const cluster = this.#pending;
    if (cluster === undefined || (track !== undefined && track !== this.#videoTrack)) return;
    if (track !== undefined && !key) return;
    this.#pending = undefined;
    if (track !== undefined) this.#offsets.keyCluster(cluster, this.#clusterMs());
  }

  /** The Cluster being walked cannot be told to hold a keyframe (malformed inside). */
  giveUp(): void {
    this.#pending = undefined;
  }
}
