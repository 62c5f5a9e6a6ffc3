// Helpers shared by the selection policies: who may take one more session, and at what load.
import { loadFactor, type LoadWeights } from '../../signaling/protocol/load-factor.js';
import type { ServerRow } from '../../signaling/protocol/state-table.js';

/** Which kind of session slot a request needs: viewers and broadcasts are counted apart. */
export type Slot = 'watch' | 'ingest';

/**
 * The server's load factor if it may take one more session of `slot`, else
 * `null` (at or past `weights.threshold`, or every slot of that kind taken:
 * `load.sessions` of `maxSessions` for viewers, `load.ingestSessions` of
 * `maxIngestSessions` for broadcasts, and no broadcast where the storage refuses new files). Viewers filling their slots never take
 * a broadcaster's, nor the reverse. Same rule as `isOverloaded` for viewers,
 * computing the factor once.
 */
export function acceptingLoadFactor(row: ServerRow, weights: LoadWeights, slot: Slot = 'watch'): number | null {
  if (
    slot === 'watch'
      ? row.load.sessions >= row.maxSessions
      : (row.load.ingestSessions ?? 0) >= (row.maxIngestSessions ?? row.maxSessions) || row.load.storageWritable === false
  )
    return null;
  const f = loadFactor(row, weights);
  return f >= weights.threshold ? null : f;
}

/** A best-so-far candidate: lowest score wins, ties go to the smaller id. */
export interface Best {
  id: string;
  score: number;
}

/** True when (score, id) beats `best`; deterministic on ties. */
export function beats(score: number, id: string, best: Best | null): boolean {
  if (best === null) return true;
  if (score !== best.score) return score < best.score;
  return id < best.id;
}
