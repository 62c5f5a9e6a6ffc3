// `baton dev` (npm run dev) as a developer sees it: one URL to open (Vite's),
// printed once, and a backend restart that prints no banner and no proxy traces.
import { spawn } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { BATON, ROOT, waitFor } from '../helpers/cluster.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('baton dev', () => {
  let dev: ReturnType<typeof spawn> | undefined;
  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      const exited = new Promise((r) => dev!.once('exit', r));
      process.kill(-dev.pid!, 'SIGINT');
      await exited;
    }
  });

  it("prints one URL, Vite's, and nothing of the kind again when the backend restarts", async () => {
    const [hubPort, vitePort] = [await freePort(), await freePort()];
    dev = spawn(process.execPath, [BATON, 'dev', '--servers', '1', '--hub-port', String(hubPort), '--vite-port', String(vitePort)], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, BATON_LOG_FORMAT: 'json', BATON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dev.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    dev.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const viteUrl = `http://127.0.0.1:${vitePort}`;
    const serversThroughVite = async () => {
      try {
        return ((await (await fetch(`${viteUrl}/api/state`)).json()) as { servers: unknown[] }).servers.length;
      } catch {
        return 0;
      }
    };
    await waitFor('the cluster behind Vite', async () => (await serversThroughVite()) === 1, 90_000, 200);
    // A page's socket.io connection through Vite's proxy, as a browser tab would hold.
    const socket = io(`${viteUrl}/client`, { transports: ['websocket'] });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    try {
      const before = out.length;
      const now = new Date();
      utimesSync(join(ROOT, 'node-app/contracts.ts'), now, now);
      await waitFor('the restart', () => out.slice(before).includes('restarting the hub and media servers'), 20_000, 100);
      await waitFor('the cluster back', async () => ((await serversThroughVite()) === 0 ? false : true), 90_000, 200);
      await waitFor("the page's socket back through the proxy", () => socket.connected, 30_000, 100);
    } finally {
      socket.close();
    }
    const urls = out.match(/https?:\/\/[^\s)]+/g) ?? [];
    expect(urls).toEqual([`${viteUrl}/`]);
    expect(out).not.toMatch(/ws proxy (socket )?error/);
    expect(out).not.toMatch(/Baton is running|Baton stopped/);
  }, 240_000);
});
