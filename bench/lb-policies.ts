// The baseline load-balancing policies the cluster simulator runs against Baton's director.
//
// Each baseline is the capacity-weighted form of the textbook policy (servers
// differ in uplink), and reads the balancer's own exact load counters: that is
// what a real front-end balancer knows, and it is more than Baton's director
// gets (loads from 1-s heartbeats), so any bias favours the baselines.

/** What a policy may read about the cluster: capacities and the current, exact loads. */
export interface ClusterView {
  /** Number of servers; servers are 0..size-1, in ascending id order. */
  readonly size: number;
  readonly ids: readonly string[];
  /** Uplink of each server, Mbit/s. */
  readonly capacityMbps: Float64Array;
  /** Egress each server is streaming right now, Mbit/s. */
  readonly loadMbps: Float64Array;
  /** Sum of `loadMbps`, Mbit/s. */
  totalLoadMbps(): number;
  /** Sum of `capacityMbps`, Mbit/s. */
  readonly totalCapacityMbps: number;
}

/** One request to place: which asset, at which bitrate. */
export interface PlaceRequest {
  /** Index of the asset in the workload's catalog (lets policies memoise per asset). */
  asset: number;
  assetId: string;
  bitrateMbps: number;
  now: number;
}

/** A placement policy: the server index for a request, or -1 to refuse it. */
export interface LbPolicy {
  readonly name: string;
  pick(req: PlaceRequest): number;
  /** The simulator changed `loadMbps[server]` (a viewer came or went). */
  loadChanged?(server: number): void;
}

export type PolicyFactory = (view: ClusterView, rng: () => number) => LbPolicy;

/** ε of consistent hashing with bounded loads: no server above (1 + ε) × the mean utilisation. */
export const BOUNDED_LOAD_EPSILON = 0.25;
/** Virtual nodes on the hash ring per Gbit/s of uplink. */
export const VNODES_PER_GBPS = 100;

const utilisation = (v: ClusterView, s: number) => v.loadMbps[s]! / v.capacityMbps[s]!;

