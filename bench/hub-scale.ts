// Several hubs on one real redis-server (issue 16): the `hub` suite's join workload spread over 1, 2
// and 3 `baton hub --redis` processes, against the plain in-memory hub in the same run (joins/s at
// p99 ≤ 50 ms, hub CPU per join, Redis commands per join); then, on the 3-hub cluster, a paced
// viewer on hub A streaming from a server on hub B while B is SIGKILLed (gaps, bytes, sha256), and
// the time from the kill until a new watch through the surviving hubs gets its first byte.
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MEDIA_DIR, run, SECRET, THREE_SERVERS, waitFor, waitForOutput, type Proc } from '../test/helpers/cluster.js';
import { startRedis, type RedisProcess } from '../test/helpers/redis-process.js';
import { ensureDemoMedia } from '../scripts/make-demo-media.js';
import { watchStream } from '../node-app/delivery/node-viewer.js';
import { cpuSeconds, LoadGenerator, passes, runStep, schedSeconds, type StepResult } from './hub-load.js';

const GENERATORS = 2;
const HEARTBEAT_MS = 1_000;
/**
 * No rotation inside a run's steps: a cluster starts, then warms up 8 s per hub (24 s with 3), so the
 * `hub` suite's 30 s (the test cluster's default) would now fall in them.
 */
const ROTATION_MS = 120_000;
const ASSETS = ['demo-testsrc', 'demo-smpte', 'demo-mandelbrot'];
/** Stored on one server only (a link to demo-testsrc), so that a watch for it must reach that server. */
const ONLY_ON_B = 'hubbench-only-b';
/**
 * `warmupMs` is per hub, at WARMUP_PER_S: 4,000 joins, after which V8 has compiled the hub's join path
 * (perf, 2026-12-06: its compiler threads took 1.5–2.3 % of the hubs' CPU in the steps after it,
 * 18–25 % after the 500 joins a hub had before).
 */
const QUICK = { steps: [250, 500, 1_000, 2_000], stepMs: 2_000, warmupMs: 8_000 };
const FULL = { steps: [250, 500, 1_000, 1_500, 2_000, 2_500, 3_000, 3_500, 4_000], stepMs: 4_000, warmupMs: 8_000 };
/**
 * Every cluster runs every step up to this rate, passing or not, and its CPU and Redis commands
 * per join are counted over those steps alone: the figures compare the same offered load (a
 * cluster that went on to 2,000/s would otherwise average in its cheaper joins at that rate).
 */
const COMPARED_UP_TO_PER_S = 1_000;
/** Warm-up rate, joins/s; each hub of a cluster gets `warmupMs` of it (see `measureScale`). */
const WARMUP_PER_S = 500;
/** After a step (and the warm-up), before reading the counters: the last leaves reach the hubs. */
const SETTLE_MS = 300;
/**
 * The idle window: that rate × each step's time is subtracted. One second read 39–138 ms/s for the
 * same 3-hub cluster in runs of one code (2026-12-06, load 10–19); the hubs' timers run every
 * 0.25–5 s, so a longer window averages more of them.
 */
const IDLE_MS = 3_000;
/** The viewer's stream is cut this long after its first byte (paced delivery: a few seconds in). */
const KILL_AFTER_MS = 3_000;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const alive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

interface Hub extends Proc {
  url: string;
}

/** N hubs (on Redis, or one in memory when `redis` is undefined) and the three servers of `hub`, spread over them. */
class HubCluster {
  readonly hubs: Hub[] = [];
  readonly servers: Proc[] = [];
  readonly #tmp = mkdtempSync(join(tmpdir(), 'baton-hubbench-'));

