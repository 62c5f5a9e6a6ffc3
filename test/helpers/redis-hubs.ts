// Real hubs on a real redis-server, and real media servers registered with them, for the several-hubs tests.
import { run, SECRET, waitForOutput, type Proc } from './cluster.js';

export type HubProc = Proc & { id: string; url: string };

/** Starts `baton hub` on a free loopback port, sharing the cluster in `redisUrl`; resolves once it listens. */
export async function startRedisHub(redisUrl: string, id: string, args: string[] = []): Promise<HubProc> {
  const p = run(['hub', '--port', '0', '--redis', redisUrl, '--hub-id', id, '--cluster-secret', SECRET, ...args]);
  const m = await waitForOutput(p, /listening on (http:\/\/[^\s]+)/, 60_000);
  return Object.assign(p, { id, url: m[1]! });
}

/** Starts `baton server` with every hub in `hubUrls` (it registers with the first that answers); resolves once registered. */
export async function startHubServer(hubUrls: string[], id: string, storage: string, args: string[] = []): Promise<Proc> {
  const p = run([
    'server',
    '--no-renditions',
    '--hub',
    hubUrls.join(','),
    '--cluster-secret',
    SECRET,
    '--id',
    id,
    '--storage',
    storage,
    '--ice-allow',
    'loopback,private',
    ...args,
  ]);
  await waitForOutput(p, /registered with hub/, 60_000);
  return p;
}

/** SIGTERM, then SIGKILL whatever is still running 5 s later. */
export async function stopAll(procs: Proc[]): Promise<void> {
  const running = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;
  for (const p of procs) if (running(p)) p.child.kill('SIGTERM');
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000))]);
  for (const p of procs) if (running(p)) p.child.kill('SIGKILL');
}
