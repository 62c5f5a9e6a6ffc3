// A broadcast recorded without a Duration (as MediaRecorder writes it) gets its
// duration and bitrate in /api/catalog once finalized, and is no longer live.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, ROOT, waitFor } from '../helpers/cluster.js';

const exec = promisify(execFile);
const CLIP_S = 4;

interface CatalogEntry {
  id: string;
  bytes: number;
  live: boolean;
  durationMs?: number | null;
  bitrateBps?: number;
  holders: string[];
}

describe('catalog: a finished broadcast', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-recording-'));
  const clip = join(dir, 'recording.webm');
  const cluster = new Cluster({
    heartbeatMs: 1000,
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [], ingest: true },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: [], ingest: true },
    ],
  });
  beforeAll(async () => {
    // `-live 1`: unknown Segment size and no Duration or Cues, like a browser's MediaRecorder.
    await exec('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440',
      '-t',
      String(CLIP_S),
      '-c:v',
      'libvpx',
      '-b:v',
      '400k',
      '-c:a',
      'libopus',
      '-live',
      '1',
      '-f',
      'webm',
      clip,
    ]);
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has durationMs from its last block and bitrateBps = bytes · 8 / duration, and is not live', async () => {
    const { stdout } = await exec(
      process.execPath,
      [
        BATON,
        'publish',
        '--hub',
        cluster.hubUrl,
        '--file',
        clip,
        '--location',
        'Lisbon',
        '--stream-key',
        'test-key',
        '--stream-id',
        'recorded-show',
        '--fast',
        '--json',
      ],
      { cwd: ROOT },
    );
    expect(JSON.parse(stdout)).toMatchObject({ streamId: 'recorded-show', bytes: statSync(clip).size });
    const entry = await waitFor(
      "the recording in both servers' storage",
      async () => {
        const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: CatalogEntry[] };
        const e = assets.find((a) => a.id === 'recorded-show');
        return e && (await cluster.state()).servers.every((s) => s.storageCount === 1) ? e : undefined;
      },
      30_000,
    );
    expect(entry.live).toBe(false);
    expect(entry.bytes).toBe(statSync(clip).size);
    // The last block starts within a frame (40 ms video, 20 ms audio) of the end.
    expect(entry.durationMs).toBeGreaterThanOrEqual(CLIP_S * 1000 - 100);
    expect(entry.durationMs).toBeLessThanOrEqual(CLIP_S * 1000 + 50);
    expect(entry.bitrateBps).toBe(Math.round((entry.bytes * 8 * 1000) / entry.durationMs!));
  });
});