  static async start(n: number, redisUrl: string | undefined): Promise<HubCluster> {
    const c = new HubCluster();
    try {
      await c.#start(n, redisUrl);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  async #start(n: number, redisUrl: string | undefined): Promise<void> {
    for (let i = 0; i < n; i++) {
      const p = run(
        [
          'hub',
          '--port',
          '0',
          ...(redisUrl ? ['--redis', redisUrl, '--hub-id', `hub-${'abc'[i]}`] : []),
          '--cluster-secret',
          SECRET,
          '--heartbeat-ms',
          String(HEARTBEAT_MS),
          '--rotation-ms',
          String(ROTATION_MS),
          '--stream-keys',
          'test-key',
          '--http-rate',
          '1000',
        ],
        // BATON_BENCH_HUB_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=DIR`) profiles the hubs alone.
        { BATON_LOG_LEVEL: 'warn', BATON_NODE_ARGS: process.env.BATON_BENCH_HUB_NODE_ARGS ?? '' },
      );
      this.hubs.push(Object.assign(p, { url: '' }));
    }
    // The hubs load geoip-lite and the gazetteer at the same time; wait for all of them.
    const urls = await Promise.all(this.hubs.map((h) => waitForOutput(h, /listening on (http:\/\/[^\s]+)/, 90_000)));
    urls.forEach((m, i) => {
      this.hubs[i]!.url = m[1]!;
    });
    // With 3 hubs the servers start on hub B or C (A keeps only clients): the failover viewer sits on A.
    const first = (i: number) => (n === 3 ? 1 + (i % 2) : i % n);
    THREE_SERVERS.forEach((spec, i) => {
      const storage = join(this.#tmp, spec.id);
      mkdirSync(storage);
      for (const a of ASSETS) linkSync(join(MEDIA_DIR, `${a}.webm`), join(storage, `${a}.webm`));
      if (i === 0) linkSync(join(MEDIA_DIR, 'demo-testsrc.webm'), join(storage, `${ONLY_ON_B}.webm`));
      const list = this.hubs.map((_, k) => this.hubs[(first(i) + k) % n]!.url).join(',');
      this.servers.push(
        run([
          'server',
          '--no-renditions',
          '--hub',
          list,
          '--cluster-secret',
          SECRET,
          '--id',
          spec.id,
          '--region',
          spec.region,
          '--lat',
          String(spec.lat),
          '--lon',
          String(spec.lon),
          '--storage',
          storage,
          '--cache-mb',
          '64',
          '--max-sessions',
          '100000',
          '--heartbeat-ms',
          String(HEARTBEAT_MS),
          '--ice-allow',
          'loopback,private',
        ]),
      );
    });
    await Promise.all(this.servers.map((p) => waitForOutput(p, /registered with hub/, 90_000)));
    // Every hub sees the three servers and a director before the load starts.
    for (const h of this.hubs)
      await waitFor(
        `hub ${h.url} sees 3 servers`,
        async () => {
          const s = (await (await fetch(`${h.url}/api/state`)).json()) as { servers: unknown[]; director: unknown };
          return s.servers.length === 3 && s.director !== null;
        },
        30_000,
        100,
      );
  }

  /**
   * Run and run-queue wait seconds of the hubs, the servers and `extra` (Redis) summed: a join's path
   * wakes several of them in turn, and on a busy machine each wake-up first waits for a CPU.
   */
  schedSeconds(extra: readonly number[]): { runS: number; waitS: number } {
    const pids = [...this.hubs, ...this.servers].filter(alive).map((p) => p.child.pid!);
    const all = [...pids, ...extra].map(schedSeconds);
    return all.reduce<{ runS: number; waitS: number }>((a, s) => ({ runS: a.runS + (s?.runS ?? 0), waitS: a.waitS + (s?.waitS ?? 0) }), {
      runS: 0,
      waitS: 0,
    });
  }

  hubCpuSeconds(): number {
    return this.hubs.filter(alive).reduce((a, h) => a + cpuSeconds(h.child.pid!), 0);
  }

  async stop(): Promise<void> {
    const procs = [...this.servers, ...this.hubs];
    for (const p of procs) if (alive(p)) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000))]);
    for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
    rmSync(this.#tmp, { recursive: true, force: true });
  }
}

/** Commands Redis has processed since it started (`INFO stats`). */
async function redisCommands(r: Redis): Promise<number> {
  const m = (await r.info('stats')).match(/^total_commands_processed:(\d+)/m);
  if (!m) throw new Error('INFO stats has no total_commands_processed');
  return Number(m[1]);
}

interface ScaleResult {
  best: StepResult | undefined;
  first: StepResult;
  joins: number;
  cpuMsPerJoin: number;
  idleCpuMsPerS: number;
  redisOpsPerJoin: number | undefined;
  /** The cluster's processes' run-queue wait over the compared steps, ms per successful join, and per ms they ran. */
  waitMsPerJoin: number;
  waitPerRun: number;
}

