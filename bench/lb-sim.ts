// Cluster simulator: 100 servers with the real block caches, state table, director policy and
// director rotation on a fake clock; one arrival trace replayed through Baton and the baselines.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CachePolicy as CachePolicyName, createCache, DEFAULT_PREFIX_MS, type BlockCache, type CacheOptions, type CachePolicy, type StreamHandle } from '../node-app/cache/index.js';
import { nextDirector } from '../signaling/policies/rotation.js';
import { DEFAULT_LOAD_BOUND, placeViewer, selectServer } from '../node-app/policies/select.js';
import { DEFAULT_LOAD_WEIGHTS, type LoadWeights } from '../signaling/protocol/load-factor.js';
import { StateTable } from '../signaling/protocol/state-table.js';
import type { AssetInfo, DirectorInfo } from '../signaling/protocol/types.js';
import { seededRng } from '../test/helpers/seeded-rng.js';
import { BASELINES, type ClusterView, type LbPolicy, type PlaceRequest } from './lb-policies.js';
import { smallClusterFigures } from './lb-small.js';
import { sweepFigures, sweepJobs } from './lb-sweep.js';

/** The production modules the simulator runs, exposed so a test can check they are the real ones. */
export const PRODUCTION = Object.freeze({ selectServer, placeViewer, nextDirector, createCache, StateTable });

// ---- workload -------------------------------------------------------------------------

export interface SimAsset {
  id: string;
  bytes: number;
  /** Integer bits per second: loads are summed exactly. */
  bitrateBps: number;
  durationMs: number;
}

export interface SimServer {
  id: string;
  uplinkMbps: number;
  maxSessions: number;
  cacheBytes: number;
}

/** Viewer arrivals, sorted by time: viewer i asks for `asset[i]` at `atMs[i]`. */
export interface Arrivals {
  atMs: Float64Array;
  asset: Int32Array;
}

export interface Workload {
  servers: SimServer[];
  assets: SimAsset[];
  arrivals: Arrivals;
  /** Loads are measured from here on: by then the viewer population is stationary. */
  warmupMs: number;
}

/** Knobs of the generated workload; every figure in bench/README.md names the values it used. */
export interface WorkloadParams {
  seed: number;
  requests: number;
  servers: number;
  /** Every server whose index mod 10 is below this has `bigUplinkMbps`, the rest `uplinkMbps`. */
  bigPerTen: number;
  uplinkMbps: number;
  bigUplinkMbps: number;
  /** Cache budget per Gbit/s of uplink (bytes). */
  cacheBytesPerGbps: number;
  assets: number;
  zipfAlpha: number;
  /** Asset durations and bitrates are log-uniform between these bounds. */
  minDurationMs: number;
  maxDurationMs: number;
  minBitrateBps: number;
  maxBitrateBps: number;
  /** Mean cluster egress ÷ uplink the arrival rate is set for. */
  utilisation: number;
}

export const DEFAULT_WORKLOAD: Readonly<WorkloadParams> = Object.freeze({
  seed: 20240611,
  requests: 1_000_000,
  servers: 100,
  bigPerTen: 3,
  uplinkMbps: 1_000,
  bigUplinkMbps: 2_000,
  cacheBytesPerGbps: 4 * 2 ** 30,
  assets: 10_000,
  zipfAlpha: 1.1,
  minDurationMs: 2 * 60_000,
  maxDurationMs: 120 * 60_000,
  minBitrateBps: 1_000_000,
  maxBitrateBps: 8_000_000,
  utilisation: 0.6,
});

const logUniform = (u: number, lo: number, hi: number) => lo * Math.exp(u * Math.log(hi / lo));

/**
 * Builds the catalog, the servers and a Poisson arrival trace with Zipf
 * popularity (popularity ranks are a random permutation of the catalog, so
 * neither ids nor sizes correlate with popularity). The arrival rate makes the
 * expected egress `utilisation` × total uplink.
 */
