// What a media server tells the table about itself when its storage or cache changes: the deltas, or none.
import type { AssetInfo, OwnDelta } from '../../signaling/protocol/index.js';
import type { CacheChange } from '../contracts.js';
import { withinMetaBudget } from '../storage/meta-budget.js';

/**
 * A storage rescan's deltas: added, changed and re-described assets as one `storage-add`
 * (a new size, duration, bitrate, title, description or poster replaces the entry: a
 * storage-add of a listed id overwrites it), cut to the metadata budget; removed ones as a
 * `storage-remove`. Empty when nothing changed.
 */
export function storageDeltas(
  added: readonly AssetInfo[],
  described: readonly AssetInfo[],
  removed: readonly string[],
  changed: readonly AssetInfo[] = [],
): OwnDelta[] {
  const deltas: OwnDelta[] = [];
  // An entry both changed and re-described is one entry (the two lists hold the same scan's info).
  const byId = new Map<string, AssetInfo>();
  for (const a of [...added, ...changed, ...described]) byId.set(a.id, a);
  const report = withinMetaBudget([...byId.values()]);
  if (report.length) deltas.push({ type: 'storage-add', assets: report });
  if (removed.length) deltas.push({ type: 'storage-remove', assets: [...removed] });
  return deltas;
}

/** A cache change's deltas: `cache-add` and `cache-remove`, each only when it names an asset. */
export function cacheDeltas(c: CacheChange): OwnDelta[] {
  const deltas: OwnDelta[] = [];
  if (c.added.length) deltas.push({ type: 'cache-add', assets: c.added });
  if (c.removed.length) deltas.push({ type: 'cache-remove', assets: c.removed });
  return deltas;
}