/** Draws a server with probability proportional to its capacity (cumulative weights, binary search). */
function weightedSampler(v: ClusterView, rng: () => number): () => number {
  const cum = new Float64Array(v.size);
  let acc = 0;
  for (let s = 0; s < v.size; s++) cum[s] = acc += v.capacityMbps[s]!;
  return () => {
    const x = rng() * acc;
    let lo = 0;
    let hi = v.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Random, weighted by capacity. */
export const randomPolicy: PolicyFactory = (v, rng) => {
  const draw = weightedSampler(v, rng);
  return { name: 'random', pick: () => draw() };
};

/**
 * Weighted round robin: the smooth sequence nginx uses (each step, every server
 * gains its weight, the richest is picked and pays the total), precomputed once
 * over one full cycle so that each pick is O(1).
 */
export const roundRobinPolicy: PolicyFactory = (v) => {
  const weights = integerWeights(v.capacityMbps);
  const total = weights.reduce((a, b) => a + b, 0);
  const current = new Float64Array(v.size);
  const cycle = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    let best = 0;
    for (let s = 0; s < v.size; s++) {
      current[s]! += weights[s]!;
      if (current[s]! > current[best]!) best = s;
    }
    current[best]! -= total;
    cycle[i] = best;
  }
  let next = 0;
  return {
    name: 'round-robin',
    pick: () => {
      const s = cycle[next]!;
      next = (next + 1) % total;
      return s;
    },
  };
};

/** Capacities as small integers with the same ratios (rounded to 1% of the smallest). */
function integerWeights(capacity: Float64Array): number[] {
  const min = Math.min(...capacity);
  const w = [...capacity].map((c) => Math.max(1, Math.round((c / min) * 100)));
  const g = w.reduce(gcd);
  return w.map((x) => x / g);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Least loaded (lowest utilisation), ignoring caches. An indexed binary min-heap
 * keyed by utilisation, updated on every load change, so a pick is O(1) and an
 * update O(log servers) instead of a scan of every server. Ties go to the lower index.
 */
export const leastLoadedPolicy: PolicyFactory = (v) => {
  const heap = new IndexedMinHeap(v.size, (s) => utilisation(v, s));
  return {
    name: 'least-loaded',
    pick: () => heap.top(),
    loadChanged: (s) => heap.update(s),
  };
};

/** Consistent hashing on the asset id: every request for an asset goes to the same server. */
export const consistentHashPolicy: PolicyFactory = (v) => {
  const ring = new HashRing(v);
  return { name: 'consistent-hash', pick: (r) => ring.owner(ring.start(r.asset, r.assetId)) };
};

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018),
 * with load = egress and bins weighted by uplink: walk clockwise from the
 * asset's point to the first server whose utilisation, with this viewer added,
 * stays at or under (1 + ε) × the cluster's utilisation with this viewer added.
 * Balls here have sizes (bitrates), so in a nearly empty cluster no server may
 * pass the bound; the walk then takes the least utilised server it saw.
 */
export function boundedLoadPolicy(epsilon = BOUNDED_LOAD_EPSILON, capUtil = Infinity): PolicyFactory {
  return (v) => {
    const ring = new HashRing(v);
    return {
      name: capUtil === Infinity ? 'bounded-load' : 'bounded-load-capped',
      pick: (r) => boundedWalk(v, ring, r, epsilon, capUtil),
    };
  };
}

/**
 * The walk of bounded-load hashing. With a finite `capUtil` (the what-if
 * `bounded-load-capped`) no server may go past that share of its uplink —
 * Baton's admission rule, its load threshold — and a viewer that fits nowhere
 * is refused (-1), as Baton refuses it: what bounded loads would serve from
 * caches if held to the capacity Baton respects.
 */
function boundedWalk(v: ClusterView, ring: HashRing, r: PlaceRequest, epsilon: number, capUtil: number): number {
  const bound = Math.min(capUtil, (1 + epsilon) * ((v.totalLoadMbps() + r.bitrateMbps) / v.totalCapacityMbps));
  const start = ring.start(r.asset, r.assetId);
  let best = -1;
  let bestUtil = Infinity;
  for (let i = 0; i < ring.points; i++) {
    const s = ring.owner(start + i);
    const u = (v.loadMbps[s]! + r.bitrateMbps) / v.capacityMbps[s]!;
    if (u <= bound) return s;
    if (u <= capUtil && u < bestUtil) [best, bestUtil] = [s, u];
  }
  return best;
}

/** Power of two choices: two distinct servers drawn by capacity, the less utilised one wins. */
export const powerOfTwoPolicy: PolicyFactory = (v, rng) => {
  const draw = weightedSampler(v, rng);
  return {
    name: 'power-of-two',
    pick: () => {
      const a = draw();
      let b = draw();
      for (let tries = 0; b === a && tries < 16; tries++) b = draw();
      return utilisation(v, b) < utilisation(v, a) ? b : a;
    },
  };
};

/** Every baseline by name (the `name` its policies report), in the order reports list them. */
export const BASELINES: Readonly<Record<string, PolicyFactory>> = Object.freeze({
  random: randomPolicy,
  'round-robin': roundRobinPolicy,
  'least-loaded': leastLoadedPolicy,
  'consistent-hash': consistentHashPolicy,
  'bounded-load': boundedLoadPolicy(),
  'power-of-two': powerOfTwoPolicy,
});

/** 32-bit FNV-1a, then murmur3's finaliser so that similar ids land far apart. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A hash ring with virtual nodes in proportion to capacity; asset → start point is memoised. */
export class HashRing {
  readonly points: number;
  readonly #pos: Uint32Array;
  readonly #owner: Int32Array;
  readonly #startOf = new Map<number, number>();

  constructor(v: ClusterView) {
    const nodes: [number, number][] = [];
    for (let s = 0; s < v.size; s++) {
      const n = Math.max(1, Math.round((v.capacityMbps[s]! / 1000) * VNODES_PER_GBPS));
      for (let k = 0; k < n; k++) nodes.push([hash32(`${v.ids[s]}#${k}`), s]);
    }
    nodes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = nodes.length;
    this.#pos = Uint32Array.from(nodes, (n) => n[0]);
    this.#owner = Int32Array.from(nodes, (n) => n[1]);
  }

  /** Index of the first ring point at or after the asset's hash (wrapping). */
  start(asset: number, assetId: string): number {
    let i = this.#startOf.get(asset);
    if (i === undefined) {
      const h = hash32(assetId);
      let lo = 0;
      let hi = this.points;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#pos[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      i = lo % this.points;
      this.#startOf.set(asset, i);
    }
    return i;
  }

  /** Server owning ring point `i` (taken modulo the ring size). */
  owner(i: number): number {
    return this.#owner[i % this.points]!;
  }
}

/** A binary min-heap over item indices 0..n-1 with in-place key updates. */
export class IndexedMinHeap {
  readonly #heap: Int32Array;
  readonly #at: Int32Array;
  readonly #key: Float64Array;
  readonly #keyOf: (i: number) => number;

  constructor(n: number, keyOf: (i: number) => number) {
    this.#keyOf = keyOf;
    this.#heap = new Int32Array(n);
    this.#at = new Int32Array(n);
    this.#key = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.#heap[i] = i;
      this.#at[i] = i;
      this.#key[i] = keyOf(i);
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  top(): number {
    return this.#heap[0]!;
  }

  /** Re-reads item `i`'s key and restores the heap order. */
  update(i: number): void {
    this.#key[i] = this.#keyOf(i);
    const p = this.#at[i]!;
    this.#up(p);
    this.#down(this.#at[i]!);
  }

  #less(a: number, b: number): boolean {
    const ka = this.#key[a]!;
    const kb = this.#key[b]!;
    return ka < kb || (ka === kb && a < b);
  }

  #swap(p: number, q: number): void {
    const a = this.#heap[p]!;
    const b = this.#heap[q]!;
    this.#heap[p] = b;
    this.#heap[q] = a;
    this.#at[b] = p;
    this.#at[a] = q;
  }

  #up(p: number): void {
    while (p > 0) {
      const parent = (p - 1) >> 1;
      if (!this.#less(this.#heap[p]!, this.#heap[parent]!)) return;
      this.#swap(p, parent);
      p = parent;
    }
  }

  #down(p: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.#less(this.#heap[r]!, this.#heap[l]!) ? r : l;
      if (!this.#less(this.#heap[c]!, this.#heap[p]!)) return;
      this.#swap(p, c);
      p = c;
    }
  }
}
