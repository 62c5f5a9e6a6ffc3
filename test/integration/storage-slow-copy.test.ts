// A file copied slowly into a running media server's storage: neither listed, reported to the hub, postered nor
// encoded into renditions while it grows; once complete and still, exactly once. Real hub, server and ffmpeg.
// Before (review7 F3), every rescan of the copy listed the partial file (`storage changed` to the hub each time) and
// started ffmpeg on it: 7 + 6 rendition encodes of truncated sources for a 790 KB copy over 20 s.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { STORAGE_RESCAN_MS } from '../../node-app/server/rescan-schedule.js';

interface LogLine {
  msg?: string;
  asset?: string;
  added?: string[];
  changed?: string[];
  described?: string[];
}

/** The server's JSON log lines so far. */
function logLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // A line cut by the output's bound.
    }
  }
  return lines;
}

/** What the server did about `show` and its renditions, as its log says. */
function showEvents(output: string) {
  const lines = logLines(output);
  const about = (l: LogLine, id: string) => [l.added, l.changed, l.described].some((ids) => ids?.includes(id));
  return {
    reports: lines.filter((l) => l.msg === 'storage changed' && about(l, 'show')),
    encodes: lines.filter((l) => (l.msg === 'rendition made' || l.msg === 'no rendition made') && l.asset?.startsWith('show__')),
    posters: lines.filter((l) => (l.msg === 'poster made' || l.msg === 'no poster for this asset') && l.asset === 'show'),
  };
}

describe('a file copied slowly into storage', () => {
  const cluster = new Cluster({
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [], renditions: true }],
  });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('is listed, reported, postered and encoded once it is complete and still, exactly once, never while it grows', async () => {
    const server = cluster.servers.get('fra-1')!;
    const whole = readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'));
    const path = join(server.storage, 'show.webm');
    // 24 pieces an eighth of the rescan interval apart: every rescan during the copy sees the file move, and the copy
    // spans several rescans (3 × STORAGE_RESCAN_MS at least). The first piece holds the whole head (Tracks).
    const pieces = 24;
    const step = Math.ceil(whole.length / pieces);
    const gapMs = STORAGE_RESCAN_MS / 8;
    let longestGapMs = 0;
    const partial: number[] = [];
    let copying = true;
    // The hub's catalog, watched while the copy runs (without holding the copy back).
    const watcher = (async () => {
      while (copying) {
        const r = await fetch(`${cluster.hubUrl}/api/catalog?id=show`).catch(() => undefined);
        const body = r && ((await r.json()) as { assets: { id: string; bytes: number }[] });
        const entry = body?.assets.find((a) => a.id === 'show');
        if (entry && entry.bytes !== whole.length) partial.push(entry.bytes);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    writeFileSync(path, whole.subarray(0, step));
    for (let i = 1; i < pieces; i++) {
      const before = performance.now();
      await new Promise((r) => setTimeout(r, gapMs));
      appendFileSync(path, whole.subarray(i * step, (i + 1) * step));
      longestGapMs = Math.max(longestGapMs, performance.now() - before);
    }
    // Right at the last piece (no rescan can have taken it as still yet): nothing done about it while it grew.
    const during = showEvents(server.output());
    copying = false;
    await watcher;
    // A copy this process stalled for a whole rescan interval was, to the server, a file that held still.
    if (longestGapMs >= STORAGE_RESCAN_MS)
      throw new Error(`this test process stalled the copy for ${Math.round(longestGapMs)} ms (the machine is overloaded): no verdict`);
    expect(readFileSync(path).equals(whole)).toBe(true);
    expect(during.reports).toEqual([]);
    expect(during.encodes).toEqual([]);
    expect(during.posters).toEqual([]);
    expect(partial).toEqual([]);

    // Complete and still: listed with its whole size, then 144p and 240p made from the whole file.
    await waitFor(
      'show listed whole in the hub catalog',
      async () => {
        const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=show`)).json()) as {
          assets: { id: string; bytes: number }[];
        };
        return assets.find((a) => a.id === 'show')?.bytes === whole.length;
      },
      60_000,
    );
    await waitFor('both renditions made', async () => showEvents(server.output()).encodes.length >= 2, 120_000);
    // A few more rescans: nothing is done about it again.
    await new Promise((r) => setTimeout(r, 3 * STORAGE_RESCAN_MS));
    const after = showEvents(server.output());
    // Added once; `described` once more when its poster is made (the poster's token), never `changed`.
    const said = (l: LogLine) => (['added', 'changed', 'described'] as const).filter((k) => l[k]?.includes('show')).join();
    expect(after.reports.map(said)).toEqual(['added', 'described']);
    expect(after.encodes.map((l) => `${l.msg} ${l.asset}`).sort()).toEqual(['rendition made show__144p', 'rendition made show__240p']);
    expect(after.posters.map((l) => l.msg)).toEqual(['poster made']);
  }, 240_000);
});
