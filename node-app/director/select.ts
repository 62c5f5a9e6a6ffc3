// The director's viewer policy: which server streams an asset (cache-aware, by load factor).
import { oneViewerLoad, weighUtilisation, type LoadWeights } from '../../signaling/protocol/load-factor.js';
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
  /**
   * ε of bounded loads: prefer servers whose load factor with one more viewer
   * stays at or under (1 + ε) × the cluster's mean load factor with that
   * viewer. Undefined = no relative bound, only `weights.threshold`. See
   * `selectServer`.
   */
  loadBound?: number;
  /**
   * A cache holder (the director's own cache included) passes the bound
   * while its load factor with this viewer stays at or under this, whatever
   * the mean: balance never turns a cache hit into a storage read while the
   * holder has real headroom. Default `DEFAULT_CACHE_FLOOR`.
   */
  cacheFloor?: number;
}

/**
 * Default ε. Consistent hashing with bounded loads at ε = 0.25 keeps the busiest
 * server at 1.26 × the mean in the cluster simulator; the director sees loads
 * up to a heartbeat old, and at 0.2 its busiest server stays at 1.21 × the mean
 * with 0.756 of the bytes served from caches (bench/README.md, `lb`).
 */
export const DEFAULT_LOAD_BOUND = 0.2;

/**
 * Default cache floor (load factor). Chosen by measurement in the cluster
 * simulator (the 20-server quick cluster at 10–70 % utilisation; bench/README.md,
 * "Cache floor"): with no floor, at
 * 10 % mean utilisation the bound sent viewers past idle cache holders to
 * storage (cache-served share 0.680 against 0.724 for the unbounded
 * director); a floor of 0.3 gives 0.723 there and keeps the busiest server
 * under 1.21 × the mean from 30 % utilisation up. 0.5 kept the cache share
 * but let the busiest server reach 1.58 × the mean at 30 %; comparing against
 * the least-loaded storage holder plus a margin needed a margin of 0.2 to keep
 * a holder at 0.18 (the quiet cluster of issue 12), and that margin reached
 * 1.55 × the mean at 30 %.
 */
