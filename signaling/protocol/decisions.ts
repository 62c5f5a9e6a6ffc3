// The director's answers — the server a viewer gets (`select`), the entry servers a broadcast gets (`select-ingest`) — and the hub's log of them.
import type { DirectorInfo, Place, SelectReason } from './types.js';

/** The director's answer to `select`. */
export interface SelectDecision {
  serverId: string;
  reason: SelectReason;
  loadFactor: number;
  epoch: number;
}

/** One entry server of an ingest assignment. */
export interface IngestChoice {
  serverId: string;
  region: string;
  /** Estimated round-trip time from the location it was chosen for, ms. */
  rttMs: number;
  /** Which location this choice was estimated from. */
  from: Place;
  loadFactor: number;
}

/**
 * The candidate step of an ingest decision. `nearest`: the `nearestPerPlace`
 * ingest servers nearest to each location (metadata only); `pool`: the
 * servers primary and backup were chosen among — the nearest that could take
 * the stream (`rule: 'nearest'`), or, when none could, every ingest server
 * that could (`rule: 'all'`).
 */
export interface IngestCandidates {
  rule: 'nearest' | 'all';
  nearestPerPlace: number;
  nearest: string[];
  pool: string[];
}

/** The director's answer to `select-ingest`. */
export interface IngestDecision {
  primary: IngestChoice;
  backup: IngestChoice | null;
  /** True when the IP could not be geolocated and the backup was chosen by the typed location. */
  ipUnknown: boolean;
  /** Absent from directors older than the candidate step. */
  candidates?: IngestCandidates;
  epoch: number;
}

/** An entry of the hub's decision log: a viewer's selection, a broadcast's assignment, or a change of director. */
export type DecisionEvent =
  | ({ kind: 'watch'; atMs: number; assetId: string } & SelectDecision)
  | ({ kind: 'publish'; atMs: number; streamId: string; typed: Place; ip: Place | null } & IngestDecision)
  | { kind: 'director'; atMs: number; director: DirectorInfo | null; reason: string };
