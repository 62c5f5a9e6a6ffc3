// Cluster simulator: 100 servers with the real block caches, state table, director policy and
// director rotation on a fake clock; one arrival trace replayed through Baton and the baselines.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CachePolicy as CachePolicyName, DEFAULT_CACHE_POLICY, type CachePolicy } from '../node-app/cache/index.js';
import { DEFAULT_LOAD_BOUND } from '../node-app/director/select.js';
import { DEFAULT_LOAD_WEIGHTS } from '../signaling/protocol/load-factor.js';
import { smallClusterFigures } from './lb-small.js';
import { sweepFigures, sweepJobs } from './lb-sweep.js';
import { boundedLoadPolicy } from './lb-policies.js';
import { DEFAULT_WORKLOAD, makeWorkload, type LbScale, type Workload, type WorkloadParams } from './lb-workload.js';
import { batonPolicy, POLICIES, PRODUCTION, WHAT_IFS, type SimPolicyFactory } from './lb-policy.js';
import { nullCache } from './lb-null-cache.js';
import { DEFAULT_HEARTBEAT_MS, simulate, type SimOptions, type SimResult } from './lb-replay.js';

// The pieces live in lb-workload, lb-policy, lb-replay and lb-null-cache; tests and the bench import them from here.
export { DEFAULT_WORKLOAD, makeWorkload, batonPolicy, POLICIES, PRODUCTION, nullCache, simulate };
export type { LbScale, Workload, WorkloadParams, SimPolicyFactory, SimOptions, SimResult };

// ---- the bench suite: every policy on one trace, two at a time in child processes ----------

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
export const QUICK_SCALE: LbScale = {
  workload: { ...DEFAULT_WORKLOAD, servers: 20, assets: 2_000, requests: 30_000 },
  blockBytes: 8 * MIB,
};

/**
 * Full runs also time the simulator without the cache: Baton's director with
 * `nullCache` on this many requests at full scale, reported per 1,000,000
 * requests, to show what the simulator itself costs.
 */
export const NULL_CACHE_REQUESTS = 200_000;
const MILLION = 1_000_000;

/**
 * Every replay runs the media server's default cache policy (gic) on every
 * server; these policies also replay the other cache policy, for comparison
 * (rows `….<policy>.interval`).
 */
export const COMPARED_CACHE_POLICIES: readonly CachePolicy[] = [CachePolicyName.interval];
export const CACHE_COMPARED_POLICIES: readonly string[] = ['baton', 'bounded-load'];

/** A replay's name in figure names: the director's policy, then the cache policy every server ran (`baton.gic`). */
export const runName = (policy: string, cache: CachePolicy) => `${policy}.${cache}`;

/** Replays run side by side in child processes; the machine has two cores. */
const PARALLEL_RUNS = 2;
const WORKER_FLAG = '--lb-sim-worker';

