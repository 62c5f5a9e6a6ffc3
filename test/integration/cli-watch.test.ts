// `baton watch` and `baton publish` as a user runs them: the real CLI against a real hub and server.
// A failed watch leaves no --out file; on a terminal it draws a progress bar and
// erases it before its last line; npx draws no spinner of its own.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, publishArgs, MEDIA_DIR, ROOT } from '../helpers/cluster.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'baton-cli-watch-'));

/** Runs `baton ARGS` and resolves with its exit code and output, never rejecting. */
async function baton(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [BATON, ...args], { cwd: ROOT, encoding: 'utf8' });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs a shell command on a pseudo-terminal (util-linux `script`) and returns what the terminal received. */
async function onTerminal(command: string, timeoutMs = 60_000): Promise<string> {
  const r = await exec('script', ['-qfec', command, '/dev/null'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, TERM: 'xterm', CI: '' },
  });
  return r.stdout;
}

const BRAILLE_SPINNER = /[\u2800-\u28ff]/;

describe('baton watch (the CLI)', () => {
  const cluster = new Cluster({
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-testsrc'], ingest: true },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: [], ingest: true },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unknown asset exits 1 and leaves no --out file; an existing file stays as it was', async () => {
    const out = join(dir, 'unknown.webm');
    const r = await baton(['watch', '--hub', cluster.hubUrl, '--asset', 'no-such-asset', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown-asset/);
    expect(existsSync(out)).toBe(false);
    const kept = join(dir, 'kept.webm');
    writeFileSync(kept, 'earlier');
    expect((await baton(['watch', '--hub', cluster.hubUrl, '--asset', 'no-such-asset', '--out', kept])).code).toBe(1);
    expect(readFileSync(kept, 'utf8')).toBe('earlier');
  });

  it('a hub that is down, or a URL that is not a hub, exits 1 with why and leaves no --out file', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((r) => closed.close(() => r()));
    const out = join(dir, 'hub-down.webm');
    const r = await baton(['watch', '--hub', `http://127.0.0.1:${port}`, '--asset', 'demo-testsrc', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hub-unreachable.*ECONNREFUSED.*nothing listens there/);
    expect(existsSync(out)).toBe(false);
    // A media server's HTTP port given as the hub: said so, not just "websocket error".
    const server = (await cluster.state()).servers.find((s) => s.httpUrl)!;
    const wrong = await baton(['watch', '--hub', server.httpUrl!, '--asset', 'demo-testsrc', '--out', out]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/hub-unreachable.*not a Baton hub/);
    expect(existsSync(out)).toBe(false);
  });

  it('--timeout-ms bounds a stall, not the watch: a paced watch longer than it ends with every byte', async () => {
    // demo-testsrc at playback pace takes ≈ 10 s after its fast-start burst; bytes never stop for 3 s. Before
    // 2026-12-08 the bound was the whole watch: any paced watch of an asset longer than 2 min (the default) failed.
    const out = join(dir, 'paced.webm');
    const r = await baton(['watch', '--hub', cluster.hubUrl, '--asset', 'demo-testsrc', '--out', out, '--timeout-ms', '3000', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).bytes).toBe(statSync(join(MEDIA_DIR, 'demo-testsrc.webm')).size);
    expect(readFileSync(out).equals(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')))).toBe(true);
  }, 60_000);

  it('Ctrl-C on a live stream keeps what arrived: a WebM of the broadcast up to there, and says so', async () => {
    const file = join(MEDIA_DIR, 'demo-testsrc.webm');
    const streamId = 'cli-live-stop';
    const publish = spawn(process.execPath, publishArgs(cluster.hubUrl, file, streamId), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let published = '';
    publish.stdout!.on('data', (d: Buffer) => (published += d.toString()));
    publish.stderr!.on('data', (d: Buffer) => (published += d.toString()));
    try {
      const outDir = mkdtempSync(join(dir, 'live-'));
      const out = join(outDir, 'live.webm');
      let watch: ReturnType<typeof spawn> | undefined;
      let stderr = '';
      const parts = () => readdirSync(outDir).filter((f) => f.endsWith('.part'));
      // The watch starts once the hub lists the broadcast; it stops once 100 kB of it are on disk.
      for (const deadline = Date.now() + 30_000; !watch; ) {
        if (Date.now() > deadline) throw new Error(`the broadcast never appeared in the catalog: ${published}`);
        const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: { id: string; live: boolean }[] };
        if (assets.some((a) => a.id === streamId && a.live)) {
          watch = spawn(process.execPath, [BATON, 'watch', '--hub', cluster.hubUrl, '--asset', streamId, '--out', out], { cwd: ROOT });
          watch.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        } else await new Promise((r) => setTimeout(r, 100));
      }
      const exited = new Promise<number | null>((r) => watch.once('exit', (code) => r(code)));
      for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 50))) {
        if (watch.exitCode !== null) throw new Error(`watch exited early: ${stderr}`);
        if (Date.now() > deadline) throw new Error('no 100 kB of the live stream within 30 s');
        const part = parts()[0];
        if (part && statSync(join(outDir, part)).size >= 100_000) break;
      }
      watch.kill('SIGINT');
      expect(await exited).toBe(130);
      const kept = readFileSync(out);
      expect(stderr).toMatch(new RegExp(`stopped \\(SIGINT\\); kept ${kept.length} bytes of the live stream in ${out}`));
      expect(kept.length).toBeGreaterThanOrEqual(100_000);
      expect(kept.length).toBeLessThan(statSync(file).size);
      // Joined at the live edge: the broadcast's init segment, then the published bytes from a Cluster on, unbroken.
      const src = readFileSync(file);
      const clusterId = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
      const init = src.indexOf(clusterId);
      expect(kept.subarray(0, init).equals(src.subarray(0, init))).toBe(true);
      expect(kept.subarray(init, init + 4).equals(clusterId)).toBe(true);
      const joinedAt = src.indexOf(kept.subarray(init, init + 256));
      expect(joinedAt).toBeGreaterThanOrEqual(init);
      expect(kept.subarray(init).equals(src.subarray(joinedAt, joinedAt + kept.length - init))).toBe(true);
      expect(parts()).toEqual([]);
      // ffprobe reads it as a WebM with a video stream.
      const probe = await exec('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', out], {
        encoding: 'utf8',
      });
      expect(probe.stdout).toMatch(/video/);
    } finally {
      publish.kill('SIGKILL');
    }
  }, 90_000);

  it('on a terminal: a progress bar with %, MB, rate and ETA, erased before the last line; no npx spinner', async () => {
    const out = join(dir, 'tty.webm');
    const screen = await onTerminal(`npx baton watch --hub ${cluster.hubUrl} --asset demo-testsrc --out ${out} --fast`);
    expect(readFileSync(out).equals(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')))).toBe(true);
    expect(screen).toMatch(/█[█░]* +\d+% \d+\.\d\/\d+\.\d MB \d+\.\d Mbit\/s/);
    expect(screen).toMatch(/ETA \d+s/);
    expect(screen).not.toMatch(BRAILLE_SPINNER);
    // What stays on the terminal's last line is the result: the bar was erased (\r + erase-line) before it.
    const lastLine = screen.trimEnd().split('\n').at(-1)!;
    expect(lastLine.slice(lastLine.lastIndexOf('\r') + 1)).toMatch(/^\x1b\[Kreceived \d+ bytes from fra-1/);
    expect(screen.slice(screen.lastIndexOf('received'))).not.toMatch(/█|░/);
  });

  it("publish on a terminal: the same bar with each entry server's share, erased before the last line", async () => {
    const file = join(MEDIA_DIR, 'demo-testsrc.webm');
    const screen = await onTerminal(
      `npx baton publish --hub ${cluster.hubUrl} --file ${file} --location Lisbon --stream-key test-key --stream-id tty-publish --fast`,
    );
    expect(screen).toMatch(/█[█░]* +\d+% \d+\.\d\/\d+\.\d MB \d+\.\d Mbit\/s.*(fra-1|iad-1)\*? \d+% acked/);
    expect(screen).not.toMatch(BRAILLE_SPINNER);
    const lastLine = screen.trimEnd().split('\n').at(-1)!;
    expect(lastLine.slice(lastLine.lastIndexOf('\r') + 1)).toMatch(/^\x1b\[Kpublished tty-publish: \d+ bytes/);
  });
});