export function makeWorkload(p: WorkloadParams): Workload {
  const rng = seededRng(p.seed);
  const assets: SimAsset[] = [];
  for (let i = 0; i < p.assets; i++) {
    const durationMs = Math.round(logUniform(rng(), p.minDurationMs, p.maxDurationMs));
    const bitrateBps = Math.round(logUniform(rng(), p.minBitrateBps, p.maxBitrateBps) / 1000) * 1000;
    assets.push({ id: `asset-${String(i).padStart(5, '0')}`, bytes: Math.round((bitrateBps / 8) * (durationMs / 1000)), bitrateBps, durationMs });
  }
  // Zipf over ranks, ranks shuffled over assets (Fisher–Yates).
  const byRank = Int32Array.from({ length: p.assets }, (_, i) => i);
  for (let i = p.assets - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [byRank[i], byRank[j]] = [byRank[j]!, byRank[i]!];
  }
  const cdf = new Float64Array(p.assets);
  let acc = 0;
  for (let r = 0; r < p.assets; r++) cdf[r] = acc += (r + 1) ** -p.zipfAlpha;
  let bitsPerRequest = 0;
  let msPerRequest = 0;
  for (let r = 0; r < p.assets; r++) {
    const a = assets[byRank[r]!]!;
    const pr = (r + 1) ** -p.zipfAlpha / acc;
    bitsPerRequest += pr * a.bitrateBps * (a.durationMs / 1000);
    msPerRequest += pr * a.durationMs;
  }
  /** Mean bitrate of a viewer present at a random instant: sizes the session slots like the uplink. */
  const concurrentMeanBps = (bitsPerRequest / msPerRequest) * 1000;

  const servers: SimServer[] = [];
  for (let i = 0; i < p.servers; i++) {
    const uplinkMbps = i % 10 < p.bigPerTen ? p.bigUplinkMbps : p.uplinkMbps;
    servers.push({
      id: `srv-${String(i).padStart(3, '0')}`,
      uplinkMbps,
      maxSessions: Math.round((uplinkMbps * 1e6) / concurrentMeanBps),
      cacheBytes: Math.round((uplinkMbps / 1000) * p.cacheBytesPerGbps),
    });
  }
  const capacityBps = servers.reduce((s, x) => s + x.uplinkMbps * 1e6, 0);
  const perMs = (p.utilisation * capacityBps) / bitsPerRequest / 1000;

  const atMs = new Float64Array(p.requests);
  const asset = new Int32Array(p.requests);
  let t = 0;
  for (let i = 0; i < p.requests; i++) {
    t += -Math.log(1 - rng()) / perMs;
    atMs[i] = t;
    const u = rng() * acc;
    let lo = 0;
    let hi = p.assets - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    asset[i] = byRank[lo]!;
  }
  return { servers, assets, arrivals: { atMs, asset }, warmupMs: p.maxDurationMs };
}

// ---- Baton's director as a policy -------------------------------------------------------

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

// ---- the simulator ------------------------------------------------------------------------

/** Servers report their load this often (the media server's default heartbeat). */
export const DEFAULT_HEARTBEAT_MS = 1_000;
/** The baton moves this often (the hub's default rotation). */
export const DEFAULT_ROTATION_MS = 30_000;

export interface SimOptions {
  /** Block size of every cache and of every read (bytes). */
  blockBytes: number;
  cachePolicy?: CachePolicy;
  /** Prefix length of the interval cache; default: 30 s, or one block of the slowest asset if longer. */
  prefixMs?: number;
  /** Servers report their load this often; loads are also sampled at this period. Default `DEFAULT_HEARTBEAT_MS`. */
  heartbeatMs?: number;
  /** The baton moves this often (0 = never). Default `DEFAULT_ROTATION_MS`. */
  rotationMs?: number;
  /** Measurement window for loads; default [workload.warmupMs, last arrival]. */
  measureFromMs?: number;
  measureUntilMs?: number;
  /** Seed of the policy's own randomness (random, power of two). */
  seed?: number;
  /** Makes each server's cache. Default: the production `createCache`; `nullCache` measures the simulator alone. */
  cacheFactory?: (opts: CacheOptions) => BlockCache;
}

/**
 * A cache that never holds anything (every read goes to storage): with it a
 * replay costs only the simulator, the state table and the policy, which is
 * how bench/README.md separates the simulator's cost from the cache's. Each
 * handle is one small object with its methods on the prototype, as the real
 * caches' are (closures would add objects to every block read and overstate
 * the simulator's own cost).
 */
export function nullCache(opts: CacheOptions): BlockCache {
  const blockBytes = opts.blockBytes ?? 64 * 1024;
  const counters = new NullCounters();
  return {
    policy: opts.policy,
    budgetBytes: opts.budgetBytes,
    usedBytes: 0,
    blockBytes,
    openStream: (assetId) => {
      counters.openStreams++;
      return new NullStream(assetId, counters);
    },
    holds: () => false,
    assets: () => [],
    heldBlocks: () => [],
    onChange: () => () => undefined,
    stats: () => ({ hits: 0, misses: 0, hitBytes: 0, missBytes: counters.missBytes, insertedBlocks: 0, droppedBlocks: 0, refusedBlocks: 0, peakBytes: 0, openStreams: counters.openStreams, pairs: 0, cachedPairs: 0, listenerErrors: 0 }),
  };
}

class NullCounters {
  missBytes = 0;
  openStreams = 0;
}

class NullStream implements StreamHandle {
  #open = true;

  constructor(
    readonly assetId: string,
    readonly counters: NullCounters,
  ) {}

  get(): undefined {
    return undefined;
  }

  put(_block: number, bytes: Uint8Array): boolean {
    if (this.#open) this.counters.missBytes += bytes.length;
    return false;
  }

  seek(): void {}

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.counters.openStreams--;
  }
}

export interface SimResult {
  policy: string;
  requests: number;
  rejected: number;
  /** Bytes every viewer read, from storage or from a cache, over the whole run. */
  viewerBytes: number;
  cacheBytes: number;
  storageBytes: number;
  /**
   * The same, for block reads inside the measurement window only (steady state).
   * Read times do not depend on the policy, so every policy reads the same window bytes.
   */
  windowViewerBytes: number;
  windowCacheBytes: number;
  windowStorageBytes: number;
  /** windowCacheBytes ÷ windowViewerBytes. */
  cacheServedShare: number;
  /** Peak over the window of (most utilised server ÷ cluster utilisation), sampled each heartbeat; NaN without samples. */
  maxMeanLoad: number;
  /** The same ratio averaged over the window's samples. */
  maxMeanLoadAvg: number;
  /** Mean cluster utilisation (egress ÷ uplink) over the window. */
  meanUtilisation: number;
  /** The sample with the peak ratio: which server, and how full its uplink and session slots were. */
  peak: { server: string; atMs: number; egressUtil: number; sessionUtil: number; clusterUtil: number } | null;
  samples: number;
  blockReads: number;
  simulatedMs: number;
  wallMs: number;
  /** The caches' own counters, summed: must agree with the simulator's accounting. */
  cacheHitBytes: number;
  cacheMissBytes: number;
  extra: Record<string, number>;
}

