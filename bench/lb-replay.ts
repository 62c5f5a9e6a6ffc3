// The cluster simulator: one arrival trace replayed through a policy, with the real block caches, state table and rotation on a fake clock.
import {
  DEFAULT_CACHE_POLICY,
  DEFAULT_PREFIX_MS,
  type BlockCache,
  type CacheOptions,
  type CachePolicy,
  type StreamHandle,
} from '../node-app/cache/index.js';
import type { AssetInfo, DirectorInfo } from '../signaling/protocol/types.js';
import { seededRng } from '../test/helpers/seeded-rng.js';
import type { SimPolicyFactory, SimView } from './lb-policy.js';
import { PRODUCTION } from './lb-policy.js';
import type { Workload } from './lb-workload.js';
import { EventQueue } from './event-queue.js';

/** Servers report their load this often (the media server's default heartbeat). */
export const DEFAULT_HEARTBEAT_MS = 1_000;
/** The baton moves this often (the hub's default rotation). */
export const DEFAULT_ROTATION_MS = 30_000;

export interface SimOptions {
  /** Block size of every cache and of every read (bytes). */
  blockBytes: number;
  /** Every server's cache policy. Default: the media server's (`DEFAULT_CACHE_POLICY`, gic). */
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

export interface SimResult {
  policy: string;
  /** The cache policy every server ran. */
  cachePolicy: CachePolicy;
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
  const storage: AssetInfo[] = assets.map((a) => ({
    id: a.id,
    bytes: a.bytes,
    mime: 'video/webm',
    durationMs: a.durationMs,
    bitrateBps: a.bitrateBps,
  }));
  const idle = { sessions: 0, egressMbps: 0, cpu: 0 };
  for (const s of w.servers) {
    const entry = {
      id: s.id,
      region: 'sim',
      lat: 0,
      lon: 0,
      roles: ['edge' as const],
      maxSessions: s.maxSessions,
      uplinkMbps: s.uplinkMbps,
    };
    table.commit({ type: 'server-joined', server: { ...entry, joinedAtMs: 0, load: idle, cache: [], storage, live: [] } });
  }
  const cachePolicy = opts.cachePolicy ?? DEFAULT_CACHE_POLICY;
  const caches: BlockCache[] = w.servers.map((s) => {
    const c = (opts.cacheFactory ?? PRODUCTION.createCache)({
      policy: cachePolicy,
      budgetBytes: s.cacheBytes,
      blockBytes: B,
      prefixMs,
    });
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
      peak = {
        server: ids[argmax]!,
        atMs: t,
        egressUtil: max,
        sessionUtil: sessions[argmax]! / w.servers[argmax]!.maxSessions,
        clusterUtil: mean,
      };
    }
  };

  let director: DirectorInfo | null = PRODUCTION.nextDirector(table, null, 0, 'vacant');
  table.commit({ type: 'director', director });
  let nextBeat = heartbeatMs;
  let nextRotation = rotationMs > 0 ? rotationMs : Infinity;
  let ai = 0;
  let now = 0;
  let fills = 0;
  const ahead = new Int32Array(64);
  const aheadBlock = new Float64Array(64);
  for (;;) {
    const tv = events.topTime();
    if (events.fills !== fills) {
      // A bucket's events entered the run: the caches fetch what the next bucket's reads will touch, all
      // at once, so that it arrives while this bucket's events run (the replay is memory-bound).
      fills = events.fills;
      const vRec = events.rec;
      const len = events.nextBucketViewers(ahead);
      // First each viewer's record and handle (independent loads, in flight together; an asset id is
      // never empty, so the test only reads the handle), then what each cache will read for it.
      for (let k = 0; k < len; k++) {
        const v = ahead[k]!;
        const h = vHandle[v];
        aheadBlock[k] = h !== null && h !== undefined && h.assetId !== '' ? vRec[R * v + V_NEXT]! : -1;
      }
      for (let k = 0; k < len; k++) if (aheadBlock[k]! >= 0) vHandle[ahead[k]!]!.prefetch?.(aheadBlock[k]!);
    }
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
    cachePolicy,
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
