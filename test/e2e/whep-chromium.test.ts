// WHEP in Chromium with a plain RTCPeerConnection (no Baton code in the page): a stored asset plays into a <video>.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/cluster.js';
import { HAVE_GI, whipPublish } from '../helpers/gstreamer.js';
import { LossyUdpRelay } from '../helpers/lossy-udp-relay.js';
import { scrape } from '../helpers/prometheus.js';
import { openPage } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';

const SERVERS = [
  {
    id: 'par-1',
    region: 'eu-west',
    lat: 48.86,
    lon: 2.35,
    ingest: true,
    assets: ['demo-smpte'],
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
/** An H.264 asset comes from GStreamer's openh264enc over WHIP (what OBS sends). */
const HAVE_OPENH264 = HAVE_GI && spawnSync('gst-inspect-1.0', ['openh264enc'], { encoding: 'utf8' }).status === 0;

/**
 * What the page runs: the WHEP exchange (RFC 9725 style, non-trickle) with nothing but browser APIs; plays `playS`
 * (default 2) seconds. With `viaTest`, the POST goes through the test's `whepPost` (which can put a relay on the path).
 */
const WHEP_PAGE_SCRIPT = async ({ endpoint, viaTest, playS = 2 }: { endpoint: string; viaTest?: boolean; playS?: number }) => {
  const t0 = performance.now();
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  const stream = new MediaStream();
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    video.srcObject = stream;
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    setTimeout(r, 3000);
  });
  const sdp = pc.localDescription!.sdp;
  type Posted = { status: number; sdp: string; headers: Record<string, string> };
  const r: Posted = viaTest
    ? await (window as unknown as { whepPost: (sdp: string) => Promise<Posted> }).whepPost(sdp)
    : await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sdp }).then(async (x) => ({
        status: x.status,
        sdp: await x.text(),
        headers: Object.fromEntries(x.headers),
      }));
  const res = new Response(r.sdp, { status: r.status, headers: r.headers });
  if (res.status !== 201) throw new Error(`POST ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location')!, endpoint).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  const played = await new Promise<boolean>((r) => {
    video.addEventListener('playing', () => r(true), { once: true });
    setTimeout(() => r(false), 20_000);
  });
  if (!played) {
    const stats: string[] = [];
    (await pc.getStats()).forEach((x) => x.type === 'inbound-rtp' && stats.push(JSON.stringify(x)));
    throw new Error(`no playing within 20 s: connection ${pc.connectionState}, ice ${pc.iceConnectionState}, inbound ${stats.join(' ')}`);
  }
  const ttffMs = performance.now() - t0;
  // Real-time playback: the clock moves on, frames keep coming.
  await new Promise((r) => setTimeout(r, playS * 1000));
  const inbound = [...(await pc.getStats()).values()].find((x) => x.type === 'inbound-rtp' && x.kind === 'video');
  const q = video.getVideoPlaybackQuality();
  const codec = [...(await pc.getStats()).values()].find((x) => x.type === 'codec' && /^video\//.test(x.mimeType))?.mimeType as
    | string
    | undefined;
  const out = {
    ttffMs,
    currentTime: video.currentTime,
    width: video.videoWidth,
    frames: q.totalVideoFrames,
    codec,
    server: res.headers.get('x-baton-server'),
    reason: res.headers.get('x-baton-reason'),
    location,
    nackCount: inbound?.nackCount as number,
    packetsLost: inbound?.packetsLost as number,
    framesDecoded: inbound?.framesDecoded as number,
  };
  await fetch(location, { method: 'DELETE' });
  pc.close();
  return out;
};

/** A WHIP publisher with nothing but browser APIs: the fake camera and microphone, video restricted to H.264 as OBS sends it. */
const WHIP_H264_PAGE_SCRIPT = async ({ endpoint, seconds }: { endpoint: string; seconds: number }) => {
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
  const pc = new RTCPeerConnection();
  const video = pc.addTransceiver(media.getVideoTracks()[0]!, { direction: 'sendonly' });
  pc.addTransceiver(media.getAudioTracks()[0]!, { direction: 'sendonly' });
  const h264 = (RTCRtpSender.getCapabilities('video')?.codecs ?? []).filter(
    (c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? ''),
  );
  if (h264.length === 0) throw new Error('this Chromium cannot send H.264');
  video.setCodecPreferences(h264);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    setTimeout(r, 3000);
  });
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: 'Bearer test-key' },
    body: pc.localDescription!.sdp,
  });
  if (res.status !== 201) throw new Error(`POST ${res.status}: ${await res.text()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const stats = [...(await pc.getStats()).values()];
  const codec = stats.find((x) => x.type === 'codec' && /^video\//.test(x.mimeType))?.mimeType as string | undefined;
  const end = await fetch(new URL(res.headers.get('location')!, endpoint), {
    method: 'DELETE',
    headers: { authorization: 'Bearer test-key' },
  });
  pc.close();
  for (const t of media.getTracks()) t.stop();
  return { codec, deleted: end.status, stored: await end.text() };
};

describe('WHEP in Chromium', () => {
  // Loopback candidates, without mDNS names: the servers' ICE is bound to 127.0.0.1. The web client is
  // built and served too: an H.264 asset plays in Baton's own player below. The fake camera is a WHIP publisher's.
  const env = useBrowserCluster({ servers: SERVERS }, [
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
  ]);

  it('plays a stored asset into a <video> from the server the director chose', async () => {
    const { page, context, errors } = await openPage(env.browser);
    try {
      const r = await page.evaluate(WHEP_PAGE_SCRIPT, { endpoint: `${env.cluster.hubUrl}/whep/demo-smpte` });
      expect(['par-1', 'nyc-1']).toContain(r.server);
      expect(r.reason).toBeTruthy();
      expect(r.width).toBeGreaterThan(0);
      expect(r.currentTime).toBeGreaterThan(1);
      expect(r.frames).toBeGreaterThan(30);
    } catch (err) {
      const logs = ['par-1', 'nyc-1'].map((id) =>
        env.cluster.servers
          .get(id)!
          .output()
          .split('\n')
          .filter((l) => /whep|WHEP/.test(l))
          .slice(-5)
          .join('\n'),
      );
      throw new Error(`${(err as Error).message}\npage errors: ${errors.join('\n')}\nservers: ${logs.join('\n')}`);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('gets the video packets a lossy path drops back by NACK: Chromium asks, the server resends, the video plays', async () => {
    const { page, context } = await openPage(env.browser);
    const relays: LossyUdpRelay[] = [];
    let server = '';
    try {
      await page.exposeFunction('whepPost', async (offer: string) => {
        // The player's own candidates stay out of the offer: the server learns its address only through the relay.
        const sdp = offer
          .split('\r\n')
          .filter((l) => !l.startsWith('a=candidate'))
          .join('\r\n');
        const res = await fetch(`${env.cluster.hubUrl}/whep/demo-smpte`, {
          method: 'POST',
          headers: { 'content-type': 'application/sdp' },
          body: sdp,
        });
        const answer = await res.text();
        if (res.status !== 201) return { status: res.status, sdp: answer, headers: {} };
        server = res.headers.get('x-baton-server')!;
        const moved = LossyUdpRelay.throughRelay(answer);
        const relay = await LossyUdpRelay.open(moved.serverPort);
        relays.push(relay);
        const videoSsrc = Number(/^a=ssrc:(\d+) /m.exec(answer.slice(answer.indexOf('m=video')))?.[1]);
        // One video packet in 20 is lost (its first copy: a resent one goes through).
        let n = 0;
        const lost = new Set<number>();
        relay.drop = (d) => d.ssrc === videoSsrc && !lost.has(d.seq) && ++n % 20 === 0 && lost.add(d.seq) !== undefined;
        return { status: 201, sdp: moved.rewrite(relay.port), headers: Object.fromEntries(res.headers) };
      });
      const r = await page.evaluate(WHEP_PAGE_SCRIPT, { endpoint: `${env.cluster.hubUrl}/whep/demo-smpte`, viaTest: true, playS: 6 });
      const relay = relays[0]!;
      const dropped = relay.fromServer.filter((d) => d.dropped).length;
      const m = await scrape(`${(await env.cluster.state()).servers.find((s) => s.id === server)!.httpUrl}/metrics`);
      const resent = m.get('baton_server_whep_nacked_packets_total{result="resent"}') ?? 0;
      console.log(
        `lossy WHEP in Chromium: ${dropped} video packets dropped; NACKs ${r.nackCount}, lost ${r.packetsLost}, frames ${r.framesDecoded}; server resent ${resent}`,
      );
      expect(dropped).toBeGreaterThan(5);
      expect(r.nackCount).toBeGreaterThan(0);
      expect(resent).toBeGreaterThan(0);
      // The resent packets filled the gaps: Chromium counts as lost only what never came.
      expect(r.packetsLost).toBeLessThan(dropped);
      expect(r.framesDecoded).toBeGreaterThan(60);
    } finally {
      await context.close();
      for (const relay of relays) relay.close();
    }
  }, 90_000);

  it.skipIf(!HAVE_OPENH264)(
    'plays an H.264 broadcast (published over WHIP by GStreamer) into a <video> as H.264',
    async () => {
      const run = await whipPublish(`${env.cluster.hubUrl}/whip/obs-chromium?location=Paris`, 'test-key', 4, 'h264');
      expect(run.code, run.stderr).toBe(0);
      await waitFor('obs-chromium stored on both servers', async () => {
        const r = (await (await fetch(`${env.cluster.hubUrl}/api/catalog`)).json()) as {
          assets: { id: string; holders: string[]; live: boolean }[];
        };
        const e = r.assets.find((x) => x.id === 'obs-chromium');
        return e && e.holders.length === 2 && !e.live;
      });
      const { page, context } = await openPage(env.browser);
      try {
        const r = await page.evaluate(WHEP_PAGE_SCRIPT, { endpoint: `${env.cluster.hubUrl}/whep/obs-chromium` });
        expect(r.codec).toBe('video/H264');
        expect(r.width).toBe(320);
        expect(r.currentTime).toBeGreaterThan(1);
        expect(r.frames).toBeGreaterThan(30);
        // Baton's own player plays the same asset over its data channel (remuxed to MP4 in the page; test/e2e/player-h264.test.ts).
        await page.goto(`${env.cluster.hubUrl}/#/watch?asset=obs-chromium`);
        const video = page.locator('baton-player video');
        await expect
          .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, interval: 100 })
          .toBeGreaterThan(1);
        expect(await video.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(320);
        expect(await page.locator('baton-player [data-testid=player-error]').count()).toBe(0);
      } finally {
        await context.close();
      }
    },
    90_000,
  );

  it('takes an H.264-only WHIP publisher (Chromium, fake camera): both copies byte-identical, H.264 in Matroska', async () => {
    const { page, context } = await openPage(env.browser);
    try {
      // getUserMedia wants a secure context: the hub's own origin on loopback is one.
      await page.goto(`${env.cluster.hubUrl}/`);
      const r = await page.evaluate(WHIP_H264_PAGE_SCRIPT, {
        endpoint: `${env.cluster.hubUrl}/whip/chromium-h264?location=Paris`,
        seconds: 4,
      });
      expect(r.codec).toBe('video/H264');
      expect(r.deleted, r.stored).toBe(200);
      const stored = JSON.parse(r.stored) as { bytes: number; sha256: string; stored: string[] };
      expect(stored.stored.sort()).toEqual(['nyc-1', 'par-1']);
      const files = ['par-1', 'nyc-1'].map((id) => join(env.cluster.servers.get(id)!.storage, 'chromium-h264.webm'));
      const [a, b] = files.map((f) => readFileSync(f));
      expect(a!.equals(b!)).toBe(true);
      const probe = spawnSync(
        'ffprobe',
        ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', files[0]!],
        {
          encoding: 'utf8',
        },
      );
      const streams = (JSON.parse(probe.stdout) as { streams: { codec_name: string; nb_read_frames: string }[] }).streams;
      expect(streams.map((x) => x.codec_name).sort()).toEqual(['h264', 'opus']);
      expect(Number(streams.find((x) => x.codec_name === 'h264')!.nb_read_frames)).toBeGreaterThan(30);
    } finally {
      await context.close();
    }
  }, 90_000);
});
