// H.264 over WHIP, as OBS sends it: GStreamer's webrtcbin with openh264enc publishes to a real hub and two entry servers; WHEP plays it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, ROOT, waitFor } from '../helpers/cluster.js';
import { ffprobeFrames, GI_PACKAGES, HAVE_GI, INGEST_PAIR, videoPts, whepPlay, whipPublish } from '../helpers/gstreamer.js';

/** openh264enc is in gstreamer1.0-plugins-bad (Debian builds it against libopenh264). */
const HAVE_OPENH264 = HAVE_GI && spawnSync('gst-inspect-1.0', ['openh264enc'], { encoding: 'utf8' }).status === 0;
if (!HAVE_OPENH264) console.warn(`whip-h264 tests skipped: no GStreamer bindings or openh264enc (install ${GI_PACKAGES})`);

const SERVERS = [...INGEST_PAIR];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The video stream's codec, profile and size, as ffprobe reads them. */
function videoStream(file: string): { codec_name: string; profile: string; width: number; height: number } {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=codec_name,profile,width,height', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { streams: ReturnType<typeof videoStream>[] }).streams[0]!;
}

function rising(pts: number[]): void {
  for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
}

describe.skipIf(!HAVE_OPENH264)('WHIP ingest of H.264 (what OBS sends) and WHEP playback', () => {
  const cluster = new Cluster({ servers: SERVERS });

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('stores byte-identical H.264 + Opus Matroska on primary and backup, and plays it back over WHEP as H.264', async () => {
    const run = await whipPublish(`${cluster.hubUrl}/whip/obs-h264?location=Paris`, 'test-key', 5, 'h264');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/POST 201/);
    expect(run.stderr).toMatch(/DELETE 200/);
    const files = SERVERS.map((s) => join(cluster.servers.get(s.id)!.storage, 'obs-h264.webm'));
    for (const f of files) expect(existsSync(f), `${f} finalized`).toBe(true);
    const [a, b] = files.map((f) => readFileSync(f));
    expect(sha256(a!)).toBe(sha256(b!));
    expect(videoStream(files[0]!)).toMatchObject({ codec_name: 'h264', profile: 'Constrained Baseline', width: 320, height: 240 });
    const frames = ffprobeFrames(files[0]!);
    // 5 s at 30 fps and 50 Opus packets a second, less connection setup and the wait for the first IDR.
    expect(frames.h264).toBeGreaterThan(60);
    expect(frames.opus).toBeGreaterThan(100);
    const pts = videoPts(files[0]!);
    expect(pts.length).toBe(frames.h264);
    rising(pts);

    await waitFor('obs-h264 in the catalog on both servers', async () => {
      const r = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as {
        assets: { id: string; holders: string[]; live: boolean }[];
      };
      const e = r.assets.find((x) => x.id === 'obs-h264');
      return e && e.holders.length === 2 && !e.live;
    });

    // WHEP: GStreamer offers H.264 only, gets the stored frames back (paced in real time), writes Matroska.
    const out = join(mkdtempSync(join(tmpdir(), 'whep-h264-')), 'played.mkv');
    const played = await whepPlay(`${cluster.hubUrl}/whep/obs-h264`, out, 3, 'h264');
    expect(played.code, played.stderr).toBe(0);
    expect(played.stderr).toMatch(/receiving H264/);
    expect(videoStream(out)).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    const got = ffprobeFrames(out);
    expect(got.h264).toBeGreaterThan(45);
    expect(got.h264).toBeLessThan(3.5 * 30 + 30);
    expect(got.opus).toBeGreaterThan(75);

    // A player that receives VP8 only is told why.
    const offer = readFileSync(join(ROOT, 'test/fixtures/whep-offer.sdp'), 'utf8');
    const vp8Only = await fetch(`${cluster.hubUrl}/whep/obs-h264`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: offer,
    });
    expect(vp8Only.status).toBe(400);
    expect(await vp8Only.text()).toMatch(/asset's video is H\.264; the offer receives only VP8/);
  }, 120_000);

  // Last: it kills par-1.
  it('keeps what the backup stored when the primary is SIGKILLed, resumes it there as H.264, and plays it over WHEP', async () => {
    const publishing = whipPublish(`${cluster.hubUrl}/whip/obs-kill?location=Paris`, 'test-key', 30, 'h264');
    const backup = cluster.servers.get('nyc-1')!.storage;
    await waitFor(
      'the backup storing obs-kill',
      async () => {
        const nyc = (await cluster.state()).servers.find((x) => x.id === 'nyc-1');
        return (nyc?.live as { id: string; bytes: number }[] | undefined)?.some((l) => l.id === 'obs-kill' && l.bytes > 100_000);
      },
      30_000,
    );
    // Live: a WHEP player joins mid-broadcast, from the newest keyframe (its SPS and PPS in band).
    const live = join(mkdtempSync(join(tmpdir(), 'whep-h264-live-')), 'live.mkv');
    const watched = await whepPlay(`${cluster.hubUrl}/whep/obs-kill`, live, 4, 'h264');
    expect(watched.code, watched.stderr).toBe(0);
    expect(ffprobeFrames(live).h264, watched.stderr).toBeGreaterThan(20);
    await cluster.kill('par-1');
    await waitFor('the hub without par-1', async () => !(await cluster.state()).servers.some((x) => x.id === 'par-1'));
    const before = readFileSync(join(backup, 'obs-kill.webm.part'));
    const beforeFile = join(mkdtempSync(join(tmpdir(), 'obs-kill-')), 'before.mkv');
    writeFileSync(beforeFile, before);
    const framesBefore = ffprobeFrames(beforeFile);
    expect(framesBefore.h264).toBeGreaterThan(30);

    const resumed = await whipPublish(`${cluster.hubUrl}/whip/obs-kill?location=Paris`, 'test-key', 4, 'h264');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/POST 201/);
    expect(resumed.stderr).toMatch(/DELETE 200/);
    // The first publisher's DELETE (now, not at the end of its 30 s) cannot succeed: its primary is dead.
    publishing.stop();
    expect((await publishing).code).not.toBe(0);

    const stored = join(backup, 'obs-kill.webm');
    const after = readFileSync(stored);
    expect(sha256(after.subarray(0, before.byteLength))).toBe(sha256(before));
    const frames = ffprobeFrames(stored);
    expect(frames.h264).toBeGreaterThan(framesBefore.h264! + 60);
    const pts = videoPts(stored);
    expect(pts.length).toBe(frames.h264);
    rising(pts);

    const out = join(mkdtempSync(join(tmpdir(), 'whep-h264-kill-')), 'played.mkv');
    const played = await whepPlay(`${cluster.hubUrl}/whep/obs-kill`, out, 4, 'h264');
    expect(played.code, played.stderr).toBe(0);
    expect(played.stderr).toMatch(/server nyc-1/);
    expect(ffprobeFrames(out).h264, played.stderr).toBeGreaterThan(30);
  }, 150_000);
});
