// Per-stream ingest quotas (average bitrate, size, burst) from the operator's flags, and a stream checked against them;
// apart from the manager because the CLI, the manager and the tests read the same defaults.
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import { allowanceSince } from '../../common/token-bucket.js';
import { IngestError, IngestErrorCode } from './errors.js';
import { MAX_CLUSTERS_PER_MEDIA_SECOND } from './cluster-sense.js';

export const DEFAULT_MAX_BITRATE_BPS = 25_000_000;
export const DEFAULT_MAX_STREAM_BYTES = 8 * 1024 ** 3;
/** Burst allowance: this many seconds at the quota bitrate, and at least MIN_BURST_BYTES. */
export const BURST_SECONDS = 4;
export const MIN_BURST_BYTES = 4 * 1024 * 1024;
/**
 * What one Cluster costs against the bitrate quota besides its bytes (`IngestLimits.clusterBytes`). At the 25 Mbit/s
 * default a stream of 17-byte Clusters is held to ≈ 11,000 Clusters a second instead of ≈ 180,000; a Cluster per
 * 20-ms Opus frame (≈ 120 B) still uploads at ≈ 160× real time with `--fast`, and live it costs 12.8 KB/s.
 */
export const CLUSTER_CHARGE_BYTES = 256;
/**
 * Clusters a second, counted from the stream's start, that the charge leaves free: the most a stream ClusterSense
 * passes has per second of media time (MAX_CLUSTERS_PER_MEDIA_SECOND), so a stream sent in real time pays for its
 * bytes alone and only Clusters sent faster than that (`--fast`, a flood) are charged. Before, a live stream with a
 * Cluster per 20-ms Opus frame was charged 12.8 KB/s: under `--ingest-max-mbps 0.1` (12.5 KB/s) it was refused once
 * its burst was spent, minutes in, whatever its bytes (found by review). 120 Clusters a second cost the index and
 * writer about 0.01 % of a core (0.6 to 2.2 million a CPU-second, measured).
 */
export const FREE_CLUSTERS_PER_S = MAX_CLUSTERS_PER_MEDIA_SECOND;

/** The fewest bytes a stream's live edge may run ahead of its newest Cluster start (see liveBacklogBytes). */
export const MIN_LIVE_BACKLOG_BYTES = 32 * 1024 * 1024;
/** Seconds at the stream's bitrate quota its live edge may run ahead of its newest Cluster start, when more than the minimum. */
export const LIVE_BACKLOG_SECONDS = 10;

/**
 * How far a stream's live edge may run ahead of its newest Cluster start, bytes: what a late joiner is handed at once
 * at most (it starts at a Cluster boundary and gets everything from there unpaced). 10 s at the bitrate quota, at least
 * 32 MiB: at the 25 Mbit/s default 32 MiB. Measured: Baton's broadcaster opens a Cluster at its 2-s keyframes (≈ 0.6 MB
 * at 2.5 Mbit/s), the WHIP muxer at keyframes it asks for every 2 s, ffmpeg's WebM muxer at 5 MiB at most, the demo
 * clips at 274 KB at most. WebM does not bound it: a Cluster has an unknown size and its blocks may repeat Timecodes,
 * so one that is never closed was handed whole, with everything since the stream's start, to every late joiner.
 */
export function liveBacklogBytes(limits: IngestLimits): number {
  return Math.max(MIN_LIVE_BACKLOG_BYTES, Math.round((limits.maxBitrateBps / 8) * LIVE_BACKLOG_SECONDS));
}

/**
 * Per-stream quotas: average bitrate in Mbit/s (default 25) and size in MiB
 * (default 8192); `baton server --ingest-max-mbps / --ingest-max-mb` (env
 * `BATON_INGEST_MAX_MBPS`, `BATON_INGEST_MAX_MB`).
 */
export function ingestLimits(maxMbps?: number, maxMb?: number): IngestLimits {
  const maxBitrateBps = maxMbps !== undefined && Number.isFinite(maxMbps) && maxMbps > 0 ? maxMbps * 1e6 : DEFAULT_MAX_BITRATE_BPS;
  const maxBytes = maxMb !== undefined && Number.isFinite(maxMb) && maxMb > 0 ? Math.floor(maxMb * 1024 * 1024) : DEFAULT_MAX_STREAM_BYTES;
  const burstBytes = Math.max(MIN_BURST_BYTES, Math.round((BURST_SECONDS * maxBitrateBps) / 8));
  return { maxBitrateBps, maxBytes, burstBytes, clusterBytes: CLUSTER_CHARGE_BYTES };
}

/**
 * When a new copy of a stream starts counting its quota: the earliest of the stream's start as the cluster table has it
 * (the copies of its other entry servers) and as the hub has it (when it first granted the stream id to its publisher,
 * in the `session-open`; it outlives the loss of both entry servers at once), never later than now. Undefined when
 * neither is known: the copy counts from its own creation. Both are the cluster's word; no publisher's time counts.
 */
export function streamStartMs(fromTable: number | undefined, fromHub: number | undefined, nowMs: number): number | undefined {
  const known = [fromTable, fromHub].filter((t): t is number => t !== undefined && Number.isFinite(t));
  return known.length === 0 ? undefined : Math.min(nowMs, ...known);
}

/** Bytes a stream may have `elapsedMs` after its publish started, under its average-bitrate quota (and its size). */
export function allowedStreamBytes(limits: IngestLimits, elapsedMs: number): number {
  return Math.min(limits.maxBytes, allowanceSince(limits.burstBytes, limits.maxBitrateBps / 8, elapsedMs));
}

/**
 * Why a stream that would reach `after` bytes in `clusters` Clusters, `elapsedMs` after its publish started, breaks its
 * quota; undefined when it does not. The size quota counts bytes alone; the bitrate quota also each Cluster's charge
 * (`clusterBytes`) past the FREE_CLUSTERS_PER_S a second of `elapsedMs`.
 */
export function quotaRefusal(limits: IngestLimits, after: number, clusters: number, elapsedMs: number): IngestError | undefined {
  if (after > limits.maxBytes)
    return new IngestError(IngestErrorCode.tooLarge, `the stream would exceed its ${limits.maxBytes}-byte quota`);
  const charged = after + Math.max(0, clusters - (FREE_CLUSTERS_PER_S * Math.max(0, elapsedMs)) / 1000) * (limits.clusterBytes ?? 0);
  if (charged > allowanceSince(limits.burstBytes, limits.maxBitrateBps / 8, elapsedMs)) {
    return new IngestError(
      IngestErrorCode.rateLimited,
      `the stream exceeds its ${Math.round(limits.maxBitrateBps / 1000)} kbit/s bitrate quota`,
    );
  }
  return undefined;
}
