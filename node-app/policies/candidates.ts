// Helpers shared by the selection policies: who may take one more session, and at what load.
import { loadFactor, type LoadWeights } from '../../signaling/protocol/load-factor.js';
import type { ServerRow } from '../../signaling/protocol/state-table.js';

/**
 * The server's load factor if it may take one more session, else `null`
 * (at or past `weights.threshold`, or every session slot taken). Same rule as
 * `isOverloaded`, computing the factor once.
 */
export function acceptingLoadFactor(row: ServerRow, weights: LoadWeights): number | null {
  if (row.load.sessions >= row.maxSessions) return null;
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
