// A WARN must mean something an operator should look at: a normal broadcast and
// Ctrl-C on `baton demo` (what `npm start` runs) log none, and Ctrl-C says "stopped".
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, publishArgs, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';
import { ask, connect, connectServer } from '../faults/helpers/net.js';

const exec = promisify(execFile);
const WARN_LEVEL = 40;

/**
 * The pino JSON lines of `text` at WARN or above, and any other line that says warning or error: a library
 * printing to the console bypasses the logger (mediabunny's "[WARNING] … loaded twice" did).
 */
function warnings(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (!line.startsWith('{')) return /warn|error/i.test(line);
    try {
      return (JSON.parse(line) as { level?: number }).level! >= WARN_LEVEL;
    } catch {
      return /warn|error/i.test(line);
    }
  });
}

describe('logs', () => {
  describe('a normal broadcast', () => {
    const cluster = new Cluster({
      heartbeatMs: 1000,
      servers: [
        { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [], ingest: true },
        { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: [], ingest: true },
      ],
    });
    beforeAll(async () => {
      await cluster.start();
    }, 120_000);
    afterAll(() => cluster.stop());

    it('logs no WARN at the hub or the entry servers from start to end', async () => {
      await exec(process.execPath, publishArgs(cluster.hubUrl, join(MEDIA_DIR, 'demo-testsrc.webm'), 'quiet-show', ['--fast', '--json']), {
        cwd: ROOT,
      });
      // Both servers finalized and reported it: the closes that follow the end have crossed by now.
      await waitFor('both copies in storage', async () => (await cluster.state()).servers.every((s) => s.storageCount === 1), 15_000);
      const hubUrl = cluster.hubUrl;
      const catalog = (await (await fetch(`${hubUrl}/api/catalog`)).json()) as { assets: { id: string; live: boolean }[] };
      expect(catalog.assets.find((a) => a.id === 'quiet-show')?.live).toBe(false);
      expect(warnings(cluster.hub!.output())).toEqual([]);
      for (const s of cluster.servers.values()) expect(warnings(s.output())).toEqual([]);
    });
  });

  describe('closes that cross', () => {
    // The hub alone, with a scripted media server: it is the director, picks itself
    // and accepts the session, so each side's close can be sent exactly when wanted.
    const cluster = new Cluster({ servers: [], heartbeatMs: 1000 });
    let server: Awaited<ReturnType<typeof connectServer>> | undefined;
    beforeAll(async () => {
      await cluster.start();
      const s = await connectServer(cluster.hubUrl, 'scripted-1');
      server = s;
      s.on('select', (req: { epoch: number }, ack: (r: unknown) => void) =>
        ack({ ok: true, serverId: 'scripted-1', reason: 'storage', loadFactor: 0, epoch: req.epoch }),
      );
      s.on('session-open', (_m: unknown, ack: (r: unknown) => void) => ack({ ok: true }));
      const asset = { id: 'crossing', bytes: 1000, mime: 'video/webm' };
      const reg = await ask(s, 'register', {
        id: 'scripted-1',
        region: 'here',
        lat: 0,
        lon: 0,
        roles: ['edge'],
        maxSessions: 10,
        uplinkMbps: 100,
        load: { sessions: 0, egressMbps: 0, cpu: 0 },
        cache: [],
        storage: [asset],
        live: [],
      });
      expect(reg).toMatchObject({ ok: true });
    }, 120_000);
    afterAll(async () => {
      server?.close();
      await cluster.stop();
    });

    /** Both sockets' earlier messages have been handled once each answers an ack. */
    const settled = async (client: Awaited<ReturnType<typeof connect>>) => {
      await ask(server!, 'resync');
      await ask(client, 'catalog');
    };

    it('a server closing a session the client just left, and a client leaving a session the server just closed, log no WARN', async () => {
      const client = await connect(cluster.hubUrl);
      try {
        const before = cluster.hub!.output().length;
        const a = await ask(client, 'watch', { assetId: 'crossing' });
        expect(a).toMatchObject({ ok: true });
        client.emit('leave', { sessionId: a.sessionId });
        await new Promise<void>((r) => server!.once('session-close', () => r()));
        server!.emit('session-close', { sessionId: a.sessionId });
        const b = await ask(client, 'watch', { assetId: 'crossing' });
        server!.emit('session-close', { sessionId: b.sessionId });
        await new Promise<void>((r) => client.once('session-close', () => r()));
        client.emit('leave', { sessionId: b.sessionId });
        await settled(client);
        // Someone else's leave is still refused and logged: once its WARN is out, every earlier line is too.
        const c = await ask(client, 'watch', { assetId: 'crossing' });
        const other = await connect(cluster.hubUrl);
        other.emit('leave', { sessionId: c.sessionId });
        const logged = await waitFor("the intruder's leave logged", () => {
          const w = warnings(cluster.hub!.output().slice(before));
          return w.length > 0 && w;
        });
        other.close();
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatch(/leave for a session this client is not part of/);
      } finally {
        client.close();
      }
    });
  });

  describe('Ctrl-C on baton demo', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-demo-logs-'));
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('logs no WARN and prints one "stopped" line', async () => {
      // Its own process group, as a terminal's foreground job: Ctrl-C reaches every process of it.
      const demo = spawn(process.execPath, [BATON, 'demo', '--port', '0', '--data-dir', dataDir, '--no-build'], {
        cwd: ROOT,
        detached: true,
        env: { ...process.env, BATON_LOG_FORMAT: 'json', BATON_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      demo.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
      demo.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
      try {
        await waitFor('the demo to be up', () => /Baton is running: 3 media servers and the hub/.test(stdout), 90_000, 100);
        process.kill(-demo.pid!, 'SIGINT');
        expect(await exited).toBe(0);
      } finally {
        if (demo.exitCode === null) process.kill(-demo.pid!, 'SIGKILL');
      }
      expect(warnings(stderr)).toEqual([]);
      expect(`${stdout}${stderr}`.match(/stopped/gi)).toHaveLength(1);
    });
  });
});
