// The meta frame: what a viewer is told about the asset at connect and after each move (type, size, bitrate, live seam).
import type { ServerControl } from '../../signaling/protocol/frames.js';
import type { ByteSource } from '../contracts.js';
import type { AssetFacts } from './asset-facts.js';

/**
 * The meta for a viewer at byte `offset` of `source`. A stored asset's duration
 * and init-segment length are told; a live one's are not (they grow), but its
 * start time is, and a late joiner's seam (`joinedAt`, `skipBytes`).
 */
export function metaFrame(source: ByteSource, facts: AssetFacts, offset: number): ServerControl {
  const live = source.isLive();
  const meta: ServerControl = { t: 'meta', assetId: source.assetId, mime: facts.mime, bytes: source.size(), live, offset };
  if (facts.bitrateBps !== undefined) meta.bitrateBps = Math.round(facts.bitrateBps);
  if (facts.durationMs !== undefined && !live) meta.durationMs = facts.durationMs;
  if (facts.initBytes !== undefined && !live) meta.initBytes = facts.initBytes;
  if (facts.fingerprint !== undefined && !live) meta.fingerprint = facts.fingerprint;
  const { joinedAt, skipBytes, startedAtMs } = source;
  if (skipBytes && joinedAt !== undefined) Object.assign(meta, { joinedAt, skipBytes });
  if (startedAtMs !== undefined && live) meta.startedAtMs = Math.round(startedAtMs);
  return meta;
}
