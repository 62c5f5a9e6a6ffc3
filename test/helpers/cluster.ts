// Starts a real Baton cluster for tests: the `baton hub` and `baton server` CLIs as
// child processes on loopback, with demo media in temporary storage directories.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, linkSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { diesWithParent } from '../../node-app/storage/child-lifeline.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BATON = join(ROOT, 'bin/baton.js');

/** `node` arguments for `baton publish` of `file` as `streamId` to `hubUrl` from Lisbon with the test clusters' key; `extra` after. */
export function publishArgs(hubUrl: string, file: string, streamId: string, extra: readonly string[] = []): string[] {
  return [
    BATON,
    'publish',
    '--hub',
    hubUrl,
    '--file',
    file,
    '--location',
    'Lisbon',
    '--stream-key',
    'test-key',
    '--stream-id',
    streamId,
    ...extra,
  ];
}
export const SECRET = 'test-cluster-secret';
const HUB_START_TIMEOUT_MS = 60_000;
/**
 * Every test request comes from 127.0.0.1, and tests poll (waitFor: 20/s each, several at once):
 * a budget the hub's per-IP HTTP limit (default 50/s) does not cut. Tests of that limit pass
 * `--http-rate` in hubArgs (the last value wins) and send X-Forwarded-For through a trusted proxy.
 */
const TEST_HTTP_RATE_PER_S = 1_000;
/** Demo clips are made once per machine and shared by every test cluster. */
export const MEDIA_DIR = join(ROOT, 'var/media');

export interface ServerSpec {
  id: string;
  region: string;
  lat: number;
  lon: number;
  /** Demo asset ids to put in this server's storage (default: all). */
  assets?: string[];
  /** Cache budget flag (default 64); null passes no flag (the environment or a config file decides). */
  cacheMb?: number | null;
  maxSessions?: number;
  ingest?: boolean;
  extraArgs?: string[];
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
  /** Storage directory to use (it must exist) instead of a new one under the cluster's temp dir. */
  storageDir?: string;
  /** Let the server make renditions of its stored assets (ffmpeg in the background); default off, so other tests see only their assets. */
  renditions?: boolean;
}