/**
 * The viewers' pending events, (time, viewer), earliest first, ties broken by
 * viewer: a calendar queue. Each viewer on the air has exactly one pending
 * event (its next block read or its departure). Time is cut into buckets of
 * `BUCKET_MS`; a ring of `SLOTS` buckets keeps each future event in a linked
 * list threaded through the viewers' records, so queueing one allocates
 * nothing and costs a few writes. The earliest bucket's events are taken out
 * and sorted (a handful at a time) into the *run*; an event that falls at or
 * before that bucket (an arrival's first read, a departure just after the last
 * read) is inserted into the run in order. Invariant: every run event's bucket
 * ≤ `#bucket` < every listed event's bucket, so the run's first is the earliest.
 *
 * The records (`rec`, `STRIDE` numbers per viewer) also carry the simulator's
 * own per-viewer fields from `FIRST_FREE_FIELD` on: taking an event out of its
 * bucket brings the viewer's whole record into the CPU cache at once.
 */
class EventQueue {
  static readonly STRIDE = 6;
  static readonly FIRST_FREE_FIELD = 2;
  /** ≈ 4 events per bucket at full scale (≈ 27,000 viewers reading every 8–67 s). */
  static readonly BUCKET_MS = 4;
  /** The ring spans 2^15 × 4 ms ≈ 131 s; an event further ahead waits in its slot for later laps. */
  static readonly SLOTS = 1 << 15;
  /** Viewer v's record from `STRIDE × v`: the time of its pending event, the next viewer in the same slot (-1 ends), then the owner's fields. */
  rec = new Float64Array(EventQueue.STRIDE * 1024);
  readonly #head = new Int32Array(EventQueue.SLOTS).fill(-1);
  /** The run: sorted events from index `#r0` to `#r1`. */
  #runT = new Float64Array(64);
  #runV = new Int32Array(64);
  #r0 = 0;
  #r1 = 0;
  #bucket = -1;
  size = 0;

