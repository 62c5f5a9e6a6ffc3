// A media server that cannot start (its HTTP port is taken) exits with a clear error and leaves nothing
// running: no ffmpeg making a poster or a rendition of its storage, no partial file. The old start
// scanned storage (and started ffmpeg) before it listened, and the ffmpeg outlived the exit.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { MEDIA_DIR, run, SECRET, waitForOutput } from '../helpers/cluster.js';

/** Processes whose command line names `dir`. */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('a media server that cannot start', () => {
  const storage = mkdtempSync(join(tmpdir(), 'baton-startfail-'));
  let taken: Server | undefined;
  afterAll(() => {
    taken?.close();
    rmSync(storage, { recursive: true, force: true });
  });

  it('exits with the error and leaves no ffmpeg and no partial file behind', async () => {
    await ensureDemoMedia(MEDIA_DIR);
    // Assets without a poster or renditions: a scan would start ffmpeg for them.
    for (const a of ['demo-testsrc', 'demo-smpte']) copyFileSync(join(MEDIA_DIR, `${a}.webm`), join(storage, `${a}.webm`));
    const server = createServer();
    taken = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const p = run([
      'server',
      ...['--hub', 'http://127.0.0.1:9', '--cluster-secret', SECRET, '--id', 'startfail-1', '--region', 'r'],
      ...['--lat', '0', '--lon', '0', '--storage', storage, '--cache-mb', '8', '--max-sessions', '10'],
      ...['--http-host', '127.0.0.1', '--http-port', String(port)],
    ]);
    const code = await p.exited;
    expect(code).not.toBe(0);
    expect(p.output()).toMatch(/EADDRINUSE|in use/i);
    // An ffmpeg started before the exit would still be running now, with the storage in its arguments.
    await new Promise((r) => setTimeout(r, 300));
    expect(processesNaming(storage)).toEqual([]);
    expect(readdirSync(storage).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  const serverArgs = (dir: string) => [
    'server',
    ...['--hub', 'http://127.0.0.1:9', '--cluster-secret', SECRET, '--id', 'startfail-2', '--region', 'r'],
    ...['--lat', '0', '--lon', '0', '--storage', dir, '--cache-mb', '8', '--max-sessions', '10'],
  ];

  it('--storage naming a file stops the start with one clear line', async () => {
    const file = join(storage, 'not-a-dir');
    writeFileSync(file, 'x');
    const p = run(serverArgs(file));
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain(`--storage ${file} is not a directory`);
  }, 30_000);

  it('a missing --storage directory is made, and the server says so', async () => {
    const dir = join(storage, 'fresh', 'sub');
    const p = run(serverArgs(dir));
    try {
      await waitForOutput(p, /metrics on http/, 30_000);
      expect(p.output()).toContain(`storage directory ${dir} did not exist; created it (empty)`);
      expect(existsSync(dir)).toBe(true);
    } finally {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }, 40_000);
});
