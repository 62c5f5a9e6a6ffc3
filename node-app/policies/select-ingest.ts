// The director's broadcaster policy: a primary and a backup entry server, by estimated RTT and load.
import type { LoadWeights } from '../../signaling/protocol/load-factor.js';
import type { IngestChoice } from '../../signaling/protocol/messages.js';
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

export interface IngestSelectRequest {
  /** Where the broadcaster said they are. */
  typed: Place;
  /** Where their IP address says they are; null when it could not be located. */
  ip: Place | null;
  /** Servers the client will not accept (e.g. a failed entry server being replaced). */
  exclude?: readonly string[];
}

export interface IngestSelectOptions {
  weights: LoadWeights;
}

export type IngestSelectResult =
  | { ok: true; primary: IngestChoice; backup: IngestChoice | null; ipUnknown: boolean }
  | { ok: false; code: typeof ErrorCode.noIngest; message: string };

interface Candidate {
  row: ServerRow;
  loadFactor: number;
}

/**
 * Choose two entry servers for a broadcast. Candidates have the `ingest` role,
 * are not excluded, and have a free ingest slot (counted apart from viewer
 * slots) under the load threshold. Each is scored from a place
 * as `estimateRttMs(place, server) + loadFactor × LOAD_PENALTY_MS` (lower wins,
 * ties to the smaller id).
 *
 * - primary: best score from the typed place;
 * - backup: never the primary; preferably in another region than the primary
 *   (one regional outage must not take both); best score from the IP place, or,
 *   when the IP is unknown, from the typed place (`ipUnknown: true`);
 * - a single candidate gives `backup: null`.
 */
export function selectIngest(
  table: StateTable,
  req: IngestSelectRequest,
  opts: IngestSelectOptions,
): IngestSelectResult {
  const exclude = req.exclude ?? [];
  const candidates: Candidate[] = [];
  for (const row of table.servers()) {
    if (!row.roles.includes(Role.ingest) || exclude.includes(row.id)) continue;
    const loadFactor = acceptingLoadFactor(row, opts.weights, 'ingest');
    if (loadFactor !== null) candidates.push({ row, loadFactor });
  }
  const primary = best(candidates, req.typed);
  if (!primary) {
    return { ok: false, code: ErrorCode.noIngest, message: 'no ingest server is available with spare capacity' };
  }

  const others = candidates.filter((c) => c !== primary);
  const elsewhere = others.filter((c) => c.row.region !== primary.row.region);
  const pool = elsewhere.length > 0 ? elsewhere : others;
  const backupFrom = req.ip ?? req.typed;
  const backup = best(pool, backupFrom);

  return {
    ok: true,
    primary: choice(primary, req.typed),
    backup: backup ? choice(backup, backupFrom) : null,
    ipUnknown: req.ip === null,
  };
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