  topTime(): number {
    if (this.#r0 === this.#r1 && !this.#fill()) return Infinity;
    return this.#runT[this.#r0]!;
  }

  /** The viewer of the earliest event; call after `topTime`. */
  topViewer(): number {
    return this.#runV[this.#r0]!;
  }

  push(t: number, v: number): void {
    this.size++;
    const b = Math.floor(t / EventQueue.BUCKET_MS);
    if (b <= this.#bucket) return this.#insertRun(t, v);
    const slot = b % EventQueue.SLOTS;
    const i = EventQueue.STRIDE * v;
    this.rec[i] = t;
    this.rec[i + 1] = this.#head[slot]!;
    this.#head[slot] = v;
  }

  /** Replaces the earliest event (the one `topTime` returned) with (t, v). */
  replaceTop(t: number, v: number): void {
    this.pop();
    this.push(t, v);
  }

  pop(): void {
    this.size--;
    if (++this.#r0 === this.#r1) this.#r0 = this.#r1 = 0;
  }

  /** Moves on to the next bucket holding events and sorts them into the run; false when empty. */
  #fill(): boolean {
    if (this.size === 0) return false;
    const rec = this.rec;
    const head = this.#head;
    for (;;) {
      const b = ++this.#bucket;
      const slot = b % EventQueue.SLOTS;
      let prev = -1;
      for (let v = head[slot]!; v >= 0; ) {
        const t = rec[EventQueue.STRIDE * v]!;
        const after = rec[EventQueue.STRIDE * v + 1]!;
        if (Math.floor(t / EventQueue.BUCKET_MS) === b) {
          if (prev < 0) head[slot] = after;
          else rec[EventQueue.STRIDE * prev + 1] = after;
          this.#insertRun(t, v);
        } else {
          prev = v;
        }
        v = after;
      }
      if (this.#r1 > this.#r0) return true;
    }
  }

  /** Inserts into the run in (time, viewer) order; runs are short, so from the end. */
  #insertRun(t: number, v: number): void {
    if (this.#r1 === this.#runT.length) {
      const n = this.#r1 - this.#r0;
      const t2 = new Float64Array(Math.max(64, 2 * n));
      const v2 = new Int32Array(t2.length);
      t2.set(this.#runT.subarray(this.#r0, this.#r1));
      v2.set(this.#runV.subarray(this.#r0, this.#r1));
      this.#runT = t2;
      this.#runV = v2;
      this.#r0 = 0;
      this.#r1 = n;
    }
    const T = this.#runT;
    const V = this.#runV;
    let i = this.#r1++;
    while (i > this.#r0) {
      const tp = T[i - 1]!;
      if (tp < t || (tp === t && V[i - 1]! < v)) break;
      T[i] = tp;
      V[i] = V[i - 1]!;
      i--;
    }
    T[i] = t;
    V[i] = v;
  }

  /** Makes room for viewer v's record (call before filling it in). */
  reserve(v: number): void {
    if (EventQueue.STRIDE * (v + 1) <= this.rec.length) return;
    const grown = new Float64Array(2 * this.rec.length);
    grown.set(this.rec);
    this.rec = grown;
  }
}

/**
 * Replays `w.arrivals` through one policy. Event-driven on a fake clock; at
 * equal times viewer events (block reads, departures) come first, then the
 * heartbeat (load reports + load sample), then the rotation, then arrivals.
 *
 * Every server stores every asset (so every policy may pick any server) and has
 * a real cache (`createCache`). A viewer streams its whole asset at its bitrate:
 * block b is read at start + b × block time, through the cache exactly as the
 * media server's cached reader does (get; on a miss, read from storage and put).
 * Cache changes reach the state table at once (the server reports them
 * immediately); loads (sessions, egress, CPU modelled as egress ÷ uplink) on the
 * next heartbeat. The director is rotated with the real `nextDirector`.
 */
export function simulate(w: Workload, factory: SimPolicyFactory, opts: SimOptions): SimResult {
  const wall0 = performance.now();
  const B = opts.blockBytes;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const rotationMs = opts.rotationMs ?? DEFAULT_ROTATION_MS;
  const n = w.servers.length;
  const ids = w.servers.map((s) => s.id);
  for (let i = 1; i < n; i++) if (!(ids[i - 1]! < ids[i]!)) throw new Error('server ids must be unique and ascending');
  const index = new Map(ids.map((id, i) => [id, i]));
  const assets = w.assets;
  const minBitrate = Math.min(...assets.map((a) => a.bitrateBps));
  const prefixMs = opts.prefixMs ?? Math.max(DEFAULT_PREFIX_MS, Math.ceil((B * 8000) / minBitrate));

  const table = new PRODUCTION.StateTable();
  const storage: AssetInfo[] = assets.map((a) => ({ id: a.id, bytes: a.bytes, mime: 'video/webm', durationMs: a.durationMs, bitrateBps: a.bitrateBps }));
  const idle = { sessions: 0, egressMbps: 0, cpu: 0 };
  for (const s of w.servers) {
    const entry = { id: s.id, region: 'sim', lat: 0, lon: 0, roles: ['edge' as const], maxSessions: s.maxSessions, uplinkMbps: s.uplinkMbps };
    table.commit({ type: 'server-joined', server: { ...entry, joinedAtMs: 0, load: idle, cache: [], storage, live: [] } });
  }
  const caches: BlockCache[] = w.servers.map((s) => {
    const c = (opts.cacheFactory ?? PRODUCTION.createCache)({ policy: opts.cachePolicy ?? 'interval', budgetBytes: s.cacheBytes, blockBytes: B, prefixMs });
    c.onChange((ch) => {
      if (ch.added.length) table.commit({ type: 'cache-add', id: s.id, assets: ch.added });
      if (ch.removed.length) table.commit({ type: 'cache-remove', id: s.id, assets: ch.removed });
    });
    return c;
  });

  // Loads in integer bit/s so that adding and removing viewers never drifts.
  const loadBps = new Float64Array(n);
  let totalBps = 0;
  const capBps = Float64Array.from(w.servers, (s) => s.uplinkMbps * 1e6);
  const totalCapBps = capBps.reduce((a, b) => a + b, 0);
  const sessions = new Int32Array(n);
  const dirty = new Uint8Array(n);
  const dirtyList: number[] = [];
  const view: SimView = {
    size: n,
    ids,
    capacityMbps: Float64Array.from(w.servers, (s) => s.uplinkMbps),
    loadMbps: new Float64Array(n),
    totalLoadMbps: () => totalBps / 1e6,
    totalCapacityMbps: totalCapBps / 1e6,
    table,
    indexOf: (id) => index.get(id) ?? -1,
  };
  const policy = factory(view, seededRng(opts.seed ?? 1));
  const setLoad = (s: number, deltaBps: number, deltaSessions: number) => {
    loadBps[s]! += deltaBps;
    totalBps += deltaBps;
    sessions[s]! += deltaSessions;
    view.loadMbps[s] = loadBps[s]! / 1e6;
    if (!dirty[s]) {
      dirty[s] = 1;
      dirtyList.push(s);
    }
    policy.loadChanged?.(s);
  };

  // Records in flat typed arrays, one record per asset and per viewer, its fields side by side: a
  // block read touches one cache line of each instead of one per field (the simulator is memory-bound).
  // Per asset: block count, block time (ms), duration (ms), bitrate (bit/s).
  const A_BLOCKS = 0;
  const A_BLOCK_MS = 1;
  const A_DURATION_MS = 2;
  const A_BITRATE = 3;
  const aRec = new Float64Array(4 * assets.length);
  assets.forEach((a, i) => {
    aRec[4 * i + A_BLOCKS] = Math.ceil(a.bytes / B);
    aRec[4 * i + A_BLOCK_MS] = (B * 8000) / a.bitrateBps;
    aRec[4 * i + A_DURATION_MS] = a.durationMs;
    aRec[4 * i + A_BITRATE] = a.bitrateBps;
  });
  const full = new Uint8Array(B);
  const tails = assets.map((a) => (a.bytes % B === 0 ? full : full.subarray(0, a.bytes % B)));

  // Per viewer (slots recycled), in the event queue's records: asset, next block, start time (ms), server.
  const events = new EventQueue();
  const R = EventQueue.STRIDE;
  const V_ASSET = EventQueue.FIRST_FREE_FIELD;
  const V_NEXT = V_ASSET + 1;
  const V_START = V_ASSET + 2;
  const V_SERVER = V_ASSET + 3;
  const vHandle: (StreamHandle | null)[] = [];
  const free: number[] = [];
  let used = 0;
  const alloc = (): number => {
    if (free.length > 0) return free.pop()!;
    events.reserve(used);
    return used++;
  };

  // Byte counters live in a typed array: plain `let` doubles captured by closures are boxed on every write.
  const CACHE = 0;
  const STORAGE = 1;
  const WINDOW_CACHE = 2;
  const WINDOW_STORAGE = 3;
  const BLOCK_READS = 4;
  const count = new Float64Array(5);
  let rejected = 0;

  const arrivalsAt = w.arrivals.atMs;
  const lastArrivalMs = arrivalsAt.length > 0 ? arrivalsAt[arrivalsAt.length - 1]! : 0;
  const fromMs = opts.measureFromMs ?? w.warmupMs;
  const untilMs = opts.measureUntilMs ?? lastArrivalMs;

  const viewerEvent = (v: number, t: number) => {
    const vRec = events.rec;
    const rec = R * v;
    const a = vRec[rec + V_ASSET]!;
    const b = vRec[rec + V_NEXT]!;
    const h = vHandle[v]!;
    const blocks = aRec[4 * a + A_BLOCKS]!;
    if (b < blocks) {
      const last = b === blocks - 1;
      const bytes = last ? tails[a]! : full;
      const len = bytes.length;
      const inWindow = t >= fromMs && t <= untilMs;
      count[BLOCK_READS]!++;
      if (h.get(b, t) !== undefined) {
        count[CACHE]! += len;
        if (inWindow) count[WINDOW_CACHE]! += len;
      } else {
        count[STORAGE]! += len;
        if (inWindow) count[WINDOW_STORAGE]! += len;
        h.put(b, bytes, t);
      }
      vRec[rec + V_NEXT] = b + 1;
      events.replaceTop(vRec[rec + V_START]! + (last ? aRec[4 * a + A_DURATION_MS]! : (b + 1) * aRec[4 * a + A_BLOCK_MS]!), v);
      return;
    }
    events.pop();
    h.close(t);
    vHandle[v] = null;
    setLoad(vRec[rec + V_SERVER]!, -aRec[4 * a + A_BITRATE]!, -1);
    free.push(v);
  };

  const arrival = (i: number, t: number) => {
    const a = w.arrivals.asset[i]!;
    const asset = assets[a]!;
    const s = policy.pick({ asset: a, assetId: asset.id, bitrateMbps: asset.bitrateBps / 1e6, now: t });
    if (s < 0) {
      rejected++;
      return;
    }
    const v = alloc();
    const vRec = events.rec;
    vRec[R * v + V_ASSET] = a;
    vRec[R * v + V_NEXT] = 0;
    vRec[R * v + V_START] = t;
    vRec[R * v + V_SERVER] = s;
    vHandle[v] = caches[s]!.openStream(asset.id, t, { assetBytes: asset.bytes, bitrateBps: asset.bitrateBps });
    setLoad(s, asset.bitrateBps, 1);
    events.push(t, v); // block 0, right away
  };

  let samples = 0;
  let peakRatio = 0;
  let sumRatio = 0;
  let sumUtil = 0;
  let peak: SimResult['peak'] = null;
  const heartbeat = (t: number) => {
    for (const s of dirtyList) {
      dirty[s] = 0;
      const egressMbps = loadBps[s]! / 1e6;
      table.commit({ type: 'load', id: ids[s]!, load: { sessions: sessions[s]!, egressMbps, cpu: Math.min(1, loadBps[s]! / capBps[s]!) } });
    }
    dirtyList.length = 0;
    if (t < fromMs || t > untilMs || totalBps === 0) return;
    let max = 0;
    let argmax = 0;
    for (let s = 0; s < n; s++) {
      const u = loadBps[s]! / capBps[s]!;
      if (u > max) [max, argmax] = [u, s];
    }
    const mean = totalBps / totalCapBps;
    const ratio = max / mean;
    samples++;
    sumRatio += ratio;
    sumUtil += mean;
    if (ratio > peakRatio) {
      peakRatio = ratio;
      peak = { server: ids[argmax]!, atMs: t, egressUtil: max, sessionUtil: sessions[argmax]! / w.servers[argmax]!.maxSessions, clusterUtil: mean };
    }
  };

  let director: DirectorInfo | null = PRODUCTION.nextDirector(table, null, 0, 'vacant');
  table.commit({ type: 'director', director });
  let nextBeat = heartbeatMs;
  let nextRotation = rotationMs > 0 ? rotationMs : Infinity;
  let ai = 0;
  let now = 0;
  for (;;) {
    const tv = events.topTime();
    const ta = ai < arrivalsAt.length ? arrivalsAt[ai]! : Infinity;
    if (tv === Infinity && ta === Infinity) break;
    const tc = Math.min(nextBeat, nextRotation);
    if (tv <= tc && tv <= ta) {
      now = tv;
      viewerEvent(events.topViewer(), tv);
    } else if (tc <= ta) {
      now = tc;
      if (nextBeat <= nextRotation) {
        heartbeat(nextBeat);
        nextBeat += heartbeatMs;
      } else {
        director = PRODUCTION.nextDirector(table, director, nextRotation, 'timer');
        table.commit({ type: 'director', director });
        nextRotation += rotationMs;
      }
    } else {
      now = ta;
      arrival(ai++, ta);
    }
  }

  let cacheHitBytes = 0;
  let cacheMissBytes = 0;
  for (const c of caches) {
    const st = c.stats();
    if (st.listenerErrors > 0) throw new Error('a cache change listener threw: the state table missed a change');
    cacheHitBytes += st.hitBytes;
    cacheMissBytes += st.missBytes;
  }
  const [cacheBytes, storageBytes, windowCacheBytes, windowStorageBytes, blockReads] = count;
  const viewerBytes = cacheBytes + storageBytes;
  return {
    policy: policy.name,
    requests: arrivalsAt.length,
    rejected,
    viewerBytes,
    cacheBytes,
    storageBytes,
    windowViewerBytes: windowCacheBytes + windowStorageBytes,
    windowCacheBytes,
    windowStorageBytes,
    cacheServedShare: windowCacheBytes + windowStorageBytes > 0 ? windowCacheBytes / (windowCacheBytes + windowStorageBytes) : NaN,
    maxMeanLoad: samples > 0 ? peakRatio : NaN,
    maxMeanLoadAvg: samples > 0 ? sumRatio / samples : NaN,
    meanUtilisation: samples > 0 ? sumUtil / samples : NaN,
    peak,
    samples,
    blockReads,
    simulatedMs: now,
    wallMs: performance.now() - wall0,
    cacheHitBytes,
    cacheMissBytes,
    extra: policy.figures?.() ?? {},
  };
}

// ---- the bench suite: every policy on one trace, two at a time in child processes ----------

/** One scale of the suite: the workload and the block size. */
export interface LbScale {
  workload: WorkloadParams;
  blockBytes: number;
}

const MIB = 2 ** 20;

/**
 * Full scale: 100 servers, 10,000 assets, 8 MiB blocks (≈ 20 s of media at the
 * mean bitrate). The first 2 h of the trace (≈ 113,000 requests) are warm-up.
 * With the real interval cache a replay costs ≈ 1.5 µs per block read, ≈ 75
 * block reads per request once the viewer population is stationary (see
 * bench/README.md): ≈ 25 CPU-s per policy for 200,000 requests, ≈ 2 CPU-min
 * for 1,000,000.
 */
export const FULL_SCALE: LbScale = { workload: { ...DEFAULT_WORKLOAD, requests: 200_000 }, blockBytes: 8 * MIB };

/**
 * Quick scale: a fifth of the cluster and of the catalog (same load, cache and
 * catalog share per server, same block size), 30,000 requests (≈ 1 h measured
 * after the 2-h warm-up).
 */
export const QUICK_SCALE: LbScale = { workload: { ...DEFAULT_WORKLOAD, servers: 20, assets: 2_000, requests: 30_000 }, blockBytes: 8 * MIB };

/**
 * Full runs also time the simulator without the cache: Baton's director with
 * `nullCache` on this many requests at full scale, reported per 1,000,000
 * requests, to show what the simulator itself costs.
 */
export const NULL_CACHE_REQUESTS = 200_000;
const MILLION = 1_000_000;

/** Replays run side by side in child processes; the machine has two cores. */
const PARALLEL_RUNS = 2;
const WORKER_FLAG = '--lb-sim-worker';

interface Job {
  key: string;
  scale: LbScale;
  policy: string;
  nullCache?: boolean;
}
type ToWorker = Job | { exit: true };
type FromWorker = { key: string; result: SimResult; cpuMs: number } | { key: string; error: string };
type Done = Map<string, { result: SimResult; cpuMs: number }>;

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** The suite: `lb.*` figures for every policy, and the utilisation sweep (bench/README.md says what each one means). */
export async function benchLoadBalancing(opts: { quick: boolean }): Promise<Record<string, number>> {
  const scale = opts.quick ? QUICK_SCALE : FULL_SCALE;
  // Slowest first (the ones piling one asset's viewers onto one server), so the workers finish together.
  const order = ['consistent-hash', 'baton', 'bounded-load', 'baton-unbounded'];
  const names = [...order, ...Object.keys(POLICIES).filter((p) => !order.includes(p))];
  const jobs: Job[] = names.map((policy) => ({ key: policy, scale, policy }));
  if (!opts.quick) {
    const nullScale = { ...scale, workload: { ...scale.workload, requests: NULL_CACHE_REQUESTS } };
    jobs.splice(1, 0, { key: 'baton@null-cache', scale: nullScale, policy: 'baton', nullCache: true });
    // The speed bar: a million requests, the real cache, one policy, timed as a user would.
    jobs.unshift({ key: 'baton@1m', scale: { ...scale, workload: { ...scale.workload, requests: MILLION } }, policy: 'baton' });
  }
  jobs.push(...sweepJobs(QUICK_SCALE, Object.keys(POLICIES), opts.quick));
  const done: Done = new Map();
  await Promise.all(Array.from({ length: PARALLEL_RUNS }, () => runWorker(jobs, done)));

  const w = scale.workload;
  const f: Record<string, number> = {
    'lb.sim_servers': w.servers,
    'lb.sim_assets': w.assets,
    'lb.sim_requests': w.requests,
    'lb.sim_block_mib': scale.blockBytes / MIB,
  };
  for (const name of Object.keys(POLICIES)) {
    const r = done.get(name);
    if (!r) continue;
    const { result: s, cpuMs } = r;
    if (s.samples === 0) throw new Error(`${name}: the trace ends before its warm-up does; no load samples`);
    f[`lb.max_mean_load.${name}`] = round(s.maxMeanLoad, 3);
    f[`lb.cache_served_share.${name}`] = round(s.cacheServedShare, 4);
    f[`lb.storage_read_gbytes.${name}`] = round(s.windowStorageBytes / 1e9, 1);
    f[`lb.storage_read_gbytes_whole_run.${name}`] = round(s.storageBytes / 1e9, 1);
    f[`lb.max_mean_load_avg.${name}`] = round(s.maxMeanLoadAvg, 3);
    f[`lb.rejected_share.${name}`] = round(s.rejected / s.requests, 5);
    f[`lb.sim_cpu_us_per_request.${name}`] = round((cpuMs * 1000) / s.requests, 1);
    if (name === 'baton') {
      f['lb.mean_utilisation'] = round(s.meanUtilisation, 3);
      f['lb.viewer_gbytes'] = round(s.windowViewerBytes / 1e9, 1);
      f['lb.measured_hours'] = round((s.samples * (DEFAULT_HEARTBEAT_MS / 1000)) / 3600, 2);
      f['lb.sim_cpu_us_per_block_read.baton'] = round((cpuMs * 1000) / s.blockReads, 3);
      if (s.peak) {
        f['lb.baton_peak_server_egress_util'] = round(s.peak.egressUtil, 3);
        f['lb.baton_peak_server_session_util'] = round(s.peak.sessionUtil, 3);
      }
      for (const [reason, count] of Object.entries(s.extra)) f[`lb.baton_reason_share.${reason.replaceAll('-', '_')}`] = round(count / s.requests, 4);
    }
  }
  const batonRun = done.get('baton');
  if (batonRun) f['lb.sim_cpu_s_per_1m_requests.baton'] = round(batonRun.cpuMs / 1000 / (batonRun.result.requests / 1e6), 1);
  const million = done.get('baton@1m');
  if (million) {
    const { result: m } = million;
    f['lb.sim_wall_s_1m_requests.baton'] = round(m.wallMs / 1000, 1);
    f['lb.sim_cpu_s_1m_requests.baton'] = round(million.cpuMs / 1000, 1);
    f['lb.max_mean_load_1m.baton'] = round(m.maxMeanLoad, 3);
    f['lb.cache_served_share_1m.baton'] = round(m.cacheServedShare, 4);
    f['lb.measured_hours_1m'] = round((m.samples * (DEFAULT_HEARTBEAT_MS / 1000)) / 3600, 2);
  }
  Object.assign(f, sweepFigures((key) => done.get(key)?.result, Object.keys(POLICIES)));
  // 200 viewers of three short clips: milliseconds, so in this process.
  Object.assign(f, await smallClusterFigures(simulate, POLICIES));
  const bare = done.get('baton@null-cache');
  if (bare) {
    f['lb.sim_cpu_s_per_1m_requests_null_cache'] = round(bare.cpuMs / 1000 / (bare.result.requests / 1e6), 1);
    f['lb.sim_cpu_us_per_block_read.null_cache'] = round((bare.cpuMs * 1000) / bare.result.blockReads, 3);
  }
  return f;
}

async function runWorker(jobs: Job[], done: Done): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [WORKER_FLAG], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: 'inherit' });
  let pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | null = null;
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      pending?.reject(new Error(`lb-sim worker exited (${code}) mid-replay`));
      resolve();
    }),
  );
  child.on('message', (m) => pending?.resolve(m as FromWorker));
  try {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      if (exitCode !== undefined) throw new Error(`lb-sim worker exited (${exitCode})`);
      const reply = new Promise<FromWorker>((resolve, reject) => (pending = { resolve, reject }));
      child.send(job satisfies ToWorker);
      const r = await reply;
      pending = null;
      if ('error' in r) throw new Error(`${r.key}: ${r.error}`);
      done.set(r.key, { result: r.result, cpuMs: r.cpuMs });
      process.stderr.write(`[lb ${r.key}: ${(r.cpuMs / 1000).toFixed(0)} cpu-s] `);
    }
  } finally {
    if (child.connected) child.send({ exit: true } satisfies ToWorker);
    else if (exitCode === undefined) child.kill();
    await exited;
  }
}