/** The `hub` suite's open-loop join ladder against the cluster's hubs (connections spread over them). */
async function measureScale(c: HubCluster, probe: Redis | undefined, o: typeof QUICK): Promise<ScaleResult> {
  const generators: LoadGenerator[] = [];
  try {
    const urls = c.hubs.map((h) => h.url).join(',');
    const redisPid = probe ? Number((await probe.info('server')).match(/^process_id:(\d+)/m)?.[1]) : undefined;
    const extra = redisPid ? [redisPid] : [];
    for (let i = 0; i < GENERATORS; i++) generators.push(await LoadGenerator.start(urls));
    // Each hub gets the warm-up one hub gets (o.warmupMs at 500/s): what V8 compiles, and when, goes by
    // how many joins a process has handled, so a warm-up shared by N hubs left each at 1/N of it and
    // counted their compiling (N times over) as per-join work in the steps.
    await runStep(generators, WARMUP_PER_S, o.warmupMs * c.hubs.length);
    // As after each step: the warm-up's last leaves are not idle work.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    // The background work of an idle cluster — Redis's commands (heartbeats, lease renewals, stream
    // reads) and the hubs' CPU — over IDLE_MS, subtracted from what is counted under load: the
    // figures are per join, and that work does not grow with joins.
    const idle = { cmd: probe ? await redisCommands(probe) : 0, cpu: c.hubCpuSeconds(), t: performance.now() };
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleS = (performance.now() - idle.t) / 1000;
    const idlePerS = probe ? ((await redisCommands(probe)) - idle.cmd - 1) / idleS : 0;
    const idleCpuPerS = (c.hubCpuSeconds() - idle.cpu) / idleS;
    const results: StepResult[] = [];
    let joins = 0;
    let cpuS = 0;
    let commands = 0;
    const sched = { runS: 0, waitS: 0 };
    // As in the `hub` suite: one noisy step on this shared machine does not end the climb (a
    // cluster that missed its first step read 0 joins/s though it passed the next one).
    let failedInARow = 0;
    for (const rate of o.steps) {
      const cpu0 = c.hubCpuSeconds();
      const cmd0 = probe ? await redisCommands(probe) : 0;
      const sched0 = c.schedSeconds(extra);
      const t0 = performance.now();
      const r = await runStep(generators, rate, o.stepMs);
      // Let the leaves settle before counting: a join's cost includes its leave.
      await new Promise((res) => setTimeout(res, SETTLE_MS));
      const wallS = (performance.now() - t0) / 1000;
      const stepCpuS = c.hubCpuSeconds() - cpu0 - idleCpuPerS * wallS;
      const stepCommands = probe ? (await redisCommands(probe)) - cmd0 - 1 - idlePerS * wallS : 0;
      const sched1 = c.schedSeconds(extra);
      if (rate <= COMPARED_UP_TO_PER_S) {
        sched.runS += sched1.runS - sched0.runS;
        sched.waitS += sched1.waitS - sched0.waitS;
        cpuS += stepCpuS;
        commands += stepCommands;
        joins += r.ok;
      }
      results.push(r);
      if (Object.keys(r.failures).length)
        console.error(`hubs: ${c.hubs.length} hub(s) at ${rate}/s: failures ${JSON.stringify(r.failures)}`);
      failedInARow = passes(r) ? 0 : failedInARow + 1;
      if (failedInARow >= 2 && rate >= COMPARED_UP_TO_PER_S) break;
    }
    return {
      best: results.filter(passes).at(-1),
      first: results[0]!,
      joins,
      cpuMsPerJoin: joins > 0 ? (cpuS * 1000) / joins : NaN,
      idleCpuMsPerS: idleCpuPerS * 1000,
      redisOpsPerJoin: probe && joins > 0 ? commands / joins : undefined,
      waitMsPerJoin: joins > 0 ? (sched.waitS * 1000) / joins : NaN,
      waitPerRun: sched.runS > 0 ? sched.waitS / sched.runS : NaN,
    };
  } finally {
    await Promise.all(generators.map((g) => g.close()));
  }
}

/**
 * On the 3-hub cluster: a paced viewer on hub A streams ONLY_ON_B from its server on hub B; B is
 * SIGKILLed KILL_AFTER_MS after the first byte. The gaps between chunks before the kill are the
 * baseline; the largest gap after it is the stall. Meanwhile new watches for ONLY_ON_B through A
 * are tried until one gets a first byte.
 */
