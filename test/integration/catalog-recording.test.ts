// A broadcast recorded without a Duration (as MediaRecorder writes it) gets its
// duration and bitrate in /api/catalog once finalized, and is no longer live; it keeps
// the title and description it was published with, and gets a poster.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, publishArgs, ROOT, waitFor } from '../helpers/cluster.js';

const exec = promisify(execFile);
const CLIP_S = 4;

interface CatalogEntry {
  id: string;
  bytes: number;
  live: boolean;
  durationMs?: number | null;
  bitrateBps?: number;
  holders: string[];
  title?: string;
  description?: string;
  posterUrl?: string;
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
      publishArgs(cluster.hubUrl, clip, 'recorded-show', [
        '--title',
        'The recorded show',
        '--description',
        'Four seconds of test card.\nWith a tone.',
        '--fast',
        '--json',
      ]),
      { cwd: ROOT },
    );
    expect(JSON.parse(stdout)).toMatchObject({ streamId: 'recorded-show', bytes: statSync(clip).size });
    const entry = await waitFor(
      "the recording in both servers' storage, no longer live",
      async () => {
        const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: CatalogEntry[] };
        const e = assets.find((a) => a.id === 'recorded-show');
        // The catalog entry comes first, then the live entry is dropped (viewers always find a holder).
        return e && !e.live && (await cluster.state()).servers.every((s) => s.storageCount === 1) ? e : undefined;
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

  it('keeps the broadcaster’s title and description (a sidecar beside each copy) and gets a poster from its first keyframe', async () => {
    const entry = await waitFor(
      'the recording with a poster',
      async () => {
        const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: CatalogEntry[] };
        const e = assets.find((a) => a.id === 'recorded-show');
        return e?.posterUrl ? e : undefined;
      },
      30_000,
    );
    expect(entry).toMatchObject({ title: 'The recorded show', description: 'Four seconds of test card.\nWith a tone.' });
    for (const s of cluster.servers.values()) {
      expect(JSON.parse(readFileSync(join(s.storage, 'recorded-show.json'), 'utf8'))).toEqual({
        title: 'The recorded show',
        description: 'Four seconds of test card.\nWith a tone.',
      });
    }
    const res = await fetch(entry.posterUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const jpeg = new Uint8Array(await res.arrayBuffer());
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const again = await fetch(entry.posterUrl!, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
    // An asset without a poster, or a path that is not an asset id, is a plain 404.
    const origin = new URL(entry.posterUrl!).origin;
    expect((await fetch(`${origin}/poster/no-such.jpg`)).status).toBe(404);
    expect((await fetch(`${origin}/poster/..%2Fsecret.jpg`)).status).toBe(404);
  });
});