/** Child side: builds each workload once, replays the jobs it is sent. */
function serveAsWorker(): void {
  const workloads = new Map<string, Workload>();
  process.on('message', (m: ToWorker) => {
    if ('exit' in m) return void process.disconnect();
    try {
      const wkey = JSON.stringify(m.scale.workload);
      let w = workloads.get(wkey);
      if (!w) workloads.set(wkey, (w = makeWorkload(m.scale.workload)));
      const factory = POLICIES[m.policy];
      if (!factory) throw new Error(`unknown policy ${m.policy}`);
      const cpu0 = process.cpuUsage();
      const result = simulate(w, factory, { blockBytes: m.scale.blockBytes, seed: m.scale.workload.seed, ...(m.nullCache ? { cacheFactory: nullCache } : {}) });
      const cpu = process.cpuUsage(cpu0);
      process.send!({ key: m.key, result, cpuMs: (cpu.user + cpu.system) / 1000 } satisfies FromWorker);
    } catch (err) {
      process.send!({ key: m.key, error: (err as Error).stack ?? String(err) } satisfies FromWorker);
    }
  });
}

/**
 * Exploring from the command line, one process, any scale:
 *   node bin/run-ts.js bench/lb-sim.ts [--policy baton,random] [--requests 100000] [--servers 100]
 *     [--assets 10000] [--utilisation 0.6] [--alpha 1.1] [--block-mib 8] [--null-cache]
 *     [--weights 0.5,0.3,0.2,0.85] [--bound 0.25] [--prefix-ms 30000] [--cache-policy gic]
 * `--weights` (sessions, egress, cpu, threshold) and `--bound` (see `batonPolicy`) add a
 * `baton-custom` policy: Baton's director with other load weights, for what-if runs.
 */
