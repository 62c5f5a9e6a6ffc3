// OBS Studio's WHIP output, rebuilt on the library OBS uses (libdatachannel, through node-datachannel) with OBS's
// tracks, codecs, packetizers, RTCP handlers, HTTP exchange and stop order (test/helpers/obs-whip.ts): x264-made
// Baseline H.264 with SPS/PPS before each IDR and Opus, published in real time to a hub and two entry servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../helpers/cluster.js';
import { ffprobeFrames, HAVE_GI, INGEST_PAIR, videoPts, whipPublish } from '../helpers/gstreamer.js';
import { obsClip, obsWhipPublish } from '../helpers/obs-whip.js';

const SERVERS = [...INGEST_PAIR];
const SECONDS = 6;
const FPS = 30;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('WHIP ingest from an OBS-built publisher (libdatachannel, H.264 + Opus)', () => {
  const cluster = new Cluster({ servers: SERVERS, hubArgs: ['--stream-keys', 'test-key,other-key'] });
  let clip: string;

  beforeAll(async () => {
    clip = obsClip(mkdtempSync(join(tmpdir(), 'whip-obs-')), { seconds: SECONDS, fps: FPS, size: '640x360', videoKbps: 1000 });
    await cluster.start();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('answers 201 with a Location, stores byte-identical H.264 + Opus on primary and backup, and answers the DELETE 200', async () => {
    let resource = '';
    const run = await obsWhipPublish(`${cluster.hubUrl}/whip/obs-show?location=Paris`, 'test-key', clip, {
      onSending: (r) => (resource = r.resourceUrl ?? ''),
    });
    expect(run.postStatuses).toEqual([201]);
    expect(resource).toMatch(new RegExp(`^${cluster.hubUrl}/whip/obs-show/`));
    expect(run.states).toContain('connected');
    expect(run.videoFrames).toBe(SECONDS * FPS);
    expect(run.deletes.map((d) => d.status)).toEqual([200]);
    const done = JSON.parse(run.deletes[0]!.body) as { bytes: number; sha256: string; stored: string[] };
    expect(done.stored.sort()).toEqual(SERVERS.map((s) => s.id).sort());

    const files = SERVERS.map((s) => join(cluster.servers.get(s.id)!.storage, 'obs-show.webm'));
    for (const f of files) expect(existsSync(f), `${f} finalized`).toBe(true);
    const [a, b] = files.map((f) => readFileSync(f));
    expect(sha256(a!)).toBe(sha256(b!));
    expect(sha256(a!)).toBe(done.sha256);
    const frames = ffprobeFrames(files[0]!);
    // Everything after the first IDR the server saw: at most the first second (one GOP) is lost to the connection.
    expect(frames.h264).toBeGreaterThanOrEqual((SECONDS - 1) * FPS);
    expect(frames.opus).toBeGreaterThan((SECONDS - 1) * 50);
    const pts = videoPts(files[0]!);
    expect(pts.length).toBe(frames.h264);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
    // Frames at OBS's pace: the stored times span what was sent.
    expect(pts.at(-1)! - pts[0]!).toBeGreaterThan(SECONDS - 1.5);
  }, 120_000);

  // OBS closes its peer and sends DELETE before it reconnects, so the recording is finished (both copies finalized, as
  // the DELETE asked) when its new POST comes. The same stream key's POST within the window carries it on: both copies
  // are reopened and grow on the same timeline, and the final DELETE finalizes the whole broadcast.
  it('OBS reconnecting after a lost connection (peer closed, DELETE, a new POST 2 s later) carries the recording on, on both servers', async () => {
    const run = await obsWhipPublish(`${cluster.hubUrl}/whip/obs-blip?location=Paris`, 'test-key', clip, { loseConnectionAtS: 2.5 });
    expect(run.postStatuses).toEqual([201, 201]);
    expect(run.ended).toBe('file');
    expect(run.deletes.map((d) => d.status)).toEqual([200, 200]);
    const [first, whole] = run.deletes.map((d) => JSON.parse(d.body) as { bytes: number; sha256: string; stored: string[] });
    expect(whole!.stored.sort()).toEqual(SERVERS.map((s) => s.id).sort());
    expect(whole!.bytes).toBeGreaterThan(first!.bytes);
    const files = SERVERS.map((s) => join(cluster.servers.get(s.id)!.storage, 'obs-blip.webm'));
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(sha256(bytes)).toBe(whole!.sha256);
      // The first part is the recording's head, byte for byte: carried on, not replaced.
      expect(sha256(bytes.subarray(0, first!.bytes))).toBe(first!.sha256);
    }
    const frames = ffprobeFrames(files[0]!);
    const before = (first!.bytes / whole!.bytes) * frames.h264;
    // The second connection's frames from its first IDR (at most a second after it connects) to the end are there.
    expect(frames.h264).toBeGreaterThanOrEqual(Math.floor(before) + FPS / 2);
    const pts = videoPts(files[0]!);
    expect(pts.length).toBe(frames.h264);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
  }, 120_000);

  it.skipIf(!HAVE_GI)(
    'an offer that cannot continue the recording (VP8 after H.264) is refused before it is touched: still stored, unchanged',
    async () => {
      const run = await obsWhipPublish(`${cluster.hubUrl}/whip/obs-codec?location=Paris`, 'test-key', clip);
      const done = JSON.parse(run.deletes[0]!.body) as { sha256: string };
      const vp8 = await whipPublish(`${cluster.hubUrl}/whip/obs-codec?location=Paris`, 'test-key', 2, 'vp8');
      expect(vp8.stderr).toMatch(/POST refused: 400 .*stored as H\.264; resume it with the same video codec/);
      for (const s of SERVERS) {
        const server = cluster.servers.get(s.id)!;
        expect(sha256(readFileSync(join(server.storage, 'obs-codec.webm')))).toBe(done.sha256);
        expect(existsSync(join(server.storage, 'obs-codec.webm.part'))).toBe(false);
      }
      const catalog = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=obs-codec`)).json()) as {
        assets: { id: string; live: boolean; holders: string[] }[];
      };
      expect(catalog.assets).toMatchObject([{ id: 'obs-codec', live: false }]);
      expect(catalog.assets[0]!.holders.sort()).toEqual(SERVERS.map((s) => s.id).sort());
    },
    120_000,
  );

  it('another stream key cannot carry a finished recording on: it is told the id is taken, and the recording is unchanged', async () => {
    const run = await obsWhipPublish(`${cluster.hubUrl}/whip/obs-once?location=Paris`, 'test-key', clip);
    expect(run.deletes.map((d) => d.status)).toEqual([200]);
    const done = JSON.parse(run.deletes[0]!.body) as { sha256: string };
    const other = await obsWhipPublish(`${cluster.hubUrl}/whip/obs-once?location=Paris`, 'other-key', clip);
    expect(other.postStatuses).toEqual([409]);
    expect(other.refusal).toMatch(/an asset called obs-once already exists/);
    for (const s of SERVERS) expect(sha256(readFileSync(join(cluster.servers.get(s.id)!.storage, 'obs-once.webm')))).toBe(done.sha256);
  }, 120_000);
});
