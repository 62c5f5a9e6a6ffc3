// Baton's director as a load-balancing policy for the simulator: the production `placeViewer` on the director's replica.
import { createCache } from '../node-app/cache/index.js';
import { nextDirector } from '../signaling/policies/rotation.js';
import { DEFAULT_LOAD_BOUND, placeViewer, selectServer } from '../node-app/director/select.js';
import { DEFAULT_LOAD_WEIGHTS, type LoadWeights } from '../signaling/protocol/load-factor.js';
import { StateTable } from '../signaling/protocol/state-table.js';
import { BASELINES, boundedLoadPolicy, type ClusterView, type LbPolicy, type PlaceRequest } from './lb-policies.js';

/** The production modules the simulator runs, exposed so a test can check they are the real ones. */
export const PRODUCTION = Object.freeze({ selectServer, placeViewer, nextDirector, createCache, StateTable });

/** What the simulator shows Baton's director: its replica of the state table. */
export interface SimView extends ClusterView {
  readonly table: StateTable;
  indexOf(id: string): number;
}

export type SimPolicyFactory = (view: SimView, rng: () => number) => LbPolicy & { figures?(): Record<string, number> };

/**
 * The production director: `selectServer` on the director's replica of the
 * state table, which the simulator keeps as the hub would (cache changes at
 * once, loads on each heartbeat), with `self` = the current director, and the
 * media server's default load weights, bounded-load ε and cache floor unless
 * given (`loadBound: null` turns the bound off, as `--load-bound off` does).
 */
export function batonPolicy(
  name = 'baton',
  weights: LoadWeights = DEFAULT_LOAD_WEIGHTS,
  loadBound: number | null = DEFAULT_LOAD_BOUND,
  cacheFloor?: number,
): SimPolicyFactory {
  const opts = { weights, ...(loadBound === null ? {} : { loadBound }), ...(cacheFloor === undefined ? {} : { cacheFloor }) };
  return (v) => {
    const reasons: Record<string, number> = {};
    return {
      name,
      pick: (r: PlaceRequest) => {
        const res = PRODUCTION.placeViewer(v.table, { assetId: r.assetId }, v.table.director?.id ?? '', opts);
        const key = res.ok ? res.reason : res.code;
        reasons[key] = (reasons[key] ?? 0) + 1;
        return res.ok ? v.indexOf(res.serverId) : -1;
      },
      figures: () => ({ ...reasons }),
    };
  };
}

/**
 * Every policy the suite compares: Baton as shipped, the baselines, then one
 * what-if — Baton without the bounded-load cap (`--load-bound off`: only the
 * absolute load threshold), to show what the cap buys.
 */
export const POLICIES: Readonly<Record<string, SimPolicyFactory>> = Object.freeze({
  baton: batonPolicy(),
  ...BASELINES,
  'baton-unbounded': batonPolicy('baton-unbounded', DEFAULT_LOAD_WEIGHTS, null),
});

/**
 * What-ifs the sweep runs beside the policies, to explain a figure rather than
 * to compete: bounded-load hashing held to Baton's admission threshold (0.85
 * of each uplink), refusing whom no server has room for, as Baton does.
 */
export const WHAT_IFS: Readonly<Record<string, SimPolicyFactory>> = Object.freeze({
  'bounded-load-capped': boundedLoadPolicy(undefined, DEFAULT_LOAD_WEIGHTS.threshold),
});
