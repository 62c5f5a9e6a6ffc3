// `baton demo` (what `npm start` runs) as a user trying failover does: a media server SIGKILLed comes back on its own,
// and Ctrl-C afterwards still stops everything and says so; the demo SIGKILLed leaves none of its processes behind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATON, MEDIA_DIR, ROOT, waitFor, waitForOutput, type Proc } from '../helpers/cluster.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { processRuns } from '../helpers/process-alive.js';

/** Pids of live processes whose command line holds every one of `needles`. */
function processesMentioning(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (needles.every((n) => cmdline.includes(n))) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

describe('baton demo: a media server that dies', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-demo-restart-'));
  let demo: Proc | undefined;
  afterAll(() => {
    // Its own process group (spawned detached below): the hub, whose command line does not name dataDir, goes with it.
    const child = demo?.child;
    if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is started again (same id, a new process), and Ctrl-C then stops everything with its line', async () => {
    await ensureDemoMedia(MEDIA_DIR);
    mkdirSync(join(dataDir, 'media'));
    for (const f of readdirSync(MEDIA_DIR).filter((f) => f.endsWith('.webm'))) linkSync(join(MEDIA_DIR, f), join(dataDir, 'media', f));
    demo = startDemo(dataDir);
    const [, url] = await waitForOutput(demo, /Open (http:\/\/\S+?)\/ /, 60_000);
    const state = async () => (await (await fetch(`${url}/api/state`)).json()) as { servers: { id: string; httpUrl: string }[] };
    const fra = async () => (await state()).servers.find((s) => s.id === 'fra-1');
    await waitFor('fra-1 registered', async () => (await fra()) !== undefined, 30_000);
    // Each process takes a free HTTP port: the one in the table says which process registered.
    const before = (await fra())!.httpUrl;
    const [first] = processesMentioning(dataDir, '\0server\0');
    expect(first).toBeDefined();
    process.kill(first!, 'SIGKILL');
    await waitForOutput(demo, /server fra-1 exited \(SIGKILL\); starting it again in 2 s/);
    await waitFor(
      'fra-1 registered again by a new process',
      async () => {
        const [again] = processesMentioning(dataDir, '\0server\0');
        const now = await fra();
        return again !== undefined && again !== first && now !== undefined && now.httpUrl !== before;
      },
      30_000,
    );
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toMatch(/Baton stopped: the hub and 1 media server\./);
    expect(processesMentioning(dataDir, 'baton.js')).toEqual([]);
  }, 120_000);

  it('SIGKILLed itself (no handler runs), it takes the hub and the servers with it: nothing holds the port for the next start', async () => {
    demo = startDemo(dataDir);
    const child = demo.child;
    await waitForOutput(demo, /Open (http:\/\/\S+?)\/ /, 60_000);
    const kids = await waitFor('the hub and a server running', () => {
      const k = childrenOf(child.pid!);
      return k.length >= 2 && k;
    });
    child.kill('SIGKILL');
    await demo.exited;
    await waitFor('the hub and the server gone with it', () => kids.every((pid) => !processRuns(pid)), 5_000);
  }, 120_000);
});

/** `baton demo` on `dataDir`, in its own process group like a terminal's foreground job: afterAll can end the hub and servers of a failed run. */
function startDemo(dataDir: string): Proc {
  const child = spawn(process.execPath, [BATON, 'demo', '--port', '0', '--servers', '1', '--no-build', '--data-dir', dataDir], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, output: () => out, exited: once(child, 'exit').then(([code]) => code as number | null) };
}

/** Pids whose parent is `parent` (from /proc/<pid>/stat). */
function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}
