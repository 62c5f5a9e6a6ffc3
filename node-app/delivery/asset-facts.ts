// What a session tells its viewer about an asset (MIME type, bitrate, duration): catalog facts, else probed from its head.
import { BLOCK_BYTES, type ByteSource } from '../contracts.js';
import { mimeFor, probeWebm } from '../storage/webm-probe.js';
import type { SessionLog } from '../webrtc/peer.js';

/** MIME type when neither the caller nor the file's head says. */
export const FALLBACK_MIME = 'video/webm';

export interface AssetFacts {
  mime: string;
  /** Undefined when neither the catalog nor the head says (then the session is not paced). */
  bitrateBps?: number;
  durationMs?: number;
  initBytes?: number;
  /** The stored copy's fingerprint (`AssetInfo.fingerprint`), told in the meta. */
  fingerprint?: string;
}

/**
 * Catalog facts win; what they lack is probed from the asset's first block through the source
 * (a live asset has no duration, so no bitrate either). Never rejects: a failed probe is logged.
 */
export async function assetFacts(source: ByteSource, given: Partial<AssetFacts>, log?: SessionLog): Promise<AssetFacts> {
  let { mime, bitrateBps, durationMs, initBytes } = given;
  if (!mime) {
    try {
      const size = source.size();
      const probe = probeWebm(await source.read(0, Math.min(size, BLOCK_BYTES)));
      mime = mimeFor(probe);
      initBytes ??= probe.firstClusterOffset;
      if (probe.durationMs && !source.isLive()) {
        durationMs ??= probe.durationMs;
        bitrateBps ??= (size * 8 * 1000) / probe.durationMs;
      }
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'could not probe the asset head');
    }
  }
  const facts: AssetFacts = { mime: mime ?? FALLBACK_MIME };
  if (bitrateBps !== undefined) facts.bitrateBps = bitrateBps;
  if (durationMs !== undefined) facts.durationMs = durationMs;
  if (initBytes !== undefined) facts.initBytes = initBytes;
  if (given.fingerprint !== undefined) facts.fingerprint = given.fingerprint;
  return facts;
}
