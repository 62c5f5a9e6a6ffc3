// Where a growing stream's Clusters, keyframe Clusters and whole-media cut points lie: the first few kept for good, the newest in fixed rings.
import { OffsetRing } from './offset-ring.js';

/**
 * Recent cut points remembered (block and sized-Cluster ends, ascending). A salvage
 * cuts at the disk's edge, at most one flush behind the newest bytes, so a few are
 * plenty; older limits fall back to Cluster starts.
 */
export const MAX_RECENT_CUTS = 64;
/**
 * Recent Cluster starts, and recent keyframe Cluster starts, remembered (each its own ring). A live join
 * and a continuation want the newest; a salvage one at most a flush behind it; older limits fall back to
 * the stream's first Clusters.
 */
export const MAX_RECENT_CLUSTERS = 64;
/** The stream's first Cluster starts kept for good: a live poster reads the first few whole Clusters. */
export const MAX_FIRST_CLUSTERS = 8;

/**
 * The offsets a ClusterIndex has found, in bounded memory (a Cluster costs no allocation),
 * and the questions a live join, a continuation and a salvage ask of them.
 */
export class ClusterOffsets {
  readonly #first: number[] = [];
  readonly #clusters = new OffsetRing(MAX_RECENT_CLUSTERS);
  /** Offsets after a whole block (in an unknown-size Cluster) or a whole sized Cluster. */
  readonly #cuts = new OffsetRing(MAX_RECENT_CUTS);
  /** Starts of the Clusters that hold a video keyframe (every Cluster without video), and the first such. */
  readonly #keyClusters = new OffsetRing(MAX_RECENT_CLUSTERS);
  #firstKeyCluster: number | undefined;
  /** Media time (ms) of the newest keyframe Cluster, when its Timecode was read before its keyframe. */
  #keyTimeMs: number | undefined;

  /** A Cluster starts at `at` (each at least the one before). */
  cluster(at: number): void {
    if (this.#first.length < MAX_FIRST_CLUSTERS) this.#first.push(at);
    this.#clusters.push(at);
  }

  /** The Cluster at `at` (of media time `timeMs`, when known) holds a video keyframe. */
  keyCluster(at: number, timeMs?: number): void {
    this.#firstKeyCluster ??= at;
    this.#keyTimeMs = timeMs;
    this.#keyClusters.push(at);
  }

  /** The stream may be cut at `at` and end on whole media. */
  cut(at: number): void {
    this.#cuts.push(at);
  }

  /** The stream's first Cluster starts (at most MAX_FIRST_CLUSTERS), ascending. */
  get firstClusters(): readonly number[] {
    return this.#first;
  }

  /** The newest Cluster starts remembered (at most MAX_RECENT_CLUSTERS), ascending. */
  recentClusters(): number[] {
    return this.#clusters.toArray();
  }

  /** Media time (ms) of the newest keyframe Cluster, if its Timecode came before its keyframe. */
  get newestKeyTimeMs(): number | undefined {
    return this.#keyTimeMs;
  }

  /** The newest keyframe Cluster starts remembered (at most MAX_RECENT_CLUSTERS), ascending. */
  recentKeyClusters(): number[] {
    return this.#keyClusters.toArray();
  }

  /** The last Cluster that starts at or before `limit`, if any remembered. */
  latestCluster(limit: number): number | undefined {
    return this.#clusters.lastAtOrBefore(limit) ?? lastAtOrBefore(this.#first, limit);
  }

  /** The last Cluster known to hold a video keyframe (a start point), at or before `limit`, if any remembered. */
  latestKeyCluster(limit: number): number | undefined {
    const recent = this.#keyClusters.lastAtOrBefore(limit);
    if (recent !== undefined) return recent;
    return this.#firstKeyCluster !== undefined && this.#firstKeyCluster <= limit ? this.#firstKeyCluster : undefined;
  }

  /** The last cut point or Cluster start at or before `limit`, whichever is later. */
  latestCut(limit: number): number | undefined {
    const cluster = this.latestCluster(limit);
    const cut = this.#cuts.lastAtOrBefore(limit);
    if (cut === undefined) return cluster;
    return cluster === undefined || cut > cluster ? cut : cluster;
  }
}

function lastAtOrBefore(sorted: readonly number[], limit: number): number | undefined {
  for (let i = sorted.length - 1; i >= 0; i--) if (sorted[i]! <= limit) return sorted[i];
  return undefined;
}
