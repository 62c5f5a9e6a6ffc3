// `baton publish --file` interrupted by Ctrl-C: the broadcast ends at the next Cluster the normal way, finalized on both
// entry servers at once (a playable, shorter recording), and the CLI says what it published and exits 130.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BATON, Cluster, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';
import { ffprobeFrames, videoPts } from '../helpers/gstreamer.js';
import { ClusterIndex } from '../../node-app/ingest/cluster-index.js';

const STREAM = 'pi-show';
const ARGS = ['--location', 'Lisbon', '--stream-key', 'test-key', '--stream-id', STREAM];

interface CatalogEntry {
  id: string;
  bytes: number;
  live: boolean;
  durationMs?: number | null;
  holders: string[];
}

/** `baton publish …` as a child process: its exit code and output, and the process (to signal it). */
function publishCli(hubUrl: string, args: string[]) {
  const child = spawn(process.execPath, [BATON, 'publish', '--hub', hubUrl, '--file', join(MEDIA_DIR, 'demo-smpte.webm'), ...args], {
    cwd: ROOT,
    env: { ...process.env, BATON_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out, exited };
}

async function catalogEntry(hubUrl: string): Promise<CatalogEntry | undefined> {
  const { assets } = (await (await fetch(`${hubUrl}/api/catalog`)).json()) as { assets: CatalogEntry[] };
  return assets.find((a) => a.id === STREAM);
}

describe('baton publish --file: Ctrl-C', () => {
  const cluster = new Cluster({
    rotationMs: 0,
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [], ingest: true },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: [], ingest: true },
    ],
  });
  const copies = () => [...cluster.servers.values()].map((s) => join(s.storage, `${STREAM}.webm`));
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('ends the broadcast at the next Cluster, finalized and playable on both servers; the CLI exits 130', async () => {
    const src = readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'));
    // The clip's Clusters: where each starts and its media time.
    const times: number[] = [];
    const index = new ClusterIndex();
    index.onClusterTime = (ms) => times.push(ms);
    index.push(src);
    const starts = index.recentClusters();
    expect(starts.length).toBe(times.length);
    const fileMs = times.at(-1)!;

    const run = publishCli(cluster.hubUrl, ARGS);
    // A few seconds in (paced at the media bitrate): both copies hold the clip's first 3 s.
    const parts = copies().map((f) => `${f}.part`);
    const threeS = starts[times.findIndex((t) => t >= 3_000)]!;
    await waitFor('3 s of the clip on both servers', () => parts.every((f) => existsSync(f) && statSync(f).size > threeS), 30_000).catch(
      (err) => {
        throw new Error(`${err.message}; the CLI said: ${run.out.stderr}`);
      },
    );
    // At least what was sent before the signal: both servers hold it.
    const sentBefore = Math.min(...parts.map((f) => statSync(f).size));
    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toMatch(/interrupted; the broadcast ends at the next Cluster and is finalized on both servers/);
    const said =
      /published pi-show: (\d+) bytes, sha256 [0-9a-f]{64}, stored on (\S+) and (\S+) \(interrupted before the end of the file\)/.exec(
        run.out.stdout,
      );
    expect(said, run.out.stdout + run.out.stderr).not.toBeNull();
    expect([said![2], said![3]].sort()).toEqual(['fra-1', 'iad-1']);
    const bytes = Number(said![1]);
    // Ended at a Cluster start, at or after what was sent, before the file's end.
    expect(starts).toContain(bytes);
    expect(bytes).toBeGreaterThanOrEqual(sentBefore);
    expect(bytes).toBeLessThan(src.length);

    // Finalized on both at once (not when the servers give the broadcast up, 30 s later): whole, the clip's first bytes.
    const entry = await waitFor('the recording in the catalog on both, no longer live', async () => {
      const e = await catalogEntry(cluster.hubUrl);
      return e && !e.live && e.holders.length === 2 ? e : undefined;
    });
    expect(entry.bytes).toBe(bytes);
    for (const f of copies()) expect(readFileSync(f).equals(src.subarray(0, bytes))).toBe(true);
    for (const s of cluster.servers.values()) expect(readdirSync(s.storage).filter((f) => f.endsWith('.part'))).toEqual([]);
    // Its real duration: shorter than the clip, at least up to the Cluster that was being sent at the signal.
    const sentMs = times[starts.findLastIndex((at) => at <= sentBefore)]!;
    expect(entry.durationMs).toBeLessThan(fileMs);
    expect(entry.durationMs).toBeGreaterThanOrEqual(sentMs);
    // Plays to its end: every frame decodes, the last video frame within a frame of the recording's end.
    const frames = ffprobeFrames(copies()[0]!);
    expect(frames.vp8).toBeGreaterThan(0);
    expect(videoPts(copies()[0]!).at(-1)! * 1000).toBeGreaterThanOrEqual(entry.durationMs! - 100);

    // The id is free of any live broadcast at once: a re-publish is answered as for any stored recording.
    const again = publishCli(cluster.hubUrl, ['--fast', ...ARGS]);
    expect(await again.exited).toBe(1);
    expect(again.out.stderr).toMatch(/conflict: an asset called pi-show already exists/);
  }, 90_000);
});
