// Which Clusters of a growing stream start with a keyframe (start points): the Tracks name the video track, each Cluster's first video block decides.
import type { WebmTrack } from '../storage/webm-probe.js';
import type { ClusterOffsets } from './cluster-offsets.js';

/**
 * What the index knows of keyframes: `video` (each Cluster is checked for a leading video
 * keyframe), `all` (no video track: every Cluster is a start point), `unknown` (the Tracks
 * could not be read: no Cluster is known to start with a keyframe).
 */
export type KeyframeMode = 'video' | 'all' | 'unknown';

/** Judges one Cluster at a time, as its blocks are walked; the start points go to `offsets`. */
export class KeyframeClusters {
  #mode: KeyframeMode = 'unknown';
  #videoTrack: number | undefined;
  /** The Cluster being walked, while its first video block is still to come. */
  #pending: number | undefined;
  readonly #offsets: ClusterOffsets;

  constructor(offsets: ClusterOffsets) {
    this.#offsets = offsets;
  }

  /** How keyframe Clusters are known (see KeyframeMode). */
  get mode(): KeyframeMode {
    return this.#mode;
  }

  /** The Cluster being walked still waits for its first video block. */
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
    if (this.#mode === 'all') this.#offsets.keyCluster(at);
    else if (this.#mode === 'video') this.#pending = at;
  }

  /**
   * A block of the Cluster being walked (`track` undefined when its head is unreadable). The first
   * video block decides whether the Cluster is a start point; other tracks' blocks do not.
   */
  block(track: number | undefined, key: boolean): void {
    const cluster = this.#pending;
    if (cluster === undefined || (track !== undefined && track !== this.#videoTrack)) return;
    this.#pending = undefined;
    if (track !== undefined && key) this.#offsets.keyCluster(cluster);
  }

  /** The Cluster being walked cannot be told to start with a keyframe (malformed inside). */
  giveUp(): void {
    this.#pending = undefined;
  }
}