export const THREE_SERVERS: ServerSpec[] = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true },
  { id: 'sin-1', region: 'ap-southeast', lat: 1.29, lon: 103.85, ingest: true },
];

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * `BATON_NODE_ARGS` (space-separated; from `env`, else this process's environment) goes to node itself, before the
 * script: flags NODE_OPTIONS refuses, such as `--cpu-prof --cpu-prof-dir=DIR` to profile a bench's cluster.
 */
export function run(args: string[], env: Record<string, string> = {}, cwd: string = ROOT): Proc {
  const nodeArgs = (env.BATON_NODE_ARGS ?? process.env.BATON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // Dies with this test process, however it ends (a worker killed at its timeout runs no afterAll).
  const [bin, argv] = diesWithParent(process.pid, process.execPath, [...nodeArgs, BATON, ...args]);
  const child = spawn(bin, argv, {
    cwd,
    env: { ...process.env, BATON_LOG_FORMAT: 'json', BATON_LOG_LEVEL: process.env.BATON_TEST_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const proc = { child, output: () => out, exited };
  started.push({ name: procName(args), proc });
  if (started.length > MAX_KEPT_PROCS) started.shift();
  return proc;
}

/**
 * Every process `run` started in this test file (each file has its own module instance), killed and exited ones
 * included: a failed test saves their output (test/process-setup.ts). At most MAX_KEPT_PROCS, the newest.
 */
const started: { name: string; proc: Proc }[] = [];
const MAX_KEPT_PROCS = 200;

/** The processes `run` started in this file, each with a name unique among them: `hub` (`hub-<id>`), a server's id, or the command. */
export function startedProcs(): { name: string; proc: Proc }[] {
  const seen = new Map<string, number>();
  return started.map(({ name, proc }) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return { name: n === 1 ? name : `${name}-${n}`, proc };
  });
}

function procName(args: string[]): string {
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  if (args[0] === 'server') return flag('--id') ?? 'server';
  if (args[0] === 'hub') return flag('--hub-id') ? `hub-${flag('--hub-id')}` : 'hub';
  return args[0] ?? 'process';
}

/** Resolves with the first stdout match of `re`, or rejects when the process exits first. */
export function waitForOutput(p: Proc, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}; output:\n${p.output().slice(-3000)}`)), timeoutMs);
    const check = () => {
      const m = p.output().match(re);
      if (m) done(null, m);
    };
    const onExit = (code: number | null) => done(new Error(`process exited (${code}) before ${re}; output:\n${p.output().slice(-3000)}`));
    const done = (err: Error | null, m?: RegExpMatchArray) => {
      clearTimeout(timer);
      p.child.stdout!.off('data', check);
      p.child.stderr!.off('data', check);
      p.child.off('exit', onExit);
      err ? reject(err) : resolve(m!);
    };
    p.child.stdout!.on('data', check);
    p.child.stderr!.on('data', check);
    p.child.once('exit', onExit);
    check();
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ApiServer {
  id: string;
  region: string;
  lat: number;
  lon: number;
  roles: string[];
  httpUrl?: string;
  loadFactor: number;
  sessions: number;
  cache: string[];
  storageCount: number;
  /** false: its storage refuses new files, so no broadcast is sent there. */
  storageWritable: boolean;
  live: unknown[];
  lastSeenMs: number | null;
}
export interface ApiState {
  version: number;
  director: { id: string; epoch: number } | null;
  servers: ApiServer[];
}

export interface ClusterOptions {
  servers?: ServerSpec[];
  /**
   * Default: Baton's own (1 s; a server silent for three is removed). Shorter only in a test about silence (a
   * SIGSTOPped server): on the CI's 2 shared cores, with Chromium encoding and decoding beside the cluster, servers'
   * loops are seen starved for 0.5–1 s, and at 200 ms a merely starved server was removed mid-test (a failover the
   * test was not about).
   */
  heartbeatMs?: number;
  rotationMs?: number;
  hubArgs?: string[];
  /** Build/serve the web client from this directory. */
  staticDir?: string;
  /** How the hub gets its cluster secret (default `--cluster-secret SECRET`), e.g. `--cluster-secret-file F`. */
  hubSecretArgs?: string[];
  /** Extra environment for the hub process (e.g. NODE_OPTIONS). */
  hubEnv?: Record<string, string>;
}

export class Cluster {
  hubUrl = '';
  hubPort = 0;
  hub?: Proc;
  readonly servers = new Map<string, Proc & { spec: ServerSpec; storage: string }>();
  readonly #o: Required<Omit<ClusterOptions, 'staticDir'>> & { staticDir?: string };
  /** HTTP headers sent with every `state()` (e.g. the operator token). */
  stateHeaders: Record<string, string> = {};
  readonly #tmp = mkdtempSync(join(tmpdir(), 'baton-test-'));

  constructor(o: ClusterOptions = {}) {
    this.#o = {
      servers: o.servers ?? THREE_SERVERS,
      heartbeatMs: o.heartbeatMs ?? 1_000,
      rotationMs: o.rotationMs ?? 30_000,
      hubArgs: o.hubArgs ?? [],
      staticDir: o.staticDir,
      hubSecretArgs: o.hubSecretArgs ?? ['--cluster-secret', SECRET],
      hubEnv: o.hubEnv ?? {},
    };
  }

  get heartbeatMs(): number {
    return this.#o.heartbeatMs;
  }

  async startHub(port = this.hubPort): Promise<string> {
    const args = [
      'hub',
      '--port',
      String(port),
      ...this.#o.hubSecretArgs,
      '--heartbeat-ms',
      String(this.#o.heartbeatMs),
      '--rotation-ms',
      String(this.#o.rotationMs),
      '--stream-keys',
      'test-key',
      '--http-rate',
      String(TEST_HTTP_RATE_PER_S),
      ...this.#o.hubArgs,
    ];
    if (this.#o.staticDir) args.push('--static-dir', this.#o.staticDir);
    this.hub = run(args, this.#o.hubEnv);
    // Loading geoip-lite and the gazetteer takes the hub a few seconds alone, over 20 s on this
    // shared 2-core machine when every helper runs tests at once.
    const m = await waitForOutput(this.hub, /listening on (http:\/\/[^\s]+)/, HUB_START_TIMEOUT_MS);
    this.hubUrl = m[1]!;
    this.hubPort = Number(new URL(this.hubUrl).port);
    return this.hubUrl;
  }

  async startServer(spec: ServerSpec, opts: { secret?: string; waitRegistered?: boolean } = {}): Promise<Proc> {
    const storage = spec.storageDir ?? join(this.#tmp, spec.id);
    mkdirSync(storage, { recursive: true });
    for (const f of readdirSync(MEDIA_DIR)) {
      const id = f.replace(/\.webm$/, '');
      if (!f.endsWith('.webm') || (spec.assets && !spec.assets.includes(id))) continue;
      try {
        linkSync(join(MEDIA_DIR, f), join(storage, f));
      } catch {
        copyFileSync(join(MEDIA_DIR, f), join(storage, f));
      }
    }
    const args = [
      'server',
      '--hub',
      this.hubUrl,
      '--cluster-secret',
      opts.secret ?? SECRET,
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
      ...(spec.cacheMb === null ? [] : ['--cache-mb', String(spec.cacheMb ?? 64)]),
      '--max-sessions',
      String(spec.maxSessions ?? 100),
      '--heartbeat-ms',
      String(this.#o.heartbeatMs),
      // Every peer of a test cluster is on this machine (loopback, or its own private/ULA
      // addresses where the WebRTC stack gathers them), which servers do not probe by default.
      '--ice-allow',
      'loopback,private',
      ...(spec.ingest ? ['--ingest'] : []),
      ...(spec.renditions ? [] : ['--no-renditions']),
      ...(spec.extraArgs ?? []),
    ];
    const p = Object.assign(run(args, spec.env), { spec, storage });
    this.servers.set(spec.id, p);
    // The hub loads its place and IP datasets just after it starts listening (over 20 s when the machine is
    // shared by several test runs): a server that connects then registers once that is done.
    if (opts.waitRegistered !== false) await waitForOutput(p, /registered with hub/, HUB_START_TIMEOUT_MS);
    return p;
  }

  async start(): Promise<this> {
    await ensureDemoMedia(MEDIA_DIR);
    try {
      await this.startHub(0);
      await Promise.all(this.#o.servers.map((s) => this.startServer(s)));
      await waitFor('all servers in /api/state', async () => (await this.state()).servers.length === this.#o.servers.length);
    } catch (err) {
      // A start that failed half-way leaves nothing running behind it (a hub and servers on a shared machine).
      await this.stop();
      throw err;
    }
    return this;
  }

  async state(): Promise<ApiState> {
    const res = await fetch(`${this.hubUrl}/api/state`, { headers: this.stateHeaders });
    return (await res.json()) as ApiState;
  }

  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const p = this.servers.get(id);
    if (!p) throw new Error(`no server ${id}`);
    p.child.kill(signal);
    return p.exited;
  }

  async killHub(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.hub?.child.kill(signal);
    await this.hub?.exited;
  }

  async stop(): Promise<void> {
    const procs = [...this.servers.values(), ...(this.hub ? [this.hub] : [])];
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000))]);
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    rmSync(this.#tmp, { recursive: true, force: true });
  }
}

/** Convenience for tests: start a 3-server cluster with demo media. */
export async function startCluster(o: ClusterOptions = {}): Promise<Cluster & { stop(): Promise<void> }> {
  return new Cluster(o).start();
}
