// WHEP playback end to end: GStreamer's webrtcbin (scripts/whep-play.py) plays stored assets from a real hub and servers into WebM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, Cluster, ROOT } from '../helpers/cluster.js';
import { ffprobeFrames, HAVE_GI, PYTHON, whepPlay } from '../helpers/gstreamer.js';

if (!HAVE_GI) console.warn(`whep-play tests skipped: ${PYTHON} cannot import gi/GstWebRTC (see test/helpers/gstreamer.ts)`);

const SERVERS = [
  {
    id: 'par-1',
    region: 'eu-west',
    lat: 48.86,
    lon: 2.35,
    ingest: true,
    assets: ['demo-smpte', 'demo-mandelbrot'],
    extraArgs: ['--rtc-bind-address', '127.0.0.1'],
  },
  {
    id: 'nyc-1',
    region: 'us-east',
    lat: 40.71,
    lon: -74.0,
    ingest: true,
    assets: ['demo-smpte'],
    extraArgs: ['--rtc-bind-address', '127.0.0.1'],
  },
];

describe.skipIf(!HAVE_GI)('WHEP playback to GStreamer', () => {
  const cluster = new Cluster({ servers: SERVERS });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it('plays a stored asset in real time: VP8 + Opus frames from the server the director named', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'whep-')), 'played.webm');
    const run = await whepPlay(`${cluster.hubUrl}/whep/demo-smpte`, out, 4);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/POST 201 .* server (par-1|nyc-1) \((cache|storage|[a-z-]+)\)/);
    expect(run.stderr).toMatch(/receiving VP8/);
    expect(run.stderr).toMatch(/DELETE 200/);
    const frames = ffprobeFrames(out);
    // 4 s at 30 fps and 50 Opus packets a second (a stored asset starts on a keyframe), less connection setup;
    // not much more than 4 s: the frames are paced in real time, not sent as fast as the file reads.
    expect(frames.vp8).toBeGreaterThan(60);
    expect(frames.vp8).toBeLessThan(4.5 * 30 + 30);
    expect(frames.opus).toBeGreaterThan(100);
    expect(frames.opus).toBeLessThan(4.5 * 50 + 50);
    expect(
      readFileSync(out)
        .subarray(0, 4)
        .equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])),
    ).toBe(true);
  }, 60_000);

  it("counts a WHEP player in its server's load: a session, a viewer of its asset, and its bytes as egress", async () => {
    // Before, neither: a server feeding WHEP players reported sessions 0 and egressMbps 0 (15 players of a 1 Mbit/s
    // asset), so the director kept sending it every viewer and player, up to its 256 WHEP players (found by review
    // attack3).
    const out = join(mkdtempSync(join(tmpdir(), 'whep-')), 'load.webm');
    const playing = whepPlay(`${cluster.hubUrl}/whep/demo-smpte`, out, 6);
    // The most each server reported while the player played (the POST names which one feeds it).
    const seen = new Map<string, { sessions: number; egressMbps: number; httpUrl?: string }>();
    let watching = 0;
    let over = false;
    void playing.finally(() => (over = true));
    while (!over) {
      for (const row of (await cluster.state()).servers as (ApiServer & { egressMbps: number })[]) {
        const s = seen.get(row.id) ?? { sessions: 0, egressMbps: 0, httpUrl: row.httpUrl };
        seen.set(row.id, { ...s, sessions: Math.max(s.sessions, row.sessions), egressMbps: Math.max(s.egressMbps, row.egressMbps) });
      }
      const catalog = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=demo-smpte`)).json()) as { assets: { viewers?: number }[] };
      watching = Math.max(watching, catalog.assets[0]?.viewers ?? 0);
      await new Promise((r) => setTimeout(r, 250));
    }
    const run = await playing;
    expect(run.code, run.stderr).toBe(0);
    const server = seen.get(/POST 201 .* server (par-1|nyc-1)/.exec(run.stderr)![1]!)!;
    expect(server.sessions).toBeGreaterThanOrEqual(1);
    expect(server.egressMbps).toBeGreaterThan(0);
    // The catalog's "N watching" counts it too.
    expect(watching).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(Number(/^baton_server_egress_bytes_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(100_000);
  }, 60_000);

  it('answers errors with HTTP statuses and a reason', async () => {
    const offer = readFileSync(join(ROOT, 'test/fixtures/whep-offer.sdp'), 'utf8');
    const post = (path: string, body = offer, type = 'application/sdp') =>
      fetch(`${cluster.hubUrl}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    const cases: [() => Promise<Response>, number, RegExp][] = [
      [() => post('/whep/demo-smpte', offer, 'text/plain'), 415, /application\/sdp/],
      [() => post('/whep/demo-smpte', 'hello'), 400, /SDP/],
      [() => post('/whep/demo-smpte', offer.replace(/VP8\/90000/g, 'H265/90000')), 400, /VP8 or H\.264/],
      // H.264 is offered, but the asset is VP8.
      [
        () =>
          post(
            '/whep/demo-smpte',
            offer.replace(/VP8\/90000/g, 'H264/90000').replace(/a=mid:/, 'a=fmtp:96 packetization-mode=1\r\na=mid:'),
          ),
        400,
        /asset's video is VP8/,
      ],
      [() => post('/whep/no-such-asset'), 404, /no-such-asset|not/],
      [() => post('/whep/demo-mandelbrot'), 400, /vp9/],
      [() => post('/whep/..%2Fetc'), 404, /WHEP endpoint/],
    ];
    for (const [send, status, reason] of cases) {
      const r = await send();
      expect(await r.text()).toMatch(reason);
      expect(r.status).toBe(status);
    }
    const pre = await fetch(`${cluster.hubUrl}/whep/demo-smpte`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
  }, 60_000);
});
