// `baton dev` (npm run dev): Vite's dev server with hot reload for web-client/,
// proxying socket.io and the API to a hub + media servers run alongside, which are
// restarted when their code (signaling/, node-app/) changes.
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../project-root.js';
import { diesWithServer } from '../storage/child-lifeline.js';

const ROOT = PROJECT_ROOT;
const BATON = join(ROOT, 'bin/baton.js');
/** Wait this long after the last change before restarting (editors write in bursts). */
const RESTART_DEBOUNCE_MS = 300;

export interface DevOptions {
  servers: number;
  hubPort: number;
  vitePort: number;
}

/** Recompiles dist/node so the restarted processes start at once instead of each compiling the sources (tsx). */
async function rebuildCli(): Promise<void> {
  try {
    const { buildCli } = (await import(pathToFileURL(join(ROOT, 'scripts/build-cli.js')).href)) as { buildCli: () => Promise<number> };
    await buildCli();
  } catch (err) {
    // bin/baton.js then runs the sources through tsx: slower, still current.
    console.log(`[dev] could not recompile the CLI (${(err as Error).message}); running it from source`);
  }
}

export async function runDev(o: DevOptions): Promise<void> {
  let cluster: ChildProcess | undefined;
  let stopping = false;
  const start = () => {
    // --quiet: the only URL to open is Vite's, printed once below.
    cluster = spawn(
      ...diesWithServer(process.execPath, [
        BATON,
        'demo',
        '--no-build',
        '--quiet',
        '--servers',
        String(o.servers),
        '--port',
        String(o.hubPort),
      ]),
      {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, BATON_LOG_FORMAT: process.env.BATON_LOG_FORMAT ?? 'pretty' },
      },
    );
  };
  const stopCluster = () =>
    new Promise<void>((res) => {
      const c = cluster;
      if (!c || c.exitCode !== null) return res();
      c.once('exit', () => res());
      c.kill('SIGTERM');
    });
  start();

  let timer: NodeJS.Timeout | undefined;
  const onChange = (dir: string) => (_event: string, file: string | null) => {
    if (!file || !/\.(ts|js|json)$/.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      console.log(`[dev] ${dir}/${file} changed: restarting the hub and media servers…`);
      await Promise.all([stopCluster(), rebuildCli()]);
      if (!stopping) start();
    }, RESTART_DEBOUNCE_MS);
  };
  // The servers and the hub also run the platform-neutral code the browser shares.
  const watchers = ['signaling', 'node-app', 'common', 'client-sdk'].map((d) => watch(join(ROOT, d), { recursive: true }, onChange(d)));

  const { createServer } = await import('vite');
  process.env.BATON_HUB_URL = `http://127.0.0.1:${o.hubPort}`;
  const vite = await createServer({ configFile: join(ROOT, 'vite.config.ts'), server: { port: o.vitePort, host: '127.0.0.1' } });
  await vite.listen();
  console.log(
    `\n  Baton dev: open ${vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${o.vitePort}/`} (hot reload; API and socket.io proxied to the hub on :${o.hubPort})\n`,
  );

  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    watchers.forEach((w) => w.close());
    await Promise.all([vite.close(), stopCluster()]);
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
