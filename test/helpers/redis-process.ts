// Starts a real `redis-server` (the Debian package) on a free loopback port for a test, and stops it by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { diesWithParent } from '../../node-app/storage/child-lifeline.js';

const START_TIMEOUT_MS = 10_000;

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGSTOP: Redis keeps its sockets but answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Stop it (SIGTERM, then SIGKILL) and, unless `keepData`, remove its directory. */
  stop(keepData?: boolean): Promise<void>;
  /** Start it again on the same port and directory (after `stop(true)`): the append-only file brings the data back. */
  restart(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (Redis cannot listen on port 0 and report the port it got). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisOptions {
  /**
   * When the append-only file is fsynced. `always` (the default): before Redis answers a write, so
   * `restart()` brings back every write (the outage tests rely on it); every command then waits for
   * the disk. `everysec`: Redis's own default for the append-only file, once a second in the
   * background (a second of writes may be lost to a crash), for figures that must not be the disk's.
   */
  appendfsync?: 'always' | 'everysec';
}

export async function startRedis(o: RedisOptions = {}): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  const launch = async () => {
    const where = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
    const [bin, argv] = diesWithParent(process.pid, 'redis-server', [
      ...where,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      o.appendfsync ?? 'always',
    ]);
    child = spawn(bin, argv, {
      stdio: 'ignore',
    });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined); // refused until redis-server listens: expected
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch (err) {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await launch();
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop(keepData = false) {
      await stopChild();
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
    restart: launch,
  };
}
