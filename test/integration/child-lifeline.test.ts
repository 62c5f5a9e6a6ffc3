// Children of a media server die with it, however it dies (node-app/storage/child-lifeline.ts): real processes, the
// parent SIGKILLed, so no exit handler of its runs.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diesWithParent } from '../../node-app/storage/child-lifeline.js';
import { ROOT, waitFor } from '../helpers/cluster.js';
import { processRuns } from '../helpers/process-alive.js';

describe.runIf(process.platform === 'linux')('child lifeline', () => {
  const left: number[] = [];
  afterEach(() => {
    for (const pid of left.splice(0)) if (processRuns(pid)) process.kill(pid, 'SIGKILL');
  });

  it('a child spawned through it dies when its parent is SIGKILLed; its pid is the command’s own', async () => {
    const lifeline = join(ROOT, 'node-app/storage/child-lifeline.ts');
    const script = `
      import { spawn } from 'node:child_process';
      const { diesWithServer } = await import(${JSON.stringify(lifeline)});
      const [bin, args] = diesWithServer('sleep', ['60']);
      const child = spawn(bin, args, { stdio: 'ignore' });
      console.log(child.pid);
      setInterval(() => undefined, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => parent.once('exit', r));
    let out = '';
    parent.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      const pid = await waitFor('the child pid', () => /^\d+\n/.test(out) && Number.parseInt(out, 10), 30_000);
      left.push(pid);
      // Every program of the chain execs the next: the pid the server holds is the command's (it kills that one on close).
      await waitFor('sleep running', () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === 'sleep');
      parent.kill('SIGKILL');
      await exited;
      await waitFor('the child gone with its parent', () => !processRuns(pid), 5_000, 20);
    } finally {
      parent.kill('SIGKILL');
    }
  }, 60_000);

  it('runs nothing once the parent it was started for is gone (it died before the death signal was set)', () => {
    const [bin, args] = diesWithParent(1, 'echo', ['ran']);
    const r = spawnSync(bin, args, { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).not.toBe(0);
    const ok = spawnSync(...diesWithParent(process.pid, 'echo', ['ran']), { encoding: 'utf8' });
    expect(ok.stdout).toBe('ran\n');
  });

  it('a missing command is exit 127, as nice says it', () => {
    expect(spawnSync(...diesWithParent(process.pid, 'no-such-command-here', []), { stdio: 'ignore' }).status).toBe(127);
  });
});
