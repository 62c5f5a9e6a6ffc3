// The load factor: one number in [0, 1+] that says how busy a server is.
import type { ServerLoad } from './types.js';

/**
 * Weights of the load factor. The factor is the weighted mean of three
 * utilisations, each clamped at 0 below and left unclamped above 1 (an
 * overloaded server must sort after a merely full one):
 *
 *   loadFactor = (ws · sessions/maxSessions + we · egressMbps/uplinkMbps + wc · cpu)
 *                / (ws + we + wc)
 *
 * Defaults: egress 0.8, cpu 0.2, sessions 0; a server is over the threshold
 * (not given new viewers) at 0.85, and a server with every session slot taken
 * gets none whatever its factor. The uplink is what a streaming server runs
 * out of: with sessions weighed more than bytes (0.5 / 0.3 / 0.2, the first
 * defaults) a server of high-bitrate viewers filled its uplink while its factor
 * was still low, and in the cluster simulator the busiest server ran at 1.44 ×
 * the mean egress utilisation against 1.21 with these, under the same director
 * and load bound (bench/README.md, `lb`).
 */
export interface LoadWeights {
  sessions: number;
  egress: number;
  cpu: number;
  /** A server whose factor is at or above this gets no new sessions. */
  threshold: number;
}

export const DEFAULT_LOAD_WEIGHTS: LoadWeights = Object.freeze({
  sessions: 0,
  egress: 0.8,
  cpu: 0.2,
  threshold: 0.85,
});

export interface LoadCapacity {
  maxSessions: number;
  uplinkMbps: number;
  load: ServerLoad;
}

/**
 * The three utilisations the load factor weighs, each clamped at 0 below (and
 * a non-finite one counted as full). The load factor is linear in these, so the
 * mean load factor of a set of servers is the load factor of their mean
 * utilisations: the state table keeps their sums (`StateTable.meanUtilisation`).
 */
export interface Utilisation {
  sessions: number;
  egress: number;
  cpu: number;
}

export function utilisation(s: LoadCapacity): Utilisation {
  return {
    sessions: clampUtil(s.maxSessions > 0 ? s.load.sessions / s.maxSessions : 1),
    egress: clampUtil(s.uplinkMbps > 0 ? s.load.egressMbps / s.uplinkMbps : 1),
    cpu: clampUtil(s.load.cpu),
  };
}

function clampUtil(u: number): number {
  return Number.isFinite(u) ? Math.max(0, u) : 1;
}

/** The load factor of given utilisations. */
export function weighUtilisation(u: Utilisation, w: LoadWeights): number {
  const total = w.sessions + w.egress + w.cpu;
  if (total <= 0) return 0;
  return (w.sessions * u.sessions + w.egress * u.egress + w.cpu * u.cpu) / total;
}

export function loadFactor(s: LoadCapacity, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): number {
  const f = weighUtilisation(utilisation(s), w);
  return Number.isFinite(f) ? f : 1;
}

/**
 * What one more viewer of `bitrateMbps` adds to a server's load factor: one
 * session slot and its bitrate on the uplink (its CPU share is not known in
 * advance and is left to the next load report).
 */
export function oneViewerLoad(s: Omit<LoadCapacity, 'load'>, bitrateMbps: number, w: LoadWeights): number {
  const total = w.sessions + w.egress + w.cpu;
  if (total <= 0) return 0;
  const session = s.maxSessions > 0 ? 1 / s.maxSessions : 1;
  const egress = s.uplinkMbps > 0 ? Math.max(0, bitrateMbps) / s.uplinkMbps : 1;
  return (w.sessions * session + w.egress * egress) / total;
}

/** True when the server should not take one more session. */
export function isOverloaded(s: LoadCapacity, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): boolean {
  return s.load.sessions >= s.maxSessions || loadFactor(s, w) >= w.threshold;
}