export const DEFAULT_CACHE_FLOOR = 0.3;

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
 * `acceptingLoadFactor`). With `opts.loadBound` (ε) the tiers are first tried
 * with bounded loads (Mirrokni, Thorup, Zadimoghaddam): a holder counts only
 * while its load factor with this viewer (`oneViewerLoad`: a session slot and
 * the asset's bitrate) stays at or under (1 + ε) × the cluster's mean load
 * factor with this viewer. A popular asset's cache holders thus stop
 * attracting viewers once they run ahead of the cluster, and the next viewer
 * starts (or joins) an interval on a quieter server. A cache holder always
 * passes while its load factor with this viewer stays at or under
 * `opts.cacheFloor` (0.3): in a quiet cluster (1 + ε) × mean is tiny, and
 * without the floor an idle storage holder beat every cache holder. Only when no holder in
 * any tier is under that bound (an idle or tiny cluster, an asset on few
 * servers) do the tiers run again with the absolute threshold alone: a viewer
 * is never refused for balance. Ties on load factor go to the smaller id.
 * Only the asset → holders indexes and the table's running mean are read,
 * never the whole table, so a decision costs O(holders of this asset). Fails with
 * `unknown-asset` when nobody holds the asset, `no-capacity` when every holder
 * is excluded or overloaded.
 */
/** Slack for the running mean's rounding (load factors are O(1); sums of 10^4 rows err ≈ 10^-12). */
const MEAN_ROUNDING = 1e-9;

export function selectServer(table: StateTable, req: ServerSelectRequest, self: string, opts: SelectOptions): SelectResult {
  const { assetId } = req;
  const storageHolders = table.storageHolders(assetId);
  if (table.cacheHolders(assetId).size === 0 && table.liveHolders(assetId).size === 0 && storageHolders.size === 0) {
    return { ok: false, code: ErrorCode.unknownAsset, message: `no server holds asset ${assetId}` };
  }

  // Holders of a shorter copy (a broadcast salvaged at a crash, while another server finalized it whole) are passed
  // over while a holder of the longest copy can take the viewer: they play the same stream, cut short.
  const shorter = shorterCopies(table, assetId, storageHolders);
  if (shorter.length > 0) {
    const fullest = pick(table, { ...req, exclude: [...(req.exclude ?? []), ...shorter] }, self, opts);
    if (fullest) return fullest;
  }
  return (
    pick(table, req, self, opts) ?? {
      ok: false,
      code: ErrorCode.noCapacity,
      message: `every server holding ${assetId} is excluded or over the load threshold`,
    }
  );
}

/** selectServer's tiers, first under the load bound (when there is one) and then without; null when no holder passes. */
function pick(table: StateTable, req: ServerSelectRequest, self: string, opts: SelectOptions): SelectResult | null {
  const { assetId } = req;
  const exclude = req.exclude ?? [];
  const { weights, loadBound } = opts;
  const cacheHolders = table.cacheHolders(assetId);
  const liveHolders = table.liveHolders(assetId);
  const storageHolders = table.storageHolders(assetId);
  const tiers: Tiers = { assetId, self, exclude, weights, cacheHolders, liveHolders, storageHolders };
  let picked: SelectResult | null = null;
  if (loadBound !== undefined && loadBound >= 0) {
    const mean = weighUtilisation(table.meanUtilisation(), weights);
    const bitrateMbps = assetBitrateMbps(table, assetId, storageHolders);
    const n = table.size;
    const floor = opts.cacheFloor ?? DEFAULT_CACHE_FLOOR;
    // The table's running mean is summed incrementally: a server sitting exactly at the bound (an
    // idle cluster at ε = 0) must not flip on the last bit of rounding.
    const bounded: Bound = (row, f) => {
      const one = oneViewerLoad(row, bitrateMbps, weights);
      return f + one <= (1 + loadBound) * (mean + one / n) + MEAN_ROUNDING;
    };
    const boundedCache: Bound = (row, f) => f + oneViewerLoad(row, bitrateMbps, weights) <= floor || bounded(row, f);
    picked = pickByTier(table, tiers, bounded, boundedCache);
  }
  return picked ?? pickByTier(table, tiers, null);
}

/**
 * The storage holders of `assetId` whose copy has fewer bytes than the longest stored copy; none when every copy is
 * as long (the rule: copies of one id are byte-identical). O(1) in that case (the table counts holders per copy
 * length: visiting every holder's row took a fifth of the million-request replay, where each asset has 100 holders);
 * O(holders) when they differ.
 */
export function shorterCopies(table: StateTable, assetId: string, storage: ReadonlySet<string>): string[] {
  if (!table.storageCopiesDiffer(assetId)) return [];
  let longest = -1;
  let differ = false;
  for (const id of storage) {
    const bytes = table.get(id)?.storage.get(assetId)?.bytes ?? -1;
    if (longest >= 0 && bytes !== longest) differ = true;
    longest = Math.max(longest, bytes);
  }
  if (!differ) return [];
  return [...storage].filter((id) => (table.get(id)?.storage.get(assetId)?.bytes ?? -1) < longest);
}

/**
 * The director's decision (`selectServer`), then the chosen server counts the
 * viewer at once in the director's replica (`StateTable.reserveLoad`: one
 * session and the asset's bitrate) until that server's next load report.
 * Loads reach the replica once per heartbeat; without this, every viewer
 * arriving within one heartbeat would see the same stale loads and the same
 * least-loaded holder would take them all.
 */
export function placeViewer(table: StateTable, req: ServerSelectRequest, self: string, opts: SelectOptions): SelectResult {
  const r = selectServer(table, req, self, opts);
  if (r.ok) table.reserveLoad(r.serverId, 1, assetBitrateMbps(table, req.assetId, table.storageHolders(req.assetId)));
  return r;
}

interface Tiers {
  assetId: string;
  self: string;
  exclude: readonly string[];
  weights: LoadWeights;
  cacheHolders: ReadonlySet<string>;
  liveHolders: ReadonlySet<string>;
  storageHolders: ReadonlySet<string>;
}

/** A further test on a candidate under the threshold (its row and load factor). */
type Bound = ((row: ServerRow, f: number) => boolean) | null;

/** The four tiers in order; null when no holder passes (the caller tells why). `cacheBound` tests the cache tiers. */
function pickByTier(table: StateTable, t: Tiers, bound: Bound, cacheBound: Bound = bound): SelectResult | null {
  const { assetId, self, exclude, weights } = t;
  const me = table.get(self);
  if (me && me.cache.has(assetId) && !exclude.includes(self)) {
    const f = acceptingLoadFactor(me, weights);
    if (f !== null && (cacheBound === null || cacheBound(me, f)))
      return { ok: true, serverId: self, reason: SelectReason.directorCache, loadFactor: f };
  }

  const cached = bestOf(table, t.cacheHolders, exclude, weights, null, cacheBound);
  if (cached) return { ok: true, serverId: cached.id, reason: SelectReason.cache, loadFactor: cached.score };

  const live = bestOf(table, t.liveHolders, exclude, weights, (row) => row.live.get(assetId)?.live === true, bound);
  if (live) return { ok: true, serverId: live.id, reason: SelectReason.live, loadFactor: live.score };

  let stored = bestOf(table, t.storageHolders, exclude, weights, null, bound);
  if (t.liveHolders.size > 0) {
    const ended = bestOf(table, t.liveHolders, exclude, weights, (row) => row.live.get(assetId)?.live === false, bound);
    if (ended && beats(ended.score, ended.id, stored)) stored = ended;
  }
  if (stored) return { ok: true, serverId: stored.id, reason: SelectReason.storage, loadFactor: stored.score };
  return null;
}

function bestOf(
  table: StateTable,
  holders: ReadonlySet<string>,
  exclude: readonly string[],
  weights: LoadWeights,
  accept: ((row: ServerRow) => boolean) | null,
  bound: Bound,
): Best | null {
  let best: Best | null = null;
  for (const id of holders) {
    if (exclude.length > 0 && exclude.includes(id)) continue;
    const row = table.get(id);
    if (!row || (accept && !accept(row))) continue;
    const f = acceptingLoadFactor(row, weights);
    if (f !== null && beats(f, id, best) && (bound === null || bound(row, f))) best = { id, score: f };
  }
  return best;
}

/** The asset's bitrate as a storage holder describes it, Mbit/s; 0 when unknown (a live stream's is). */
function assetBitrateMbps(table: StateTable, assetId: string, storage: ReadonlySet<string>): number {
  const first = storage.values().next();
  if (first.done) return 0;
  const bps = table.get(first.value)?.storage.get(assetId)?.bitrateBps;
  return bps !== undefined && Number.isFinite(bps) && bps > 0 ? bps / 1e6 : 0;
}
