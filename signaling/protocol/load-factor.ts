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
 * Defaults: sessions 0.5, egress 0.3, cpu 0.2; a server is over the threshold
 * (not given new viewers) at 0.85.
 */
export interface LoadWeights {
  sessions: number;
  egress: number;
  cpu: number;
  /** A server whose factor is at or above this gets no new sessions. */
  threshold: number;
}

export const DEFAULT_LOAD_WEIGHTS: LoadWeights = Object.freeze({
  sessions: 0.5,
  egress: 0.3,
  cpu: 0.2,
  threshold: 0.85,
});

export interface LoadCapacity {
  maxSessions: number;
  uplinkMbps: number;
  load: ServerLoad;
}

export function loadFactor(s: LoadCapacity, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): number {
  const sessions = s.maxSessions > 0 ? s.load.sessions / s.maxSessions : 1;
  const egress = s.uplinkMbps > 0 ? s.load.egressMbps / s.uplinkMbps : 1;
  const cpu = s.load.cpu;
  const total = w.sessions + w.egress + w.cpu;
  if (total <= 0) return 0;
  const f = (w.sessions * Math.max(0, sessions) + w.egress * Math.max(0, egress) + w.cpu * Math.max(0, cpu)) / total;
  return Number.isFinite(f) ? f : 1;
}

/** True when the server should not take one more session. */
export function isOverloaded(s: LoadCapacity, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): boolean {
  return s.load.sessions >= s.maxSessions || loadFactor(s, w) >= w.threshold;
}