async function measureFailover(c: HubCluster, probe: Redis): Promise<Record<string, number>> {
  const [hubA, hubB] = c.hubs;
  const source = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
  const serverHub = await probe.get(`baton:hb:${THREE_SERVERS[0]!.id}`);
  if (serverHub !== 'hub-b') throw new Error(`${THREE_SERVERS[0]!.id} beats through ${serverHub}, expected hub-b`);
  const arrivals: number[] = [];
  let killedAt = 0;
  let signalledAt = 0;
  let kill: Promise<void> | undefined;
  const newWatch = async () => {
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => {
          let first = true;
          watchStream({ hubUrl: hubA!.url, assetId: ONLY_ON_B, timeoutMs: 20_000 }, () => {
            if (!first) return;
            first = false;
            signalledAt = performance.now();
            resolve();
          }).catch(reject);
        });
        return;
      } catch {
        if (performance.now() - killedAt > 30_000) throw new Error('no new watch succeeded within 30 s of the kill');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  let watchAfter: Promise<void> | undefined;
  const r = await watchStream({ hubUrl: hubA!.url, assetId: ONLY_ON_B, timeoutMs: 90_000 }, () => {
    const now = performance.now();
    arrivals.push(now);
    if (kill || now - arrivals[0]! < KILL_AFTER_MS) return;
    killedAt = performance.now();
    hubB!.child.kill('SIGKILL');
    kill = hubB!.exited.then(() => undefined);
    watchAfter = newWatch();
  });
  if (!kill) throw new Error('the stream ended before the kill');
  await kill;
  await watchAfter;
  const gaps = (from: number, to: number) => arrivals.slice(from + 1, to).map((t, i) => t - arrivals[from + i]!);
  const k = arrivals.findIndex((t) => t > killedAt);
  // The first gap (start-up) is not part of the baseline.
  const before = gaps(1, k);
  const after = gaps(Math.max(k - 1, 0), arrivals.length);
  const stall = Math.max(0, ...after);
  const normal = Math.max(0, ...before);
  return {
    'hub.failover.viewer_stall_ms': round(stall, 1),
    'hub.failover.normal_gap_ms_max': round(normal, 1),
    'hub.failover.stall_ratio_vs_normal_gap': round(stall / normal, 2),
    'hub.failover.bytes_lost': source.length - r.bytes,
    'hub.failover.sha256_equal': r.sha256 === sha256(source) ? 1 : 0,
    'hub.failover.viewer_failovers': r.failovers.length,
    'hub.failover.signalling_ms': round(signalledAt - killedAt, 1),
  };
}

/** The suite `hubs`. */
export async function benchHubScale(opts: { quick: boolean }): Promise<Record<string, number>> {
  const o = opts.quick ? QUICK : FULL;
  await ensureDemoMedia(MEDIA_DIR);
  const f: Record<string, number> = {};
  const record = (key: string, s: ScaleResult) => {
    const at = s.best ?? s.first;
    f[`hub.scale.joins_per_s.${key}`] = s.best ? Math.round(s.best.joinsPerS) : 0;
    f[`hub.scale.join_p99_ms.${key}`] = round(at.p99Ms, 2);
    f[`hub.scale.failed_share.${key}`] = round(at.failedShare, 4);
    f[`hub.scale.cpu_ms_per_join.${key}`] = round(s.cpuMsPerJoin, 3);
    f[`hub.scale.idle_cpu_ms_per_s.${key}`] = round(s.idleCpuMsPerS, 1);
    if (s.redisOpsPerJoin !== undefined) f[`hub.scale.redis_ops_per_join.${key}`] = round(s.redisOpsPerJoin, 1);
    f[`hub.scale.runqueue_wait_ms_per_join.${key}`] = round(s.waitMsPerJoin, 2);
    f[`hub.scale.runqueue_wait_per_cpu.${key}`] = round(s.waitPerRun, 2);
  };

  // Baseline: the plain hub, everything in memory.
  let c = await HubCluster.start(1, undefined);
  try {
    record('memory', await measureScale(c, undefined, o));
  } finally {
    await c.stop();
  }

  let redis: RedisProcess | undefined;
  let probe: Redis | undefined;
  try {
    for (const n of [1, 2, 3]) {
      // A fresh Redis for each size: no log or keys left by the previous cluster. Its append-only file is
      // fsynced once a second (Redis's default), not before each answer: a cross-hub join is two or three
      // stream hops, each waiting for Redis's answer, and with a fsync each the tail was this shared disk's.
      redis = await startRedis({ appendfsync: 'everysec' });
      probe = new Redis(redis.url);
      c = await HubCluster.start(n, redis.url);
      try {
        record(`${n}_hubs`, await measureScale(c, probe, o));
        if (n === 3) Object.assign(f, await measureFailover(c, probe));
      } finally {
        await c.stop();
        probe.disconnect();
        await redis.stop();
        redis = undefined;
      }
    }
  } finally {
    probe?.disconnect();
    await redis?.stop();
  }
  f['hub.scale.redis_ops_per_join'] = f['hub.scale.redis_ops_per_join.3_hubs']!;
  const worst = Math.max(...[1, 2, 3].map((n) => f[`hub.scale.cpu_ms_per_join.${n}_hubs`]!));
  f['hub.scale.cpu_per_join_ratio'] = round(worst / f['hub.scale.cpu_ms_per_join.memory']!, 2);
  return f;
}
