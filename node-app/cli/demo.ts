// `baton demo`: the whole network on one machine — a hub, N media servers at
// distinct locations with demo media, and the built web client — as child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DEMO_CLIPS, ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { PROJECT_ROOT } from '../project-root.js';
import { diesWithServer } from '../storage/child-lifeline.js';

/** Where demo servers stand: real data-centre cities on three continents first. */
export const DEMO_SITES = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68 },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45 },
  { id: 'sin-1', region: 'ap-southeast', lat: 1.29, lon: 103.85 },
  { id: 'gru-1', region: 'sa-east', lat: -23.55, lon: -46.63 },
  { id: 'syd-1', region: 'ap-south', lat: -33.87, lon: 151.21 },
  { id: 'nrt-1', region: 'ap-northeast', lat: 35.68, lon: 139.69 },
  { id: 'sfo-1', region: 'us-west', lat: 37.77, lon: -122.42 },
  { id: 'lhr-1', region: 'eu-west', lat: 51.51, lon: -0.13 },
] as const;

export interface DemoOptions {
  servers: number;
  port: number;
  dataDir: string;
  cacheMb: number;
  streamKey: string;
  build: boolean;
  /** Print nothing but problems (`baton dev` runs the demo behind Vite and prints its own URL). */
  quiet?: boolean;
}

const ROOT = PROJECT_ROOT;
/** A media server that exits is started again after this long (ms)... */
const DEMO_RESTART_DELAY_MS = 2_000;
/** ...unless it exited this many times in a row, each within DEMO_QUICK_EXIT_MS of its start (a server that cannot start). */
const DEMO_MAX_QUICK_EXITS = 3;
const DEMO_QUICK_EXIT_MS = 10_000;
const BATON = join(ROOT, 'bin/baton.js');

export async function runDemo(o: DemoOptions): Promise<void> {
  const say = o.quiet ? () => undefined : (line: string) => console.log(line);
  const mediaDir = join(o.dataDir, 'media');
  const clips = await ensureDemoMedia(mediaDir);
  say(`Demo media: ${clips.length} clips in ${mediaDir}`);
  const webDir = join(ROOT, 'dist/web');
  if (o.build && !existsSync(join(webDir, 'index.html'))) {
    console.log('Building the web client (vite build)…');
    await waitExit(
      spawn(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
        cwd: ROOT,
        stdio: 'inherit',
      }),
      'vite build',
    );
  }
  const secret = process.env.BATON_CLUSTER_SECRET ?? randomBytes(18).toString('base64url');
  const env = { ...process.env, BATON_CLUSTER_SECRET: secret, BATON_LOG_LEVEL: process.env.BATON_LOG_LEVEL ?? 'warn' };
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    // A child killed by a signal has no exit code, only a signal code: it is not running either.
    const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
    for (const c of children) if (running(c)) c.kill('SIGTERM');
    const force = setTimeout(() => children.forEach((c) => running(c) && c.kill('SIGKILL')), 5_000);
    Promise.all(children.map((c) => (running(c) ? new Promise((r) => c.once('exit', r)) : null))).then(() => {
      clearTimeout(force);
      if (code === 0) say(`Baton stopped: the hub and ${o.servers} media server${o.servers === 1 ? '' : 's'}.`);
      process.exit(code);
    });
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  // The hub and the servers die with this process, even SIGKILLed (no handler of ours runs then): nothing is left
  // holding the port or the storage for the next `npm start`.
  const hub = spawn(
    ...diesWithServer(process.execPath, [BATON, 'hub', '--port', String(o.port), '--static-dir', webDir, '--stream-keys', o.streamKey]),
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(hub);
  const hubUrl = await new Promise<string>((res, rej) => {
    let out = '';
    hub.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) res(m[1]!);
    });
    hub.once('exit', (code) =>
      rej(new Error(`the hub exited (${code}); is port ${o.port} in use? try another: --port N (npm start -- --port N) or BATON_PORT=N`)),
    );
  });
  hub.on('exit', (code) => !stopping && (console.error(`the hub exited (${code}); stopping`), stopAll(1)));

  // A media server that dies (killed to try failover, a crash) is started again, as an operator's supervisor would,
  // so the demo cluster comes back whole; one that keeps dying at start-up is left down with one line.
  const startServer = (id: string, args: string[], quickExits = 0): void => {
    const startedAt = Date.now();
    const child = spawn(...diesWithServer(process.execPath, args), { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    child.on('exit', (code, sig) => {
      if (stopping) return;
      const quick = Date.now() - startedAt < DEMO_QUICK_EXIT_MS ? quickExits + 1 : 0;
      if (quick >= DEMO_MAX_QUICK_EXITS) {
        console.error(
          `server ${id} exited (${code ?? sig}) ${quick} times within ${DEMO_QUICK_EXIT_MS / 1000} s of starting; not starting it again`,
        );
        return;
      }
      console.error(`server ${id} exited (${code ?? sig}); starting it again in ${DEMO_RESTART_DELAY_MS / 1000} s`);
      setTimeout(() => !stopping && startServer(id, args, quick), DEMO_RESTART_DELAY_MS);
    });
  };
  const sites = Array.from({ length: o.servers }, (_, i) => {
    const base = DEMO_SITES[i % DEMO_SITES.length]!;
    const round = Math.floor(i / DEMO_SITES.length);
    return round === 0 ? base : { ...base, id: `${base.id.split('-')[0]}-${round + 1}` };
  });
  for (const site of sites) {
    const storage = join(o.dataDir, 'servers', site.id);
    mkdirSync(storage, { recursive: true });
    for (const f of readdirSync(mediaDir).filter((f) => f.endsWith('.webm'))) {
      if (existsSync(join(storage, f))) continue;
      try {
        linkSync(join(mediaDir, f), join(storage, f));
      } catch {
        copyFileSync(join(mediaDir, f), join(storage, f));
      }
    }
    // Titles and descriptions for the demo clips, as an operator would add them (README: sidecars).
    for (const clip of DEMO_CLIPS) {
      const sidecar = join(storage, `${clip.id}.json`);
      if (clip.sidecar && !existsSync(sidecar)) writeFileSync(sidecar, `${JSON.stringify(clip.sidecar, null, 2)}\n`);
    }
    const args = [
      BATON,
      'server',
      '--hub',
      hubUrl,
      '--id',
      site.id,
      '--region',
      site.region,
      '--lat',
      String(site.lat),
      '--lon',
      String(site.lon),
      // Browsers and the demo servers share loopback: let the servers probe loopback candidates.
      '--storage',
      storage,
      '--cache-mb',
      String(o.cacheMb),
      '--ingest',
      '--ice-allow',
      'loopback',
    ];
    startServer(site.id, args);
  }
  const ready = await waitReady(hubUrl, o.servers);
  say('');
  say(`  Baton is running: ${o.servers} media servers${ready ? '' : ' (some still starting)'} and the hub.`);
  say(`  Open ${hubUrl}/            player · broadcaster · dashboard`);
  say(`  Stream key for broadcasting: ${o.streamKey}`);
  say(`  API: ${hubUrl}/api/state   metrics: ${hubUrl}/metrics`);
  say('  Ctrl-C stops everything.');
  say('');
}

async function waitReady(hubUrl: string, servers: number): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const s = (await (await fetch(`${hubUrl}/api/state`)).json()) as { servers: unknown[]; director: unknown };
      if (s.servers.length >= servers && s.director) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function waitExit(child: ChildProcess, what: string): Promise<void> {
  return new Promise((res, rej) => child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`${what} failed (${code})`)))));
}
