// The director's broadcaster policy: a primary and a backup entry server, by estimated RTT and load.
import type { LoadWeights } from '../../signaling/protocol/load-factor.js';
import type { IngestCandidates, IngestChoice } from '../../signaling/protocol/messages.js';
import type { ServerRow, StateTable } from '../../signaling/protocol/state-table.js';
import { ErrorCode, Role, type Place } from '../../signaling/protocol/types.js';
import { acceptingLoadFactor, beats, type Best } from './candidates.js';
import { estimateRttMs } from './geo.js';

/**
 * What one unit of load factor costs in the score, ms. A full server (factor
 * 1) must be 100 ms closer than an idle one to win: enough to move a stream to
 * the next city over, never across an ocean to avoid a busy neighbour.
 */
export const LOAD_PENALTY_MS = 100;

/**
 * Candidates per location: the k ingest servers nearest to the typed place
 * and the k nearest to the IP place. Three per place leave a primary, a
 * backup in another region and a spare when one of them is full.
 */
export const INGEST_NEAREST_PER_PLACE = 3;

export interface IngestSelectRequest {
  /** Where the broadcaster said they are. */
  typed: Place;
  /** Where their IP address says they are; null when it could not be located. */
  ip: Place | null;
  /** Servers the client will not accept (e.g. a failed entry server being replaced). */
  exclude?: readonly string[];
  /** The only servers that may be chosen (a broadcast carried on where its copies are); any when absent. */
  only?: readonly string[];
}

export interface IngestSelectOptions {
  weights: LoadWeights;
}

export type IngestSelectResult =
  | { ok: true; primary: IngestChoice; backup: IngestChoice | null; ipUnknown: boolean; candidates: IngestCandidates }
  | { ok: false; code: typeof ErrorCode.noIngest; message: string };

interface Candidate {
  row: ServerRow;
  loadFactor: number;
}

/**
 * Choose two entry servers for a broadcast, in two steps.
 *
 * 1. Candidates, from the request's metadata alone (`nearestIngest`): the
 *    `INGEST_NEAREST_PER_PLACE` ingest servers nearest to the typed place
 *    (by estimated RTT) and as many nearest to the IP place. Of these, the
 *    ones that fit (not excluded, a free ingest slot — counted apart from viewer slots — under the load threshold) are the pool;
 *    when none fits, every ingest server that fits is (`rule: 'all'`).
 * 2. Primary and backup from the pool, each scored from a place as
 *    `estimateRttMs(place, server) + loadFactor × LOAD_PENALTY_MS` (lower
 *    wins, ties to the smaller id):
 *    - primary: best score from the typed place;
 *    - backup: never the primary; preferably in another region than the
 *      primary (one regional outage must not take both); best score from the
 *      IP place, or, when the IP is unknown, from the typed place
 *      (`ipUnknown: true`). When the primary is the only server in the pool,
 *      the backup comes from every ingest server that fits: a backup is never
 *      lost to the candidate step. A single one gives `backup: null`.
 *
 * The result carries both steps (`candidates`), for the decision log.
 */
export function selectIngest(table: StateTable, req: IngestSelectRequest, opts: IngestSelectOptions): IngestSelectResult {
  const exclude = req.exclude ?? [];
  const ingest: ServerRow[] = [];
  const eligible: Candidate[] = [];
  for (const row of table.servers()) {
    if (!row.roles.includes(Role.ingest)) continue;
    ingest.push(row);
    if (exclude.includes(row.id) || (req.only && !req.only.includes(row.id))) continue;
    const loadFactor = acceptingLoadFactor(row, opts.weights, 'ingest');
    if (loadFactor !== null) eligible.push({ row, loadFactor });
  }
  const nearest = nearestIngest(ingest, req);
  const fit = eligible.filter((c) => nearest.has(c.row.id));
  const pool = fit.length > 0 ? fit : eligible;
  const primary = best(pool, req.typed);
  if (!primary) {
    return { ok: false, code: ErrorCode.noIngest, message: 'no ingest server is available with spare capacity' };
  }

  const near = pool.filter((c) => c !== primary);
  const others = near.length > 0 ? near : eligible.filter((c) => c !== primary);
  const elsewhere = others.filter((c) => c.row.region !== primary.row.region);
  const backupFrom = req.ip ?? req.typed;
  const backup = best(elsewhere.length > 0 ? elsewhere : others, backupFrom);

  return {
    ok: true,
    primary: choice(primary, req.typed),
    backup: backup ? choice(backup, backupFrom) : null,
    ipUnknown: req.ip === null,
    candidates: {
      rule: fit.length > 0 ? 'nearest' : 'all',
      nearestPerPlace: INGEST_NEAREST_PER_PLACE,
      nearest: [...nearest].sort(),
      pool: pool.map((c) => c.row.id).sort(),
    },
  };
}

/**
 * Step 1 of `selectIngest`: the ids of the `INGEST_NEAREST_PER_PLACE` servers
 * nearest to each of the request's places (estimated RTT, ties to the smaller
 * id). Metadata only: load, exclusions and capacity play no part here.
 */
export function nearestIngest(servers: readonly ServerRow[], req: Pick<IngestSelectRequest, 'typed' | 'ip'>): Set<string> {
  const ids = new Set<string>();
  for (const place of req.ip ? [req.typed, req.ip] : [req.typed]) {
    const byRtt = servers
      .map((row) => ({ id: row.id, rttMs: estimateRttMs(place, row) }))
      .sort((a, b) => a.rttMs - b.rttMs || (a.id < b.id ? -1 : 1));
    for (const x of byRtt.slice(0, INGEST_NEAREST_PER_PLACE)) ids.add(x.id);
  }
  return ids;
}

function best(candidates: readonly Candidate[], from: Place): Candidate | null {
  let top: Best | null = null;
  let winner: Candidate | null = null;
  for (const c of candidates) {
    const score = estimateRttMs(from, c.row) + c.loadFactor * LOAD_PENALTY_MS;
    if (beats(score, c.row.id, top)) {
      top = { id: c.row.id, score };
      winner = c;
    }
  }
  return winner;
}

function choice(c: Candidate, from: Place): IngestChoice {
  return {
    serverId: c.row.id,
    region: c.row.region,
    rttMs: estimateRttMs(from, c.row),
    from,
    loadFactor: c.loadFactor,
  };
}