interface Job {
  key: string;
  scale: LbScale;
  policy: string;
  cachePolicy: CachePolicy;
  nullCache?: boolean;
}
type ToWorker = Job | { exit: true };
type FromWorker = { key: string; result: SimResult; cpuMs: number } | { key: string; error: string };
type Done = Map<string, { result: SimResult; cpuMs: number }>;

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** The suite: `lb.*` figures for every policy, and the utilisation sweep (bench/README.md says what each one means). */
export async function benchLoadBalancing(opts: { quick: boolean }): Promise<Record<string, number>> {
  const scale = opts.quick ? QUICK_SCALE : FULL_SCALE;
  const gic = DEFAULT_CACHE_POLICY;
  // Slowest first (the ones piling one asset's viewers onto one server), so the workers finish together.
  const order = ['consistent-hash', 'baton', 'bounded-load', 'baton-unbounded'];
  const names = [...order, ...Object.keys(POLICIES).filter((p) => !order.includes(p))];
  const runs: [string, CachePolicy][] = [
    ...names.map((p): [string, CachePolicy] => [p, gic]),
    ...COMPARED_CACHE_POLICIES.flatMap((c) => CACHE_COMPARED_POLICIES.map((p): [string, CachePolicy] => [p, c])),
  ];
  const jobs: Job[] = runs.map(([policy, cachePolicy]) => ({ key: runName(policy, cachePolicy), scale, policy, cachePolicy }));
  if (!opts.quick) {
    const nullScale = { ...scale, workload: { ...scale.workload, requests: NULL_CACHE_REQUESTS } };
    jobs.splice(1, 0, { key: 'baton@null-cache', scale: nullScale, policy: 'baton', cachePolicy: gic, nullCache: true });
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
  for (const [policy, cache] of runs) {
    const name = runName(policy, cache);
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
    if (policy === 'baton') {
      if (cache === gic) {
        f['lb.mean_utilisation'] = round(s.meanUtilisation, 3);
        f['lb.viewer_gbytes'] = round(s.windowViewerBytes / 1e9, 1);
        f['lb.measured_hours'] = round((s.samples * (DEFAULT_HEARTBEAT_MS / 1000)) / 3600, 2);
      }
      f[`lb.sim_cpu_us_per_block_read.${name}`] = round((cpuMs * 1000) / s.blockReads, 3);
      f[`lb.sim_cpu_s_per_1m_requests.${name}`] = round(cpuMs / 1000 / (s.requests / 1e6), 1);
      if (s.peak) {
        f[`lb.peak_server_egress_util.${name}`] = round(s.peak.egressUtil, 3);
        f[`lb.peak_server_session_util.${name}`] = round(s.peak.sessionUtil, 3);
      }
      for (const [reason, count] of Object.entries(s.extra))
        f[`lb.reason_share.${reason.replaceAll('-', '_')}.${name}`] = round(count / s.requests, 4);
    }
  }
  Object.assign(
    f,
    sweepFigures((key) => done.get(key)?.result, Object.keys(POLICIES)),
  );
  // 200 viewers of three short clips: milliseconds, so in this process.
  Object.assign(f, await smallClusterFigures(simulate, POLICIES));
  const bare = done.get('baton@null-cache');
  if (bare) {
    f['lb.sim_cpu_s_per_1m_requests_null_cache'] = round(bare.cpuMs / 1000 / (bare.result.requests / 1e6), 1);
    f['lb.sim_cpu_us_per_block_read.null_cache'] = round((bare.cpuMs * 1000) / bare.result.blockReads, 3);
  }
  return f;
}

/**
 * The suite `lb1m` (`npm run bench -- --only lb1m`; one size, so `--quick` changes nothing): the
 * issue's speed bar, Baton's director replaying 1,000,000 requests at full scale with the real
 * (default, gic) cache on every server, alone in one child process, timed as a user would.
 */
export async function benchMillion(): Promise<Record<string, number>> {
  const gic = DEFAULT_CACHE_POLICY;
  const scale = { ...FULL_SCALE, workload: { ...FULL_SCALE.workload, requests: MILLION } };
  const done: Done = new Map();
  await runWorker([{ key: 'baton@1m', scale, policy: 'baton', cachePolicy: gic }], done);
  const million = done.get('baton@1m');
  if (!million) throw new Error('the million-request replay returned nothing');
  const { result: m, cpuMs } = million;
  const name = runName('baton', m.cachePolicy);
  return {
    'lb.sim_requests_1m': m.requests,
    [`lb.sim_wall_s_1m_requests.${name}`]: round(m.wallMs / 1000, 1),
    [`lb.sim_cpu_s_1m_requests.${name}`]: round(cpuMs / 1000, 1),
    [`lb.max_mean_load_1m.${name}`]: round(m.maxMeanLoad, 3),
    [`lb.cache_served_share_1m.${name}`]: round(m.cacheServedShare, 4),
    'lb.measured_hours_1m': round((m.samples * (DEFAULT_HEARTBEAT_MS / 1000)) / 3600, 2),
  };
}

async function runWorker(jobs: Job[], done: Done): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [WORKER_FLAG], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: 'inherit',
  });
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
      const factory = POLICIES[m.policy] ?? WHAT_IFS[m.policy];
      if (!factory) throw new Error(`unknown policy ${m.policy}`);
      const cpu0 = process.cpuUsage();
      const result = simulate(w, factory, {
        blockBytes: m.scale.blockBytes,
        seed: m.scale.workload.seed,
        cachePolicy: m.cachePolicy,
        ...(m.nullCache ? { cacheFactory: nullCache } : {}),
      });
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
 *     [--weights 0.5,0.3,0.2,0.85] [--bound 0.25] [--prefix-ms 30000] [--cache-policy gic] [--bounded-cap 0.85]
 * `--weights` (sessions, egress, cpu, threshold) and `--bound` (see `batonPolicy`) add a
 * `baton-custom` policy: Baton's director with other load weights, for what-if runs;
 * `--bounded-cap` adds `bounded-load-capped`: bounded loads held to that share of each uplink.
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
      'bounded-cap': { type: 'string' },
    },
  });
  const cachePolicy = o['cache-policy'] as CachePolicy | undefined;
  if (cachePolicy !== undefined && !Object.values(CachePolicyName).includes(cachePolicy))
    throw new Error(`unknown cache policy ${cachePolicy}; known: ${Object.values(CachePolicyName).join(', ')}`);
  const policies: Record<string, SimPolicyFactory> = { ...POLICIES };
  if (o.weights !== undefined || o.bound !== undefined) {
    const [sessions, egress, cpu, threshold] = (o.weights ?? '').split(',').map(Number);
    const weights = {
      ...DEFAULT_LOAD_WEIGHTS,
      ...(o.weights ? { sessions: sessions!, egress: egress!, cpu: cpu!, threshold: threshold! } : {}),
    };
    const bound = o.bound === undefined ? DEFAULT_LOAD_BOUND : o.bound === 'off' ? null : Number(o.bound);
    policies['baton-custom'] = batonPolicy('baton-custom', weights, bound);
  }
  policies['bounded-load-capped'] =
    o['bounded-cap'] === undefined ? WHAT_IFS['bounded-load-capped']! : boundedLoadPolicy(undefined, Number(o['bounded-cap']));
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
    const {
      policy,
      cachePolicy: cache,
      maxMeanLoad,
      maxMeanLoadAvg,
      cacheServedShare,
      windowStorageBytes: storageBytes,
      rejected,
      wallMs,
      blockReads,
      samples,
      peak,
      extra,
    } = r;
    console.log(
      JSON.stringify({
        policy,
        cachePolicy: cache,
        samples,
        maxMeanLoad: round(maxMeanLoad, 3),
        maxMeanLoadAvg: round(maxMeanLoadAvg, 3),
        peak,
        cacheServedShare: round(cacheServedShare, 4),
        storageGbytes: round(storageBytes / 1e9, 1),
        rejected,
        wallS: round(wallMs / 1000, 1),
        blockReads,
        extra,
      }),
    );
  }
}

if (process.argv.includes(WORKER_FLAG) && process.send) serveAsWorker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) cli(process.argv.slice(2));
