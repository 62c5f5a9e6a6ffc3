// Per-stream ingest quotas (average bitrate, size, burst) from the operator's flags; apart from the manager because
// the CLI, the manager and the tests read the same defaults.
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';

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
