// The director's viewer policy: which server streams an asset (cache-aware, by load factor).
import type { LoadWeights } from '../../signaling/protocol/load-factor.js';
import type { ServerRow, StateTable } from '../../signaling/protocol/state-table.js';
import { ErrorCode, SelectReason } from '../../signaling/protocol/types.js';
import { acceptingLoadFactor, beats, type Best } from './candidates.js';

export interface ServerSelectRequest {
  assetId: string;
  /** Servers the client will not accept (e.g. the one that just failed it). */
  exclude?: readonly string[];
}

export interface SelectOptions {
  weights: LoadWeights;
}

export type SelectResult =
  | { ok: true; serverId: string; reason: SelectReason; loadFactor: number }
  | { ok: false; code: typeof ErrorCode.unknownAsset | typeof ErrorCode.noCapacity; message: string };

/**
 * Pick the server that streams `req.assetId` to a viewer, from the director's
 * own replica of the state table. First match wins:
 *
 * 1. `director-cache` — the asset is in the director's (`self`) cache and the
 *    director can take one more session;
 * 2. `cache` — the cache holder with the lowest load factor;
 * 3. `live` — a server ingesting it right now (live entry with `live: true`);
 * 4. `storage` — a server with it on disk (storage, or a live entry that has
 *    ended: the ingested bytes stay on that server's disk).
 *
 * A holder is skipped when excluded or over the load threshold (see
 * `acceptingLoadFactor`). Ties on load factor go to the smaller id. Only the
 * asset → holders indexes are read, never the whole table, so a decision
 * costs O(holders of this asset). Fails with `unknown-asset` when nobody holds
 * the asset, `no-capacity` when every holder is excluded or overloaded.
 */
export function selectServer(
  table: StateTable,
  req: ServerSelectRequest,
  self: string,
  opts: SelectOptions,
): SelectResult {
  const { assetId } = req;
  const exclude = req.exclude ?? [];
  const { weights } = opts;

  const me = table.get(self);
  if (me && me.cache.has(assetId) && !exclude.includes(self)) {
    const f = acceptingLoadFactor(me, weights);
    if (f !== null) return { ok: true, serverId: self, reason: SelectReason.directorCache, loadFactor: f };
  }

  const cacheHolders = table.cacheHolders(assetId);
  const cached = bestOf(table, cacheHolders, exclude, weights, null);
  if (cached) return { ok: true, serverId: cached.id, reason: SelectReason.cache, loadFactor: cached.score };

  const liveHolders = table.liveHolders(assetId);
  const live = bestOf(table, liveHolders, exclude, weights, (row) => row.live.get(assetId)?.live === true);
  if (live) return { ok: true, serverId: live.id, reason: SelectReason.live, loadFactor: live.score };

  const storageHolders = table.storageHolders(assetId);
  let stored = bestOf(table, storageHolders, exclude, weights, null);
  if (liveHolders.size > 0) {
    const ended = bestOf(table, liveHolders, exclude, weights, (row) => row.live.get(assetId)?.live === false);
    if (ended && beats(ended.score, ended.id, stored)) stored = ended;
  }
  if (stored) return { ok: true, serverId: stored.id, reason: SelectReason.storage, loadFactor: stored.score };

  if (cacheHolders.size === 0 && liveHolders.size === 0 && storageHolders.size === 0) {
    return { ok: false, code: ErrorCode.unknownAsset, message: `no server holds asset ${assetId}` };
  }
  return {
    ok: false,
    code: ErrorCode.noCapacity,
    message: `every server holding ${assetId} is excluded or over the load threshold`,
  };
}

function bestOf(
  table: StateTable,
  holders: ReadonlySet<string>,
  exclude: readonly string[],
  weights: LoadWeights,
  accept: ((row: ServerRow) => boolean) | null,
): Best | null {
  let best: Best | null = null;
  for (const id of holders) {
    if (exclude.length > 0 && exclude.includes(id)) continue;
    const row = table.get(id);
    if (!row || (accept && !accept(row))) continue;
    const f = acceptingLoadFactor(row, weights);
    if (f !== null && beats(f, id, best)) best = { id, score: f };
  }
  return best;
}
