// A media server SIGKILLed while ffmpeg encodes a rendition: no exit handler runs, yet its ffmpeg must not outlive it
// (before: it went on, reparented to init, burning CPU and writing into the storage a restarted server works on). The
// restarted server then removes the partial file and makes the rendition whole. Real processes; ffmpeg is slowed to
// real time (`-re`, by a shim first on the server's PATH) so the encode is still running when the server dies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, waitFor } from '../helpers/cluster.js';
import { makeTestClip } from '../helpers/test-clip.js';
import { processRuns } from '../helpers/process-alive.js';

const CLIP = 'slow-talk';
const CLIP_S = 20;
const SERVER = { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [], renditions: true };

/** The pids of running ffmpeg processes whose command line names `dir` (zombies are dead: not counted). */
function ffmpegWriting(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!argv.some((a) => a.endsWith('ffmpeg')) || !argv.some((a) => a.startsWith(`${dir}/`))) continue;
      if (!processRuns(Number(name))) continue;
      pids.push(Number(name));
    } catch {
      // It exited while we looked.
    }
  }
  return pids;
}

function durationS(path: string): number {
  return Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path], { encoding: 'utf8' }));
}

describe('ffmpeg of a SIGKILLed media server', () => {
  let cluster: Cluster | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'baton-orphans-'));
  const storage = join(tmp, 'storage');
  const shim = join(tmp, 'bin');
  const found: number[] = [];

  beforeAll(async () => {
    mkdirSync(storage);
    mkdirSync(shim);
    makeTestClip(join(storage, `${CLIP}.webm`), { seconds: CLIP_S, size: '640x360', codec: 'libvpx', gop: 30, videoKbps: 400 });
    const ffmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
    // Same process all along (exec): the pid the server spawned is the one that encodes.
    writeFileSync(join(shim, 'ffmpeg'), `#!/bin/sh\nexec ${ffmpeg} -re "$@"\n`);
    chmodSync(join(shim, 'ffmpeg'), 0o755);
    cluster = new Cluster({ servers: [] });
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    // A failed run leaves no ffmpeg behind on the machine either.
    for (const pid of found) if (processRuns(pid)) process.kill(pid, 'SIGKILL');
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('dies with its server; the restarted server removes the partial rendition and makes it whole', async () => {
    const slow = await cluster!.startServer({ ...SERVER, storageDir: storage, env: { PATH: `${shim}:${process.env.PATH}` } });
    const status = () => renditionStatus(cluster!);
    // The first rung is being encoded, and has written part of its file.
    await waitFor('a rendition encode under way', async () => ((await status()).running?.progress ?? 0) > 0, 60_000, 100);
    const encoders = await waitFor('its ffmpeg', () => {
      const pids = ffmpegWriting(storage);
      return pids.length > 0 && pids;
    });
    found.push(...encoders);
    expect(readdirSync(storage).some((f) => /__144p\.webm\.\d+\.tmp$/.test(f))).toBe(true);

    slow.child.kill('SIGKILL');
    await slow.exited;
    // The kernel kills it at once; a few seconds leave room for a loaded machine, far less than the encode's 20 s.
    await waitFor('no ffmpeg of the killed server running', () => encoders.every((pid) => !processRuns(pid)), 5_000, 50);

    // Restarted on the same storage, at full speed: the partial file goes, and every rung is made from the start.
    const restarted = await cluster!.startServer({ ...SERVER, storageDir: storage });
    await waitFor(
      'both renditions made again',
      () => existsSync(join(storage, `${CLIP}__144p.webm`)) && existsSync(join(storage, `${CLIP}__240p.webm`)),
      120_000,
      200,
    );
    expect(restarted.output()).toMatch(/partial renditions, posters or sidecars of a previous run removed/);
    await waitFor('no encode left running', async () => (await status()).running === null, 60_000, 200);
    // Nothing of the killed server's is left; the restarted one may still be writing a rendition's poster (its own
    // `.<pid>.tmp`, renamed when done: CI once looked in that moment), so its files are awaited, not expected gone.
    expect(readdirSync(storage).filter((f) => f.endsWith(`.${slow.child.pid}.tmp`))).toEqual([]);
    await waitFor('no temporary file left', () => readdirSync(storage).every((f) => !f.endsWith('.tmp')), 30_000, 200);
    for (const rung of ['144p', '240p']) expect(durationS(join(storage, `${CLIP}__${rung}.webm`))).toBeCloseTo(CLIP_S, 0);
  }, 240_000);
});

/** The rendition maker's status on the test's server, as its HTTP API reports it. */
async function renditionStatus(cluster: Cluster): Promise<{ running: { progress: number } | null }> {
  const httpUrl = (await cluster.state()).servers.find((s) => s.id === SERVER.id)!.httpUrl!;
  return ((await (await fetch(`${httpUrl}/api/status`)).json()) as { renditions: { running: { progress: number } | null } }).renditions;
}
