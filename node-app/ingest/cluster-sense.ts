// Whether a stream's Clusters make sense as media: runs of frameless Clusters, tiny Clusters and Clusters crowding media time are refused.

/**
 * Clusters in a row with no frame (SimpleBlock or BlockGroup) before a stream is refused. Measured on every
 * stored and recorded file on the build machine (demo assets, renditions, WHIP and OBS-over-WHIP copies, WHEP
 * recordings, `baton publish` uploads, 247 files): none had a single frameless Cluster.
 */
export const MAX_FRAMELESS_CLUSTERS = 32;
/** The two rules below are judged over each run of this many Clusters. */
export const SENSE_WINDOW_CLUSTERS = 256;
/**
 * Fewest bytes a Cluster holds on average over a window, unless its media time says otherwise (below). Measured: the
 * smallest Cluster seen was 183 bytes (OBS over WHIP, a keyframe Cluster cut short) and no file of two Clusters or
 * more averaged under 3.3 KB a Cluster. An empty Cluster is 5 bytes. Low-latency audio has smaller ones:
 * `-cluster_time_limit 20` with Opus at 32 kbit/s makes a Cluster per 20-ms frame, 117 bytes each.
 */
export const MIN_MEAN_CLUSTER_BYTES = 256;
/**
 * A window of Clusters under MIN_MEAN_CLUSTER_BYTES still passes when it carries at least this many bytes per second
 * of media time (its Timecodes). Opus at its floor (6 kbit/s) is 750 bytes a second of payload alone, before any
 * block or Cluster header, so no real stream comes near it; the Opus stream above carries 7.2 KB a second, with
 * 10-ms frames 7.4 KB. What it still lets through is paid for by the ingest bitrate cap, where each Cluster counts
 * CLUSTER_CHARGE_BYTES more (ingest-limits.ts): the smallest framed Cluster is 17 bytes (32 ms apart to pass), about
 * 11,400 a second at 25 Mbit/s (184,000 by bytes alone), and the index reads 1.6 to 2.2 million a second (measured
 * here); one stream key holds at most a few broadcasts (the hub's `--max-broadcasts-per-key`).
 */
export const MIN_BYTES_PER_MEDIA_SECOND = 500;
/**
 * Most Clusters per second of media time over a window (by their Timecodes). Measured: at most 1.5 a second over
 * files of 2 s or more, 80 a second over two WHIP Clusters 25 ms apart (keyframes asked for after a loss); one
 * Cluster per frame of 60 fps all-intra video is half of this.
 */
export const MAX_CLUSTERS_PER_MEDIA_SECOND = 120;

/**
 * Fed a stream's Clusters in order (`cluster` at each start, `frame` per block in it, `time` with its
 * Timecode), keeps counters only (O(1) per call, nothing allocated) and sets `refusal` once the stream
 * stops making sense as media. What a per-Cluster index costs is then paid for by media bytes.
 */
export class ClusterSense {
  /** Why the stream is refused, once it is (it stays refused). */
  refusal: string | undefined;
  #clusters = 0;
  #hasFrame = false;
  #framelessRun = 0;
  /** Where the current window's first Cluster starts, and the Timecode of the Cluster before it. */
  #windowAt = 0;
  #windowTimeMs: number | undefined;
  /** The first Timecode read in the current window: the start of the stream's first window, which has none before it. */
  #windowFirstTimeMs: number | undefined;
  /** Timecodes read in the current window. */
  #timed = 0;
  #lastTimeMs: number | undefined;

  /**
   * `windows` false judges only runs of frameless Clusters: a stored file's scan (the seek index) floods nobody, so
   * small or crowded Clusters cost it only what the file's own size does.
   */
  constructor(readonly windows = true) {}

  /** A Cluster starts at byte `at`: the one before it is judged whole. */
  cluster(at: number): void {
    if (this.refusal !== undefined) return;
    if (this.#clusters > 0) {
      this.#framelessRun = this.#hasFrame ? 0 : this.#framelessRun + 1;
      if (this.#framelessRun >= MAX_FRAMELESS_CLUSTERS) {
        this.refusal = `${this.#framelessRun} Clusters in a row hold no frame`;
        return;
      }
    }
    this.#hasFrame = false;
    if (this.#clusters % SENSE_WINDOW_CLUSTERS === 0) {
      if (this.#clusters > 0 && this.windows) this.#judgeWindow(at);
      this.#windowAt = at;
      this.#windowTimeMs = this.#lastTimeMs;
      this.#windowFirstTimeMs = undefined;
      this.#timed = 0;
    }
    this.#clusters++;
  }

  /** A block of the current Cluster. */
  frame(): void {
    this.#hasFrame = true;
  }

  /** The current Cluster's Timecode, ms of media time. */
  time(ms: number): void {
    this.#lastTimeMs = ms;
    if (this.#timed === 0) this.#windowFirstTimeMs = ms;
    this.#timed++;
  }

  #judgeWindow(at: number): void {
    const n = SENSE_WINDOW_CLUSTERS;
    const bytes = at - this.#windowAt;
    // Media time is judged only when every Cluster of the window had a Timecode and they did not go back (a spliced
    // file may restart them); small Clusters without it are refused. The stream's first window has no Timecode
    // before it and is timed from its own first one.
    const timed = this.#timed >= n && this.#lastTimeMs !== undefined;
    const startMs = this.#windowTimeMs ?? this.#windowFirstTimeMs;
    const mediaMs = timed && startMs !== undefined && this.#lastTimeMs! >= startMs ? this.#lastTimeMs! - startMs : undefined;
    if (bytes < n * MIN_MEAN_CLUSTER_BYTES && (mediaMs === undefined || bytes * 1000 < MIN_BYTES_PER_MEDIA_SECOND * mediaMs)) {
      const time = mediaMs === undefined ? '' : ` over ${Math.round(mediaMs)} ms of media time`;
      this.refusal = `${n} Clusters in ${bytes} bytes${time} (media Clusters hold at least ${MIN_MEAN_CLUSTER_BYTES} bytes on average, or ${MIN_BYTES_PER_MEDIA_SECOND} a second)`;
      return;
    }
    // The stream's first window has no Timecode before it: its Cluster rate is judged from the next one on.
    if (!timed || this.#windowTimeMs === undefined) return;
    const spanMs = this.#lastTimeMs! - this.#windowTimeMs;
    if (spanMs >= 0 && spanMs * MAX_CLUSTERS_PER_MEDIA_SECOND < n * 1000) {
      this.refusal = `${n} Clusters in ${Math.round(spanMs)} ms of media time (at most ${MAX_CLUSTERS_PER_MEDIA_SECOND} a second)`;
    }
  }
}
