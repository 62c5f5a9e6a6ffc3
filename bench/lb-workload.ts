// The simulated cluster's workload: servers, a Zipf catalog and a Poisson arrival trace, generated from a seed.
import { seededRng } from '../test/helpers/seeded-rng.js';

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
    assets.push({
      id: `asset-${String(i).padStart(5, '0')}`,
      bytes: Math.round((bitrateBps / 8) * (durationMs / 1000)),
      bitrateBps,
      durationMs,
    });
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

/** One scale of the suite: the workload and the block size. */
export interface LbScale {
  workload: WorkloadParams;
  blockBytes: number;
}