function cli(argv: string[]): void {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string', default: Object.keys(POLICIES).join(',') },
      requests: { type: 'string', default: String(FULL_SCALE.workload.requests) },
      servers: { type: 'string', default: String(DEFAULT_WORKLOAD.servers) },
      assets: { type: 'string', default: String(DEFAULT_WORKLOAD.assets) },
      utilisation: { type: 'string', default: String(DEFAULT_WORKLOAD.utilisation) },
      alpha: { type: 'string', default: String(DEFAULT_WORKLOAD.zipfAlpha) },
      'block-mib': { type: 'string', default: String(FULL_SCALE.blockBytes / MIB) },
      'null-cache': { type: 'boolean', default: false },
      weights: { type: 'string' },
      bound: { type: 'string' },
      'prefix-ms': { type: 'string' },
      'cache-policy': { type: 'string' },
    },
  });
  const cachePolicy = o['cache-policy'] as CachePolicy | undefined;
  if (cachePolicy !== undefined && !Object.values(CachePolicyName).includes(cachePolicy)) throw new Error(`unknown cache policy ${cachePolicy}; known: ${Object.values(CachePolicyName).join(', ')}`);
  const policies: Record<string, SimPolicyFactory> = { ...POLICIES };
  if (o.weights !== undefined || o.bound !== undefined) {
    const [sessions, egress, cpu, threshold] = (o.weights ?? '').split(',').map(Number);
    const weights = { ...DEFAULT_LOAD_WEIGHTS, ...(o.weights ? { sessions: sessions!, egress: egress!, cpu: cpu!, threshold: threshold! } : {}) };
    const bound = o.bound === undefined ? DEFAULT_LOAD_BOUND : o.bound === 'off' ? null : Number(o.bound);
    policies['baton-custom'] = batonPolicy('baton-custom', weights, bound);
  }
  const params: WorkloadParams = {
    ...DEFAULT_WORKLOAD,
    requests: Number(o.requests),
    servers: Number(o.servers),
    assets: Number(o.assets),
    utilisation: Number(o.utilisation),
    zipfAlpha: Number(o.alpha),
  };
  const w = makeWorkload(params);
  for (const name of o.policy.split(',')) {
    const factory = policies[name];
    if (!factory) throw new Error(`unknown policy ${name}; known: ${Object.keys(policies).join(', ')}`);
    const r = simulate(w, factory, {
      blockBytes: Math.round(Number(o['block-mib']) * MIB),
      seed: params.seed,
      ...(o['prefix-ms'] !== undefined ? { prefixMs: Number(o['prefix-ms']) } : {}),
      ...(cachePolicy !== undefined ? { cachePolicy } : {}),
      ...(o['null-cache'] ? { cacheFactory: nullCache } : {}),
    });
    const { policy, maxMeanLoad, maxMeanLoadAvg, cacheServedShare, windowStorageBytes: storageBytes, rejected, wallMs, blockReads, samples, peak, extra } = r;
    console.log(JSON.stringify({ policy, samples, maxMeanLoad: round(maxMeanLoad, 3), maxMeanLoadAvg: round(maxMeanLoadAvg, 3), peak, cacheServedShare: round(cacheServedShare, 4), storageGbytes: round(storageBytes / 1e9, 1), rejected, wallS: round(wallMs / 1000, 1), blockReads, extra }));
  }
}

if (process.argv.includes(WORKER_FLAG) && process.send) serveAsWorker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) cli(process.argv.slice(2));
