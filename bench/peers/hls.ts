// nginx-rtmp + HLS: ffmpeg pushes H.264/AAC over RTMP (HLS needs them), nginx's rtmp module writes
// 1-s MPEG-TS segments, the same nginx serves them; viewers: hls.js in Chromium, or a Node client
// that polls the playlist and fetches each new segment as hls.js does.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOCK_FFMPEG_INPUT, startClockSource } from './clock-source.js';
import { FEED_FPS, feedAsset } from './media.js';
import { LateFrames } from './late.js';
import type { NodeViewer, PeerFactory, PeerStartOptions, RunningPeer } from './peer.js';
import { pageUrl } from './pages.js';
import { childPids, spawnProc, stopProc, waitForHttp, type PeerProc } from './proc.js';
import { renderConfig } from './render.js';

export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
const STREAM = 'bench';
/** Segments in the playlist before viewers come (hls.js starts 3 segments behind the live edge). */
const READY_SEGMENTS = 3;

export const hlsPeer: PeerFactory = {
  name: 'hls',
  feeds: ['file', 'clock'],
  unavailable() {
    if (!existsSync('/usr/sbin/nginx')) return 'nginx is not installed (apt-get install nginx-light libnginx-mod-rtmp)';
    if (!existsSync(RTMP_MODULE)) return 'the nginx RTMP module is not installed (apt-get install libnginx-mod-rtmp)';
    return null;
  },
  start: startHls,
};

/** x264 tuned for latency, a keyframe every second (as the demo asset): each 1-s segment starts with one. */
const H264_ARGS = [
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-tune',
  'zerolatency',
  '-pix_fmt',
  'yuv420p',
  '-g',
  '30',
  '-keyint_min',
  '30',
  '-sc_threshold',
  '0',
  '-b:v',
  '1M',
];

async function startHls(o: PeerStartOptions): Promise<RunningPeer> {
  // nginx's worker drops root for `nobody` when started as root: it must reach and write the segment
  // dir, so nginx gets its own prefix straight under the system temp dir (the run's is private).
  const prefix = mkdtempSync(join(tmpdir(), 'baton-peers-nginx-'));
  mkdirSync(join(prefix, 'hls'));
  chmodSync(prefix, 0o755);
  chmodSync(join(prefix, 'hls'), 0o777);
  let nginx: PeerProc | undefined;
  let feed: PeerProc | undefined;
  let source: { stop(): void } | undefined;
  const viewers = new Set<NodeViewer>();
  const stop = async () => {
    await Promise.all([...viewers].map((v) => v.close()));
    source?.stop();
    await stopProc(feed);
    await stopProc(nginx);
    rmSync(prefix, { recursive: true, force: true });
  };
  const rtmpPort = o.ports.next();
  const httpPort = o.ports.next();
  const base = `http://127.0.0.1:${httpPort}/hls`;
  const playlist = `${base}/${STREAM}.m3u8`;
  try {
    renderConfig('nginx/nginx.conf', { PREFIX: prefix, RTMP_MODULE, RTMP_PORT: rtmpPort, HTTP_PORT: httpPort }, join(prefix, 'nginx.conf'));
    nginx = spawnProc('nginx', '/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr']);
    await waitForHttp(nginx, `http://127.0.0.1:${httpPort}/ready`);
    const rtmp = ['-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${STREAM}`];
    const args =
      o.feed === 'file'
        ? [
            '-re',
            '-stream_loop',
            '-1',
            '-i',
            feedAsset(),
            '-map',
            '0:v:0',
            '-map',
            '0:a:0',
            ...H264_ARGS,
            '-c:a',
            'aac',
            '-b:a',
            '96k',
            ...rtmp,
          ]
        : [...CLOCK_FFMPEG_INPUT, ...H264_ARGS, ...rtmp];
    feed = spawnProc('ffmpeg-rtmp', 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-stats', ...args], {
      stdin: o.feed === 'clock' ? 'pipe' : 'ignore',
    });
    if (o.feed === 'clock') source = startClockSource(feed.child.stdin!);
    await waitForSegments(playlist, READY_SEGMENTS, feed);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'hls',
    viewerUrl: () => pageUrl(o.pagesBase, 'hls.html', { src: playlist }),
    serverPids: () => [nginx!.child.pid!, ...childPids(nginx!.child.pid!)],
    startNodeViewer: async () => {
      const v = hlsNodeViewer(playlist);
      viewers.add(v);
      return { bytes: v.bytes, late: v.late, close: async () => (viewers.delete(v), v.close()) };
    },
    stop,
  };
}

async function waitForSegments(playlist: string, n: number, feed: PeerProc): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(playlist);
      if (res.ok && ((await res.text()).match(/\.ts$/gm) ?? []).length >= n) return;
    } catch {
      // Not yet.
    }
    if (feed.child.exitCode !== null) throw new Error(`ffmpeg (RTMP) exited:\n${feed.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`no ${n} HLS segments in 30 s:\n${feed.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls the live playlist every half target duration and fetches each segment it has not fetched yet. */
function hlsNodeViewer(playlist: string): NodeViewer {
  let bytes = 0;
  let closed = false;
  const seen = new Set<string>();
  const late = new LateFrames();
  /** Media time (ms) where the next segment of the playlist starts, counted from the first one seen. */
  const starts = new Map<string, number>();
  let mediaEndMs = 0;
  const durations = new Map<string, number>();
  const done = (async () => {
    while (!closed) {
      try {
        const text = await (await fetch(playlist)).text();
        const target = Number(text.match(/#EXT-X-TARGETDURATION:(\d+)/)?.[1] ?? 1);
        const names = text.split('\n').filter((l) => l.endsWith('.ts'));
        // Each segment's media start: the EXTINF durations before it, in playlist order.
        const lines = text.split('\n');
        for (let i = 0; i < lines.length; i++) {
          const d = /^#EXTINF:([\d.]+)/.exec(lines[i]!);
          const name = lines[i + 1];
          if (!d || !name?.endsWith('.ts') || starts.has(name)) continue;
          starts.set(name, mediaEndMs);
          mediaEndMs += Number(d[1]) * 1000;
          durations.set(name, Number(d[1]) * 1000);
        }
        // Like hls.js, start three segments behind the live edge.
        if (seen.size === 0) for (const old of names.slice(0, -3)) seen.add(old);
        for (const name of names) {
          if (seen.has(name) || closed) continue;
          seen.add(name);
          bytes += (await (await fetch(new URL(name, playlist))).arrayBuffer()).byteLength;
          // Every frame of a segment arrives with it: the segment's frames (its duration × the feed's rate) are late or not together.
          late.frame(starts.get(name) ?? mediaEndMs, performance.now(), Math.round(((durations.get(name) ?? 0) / 1000) * FEED_FPS));
        }
        if (seen.size > 100) for (const s of [...seen].slice(0, 50)) seen.delete(s);
        if (starts.size > 100) for (const k of [...starts.keys()].slice(0, 50)) starts.delete(k), durations.delete(k);
        await new Promise((r) => setTimeout(r, (target * 1000) / 2));
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    bytes: () => bytes,
    late: () => late.count(),
    close: async () => {
      closed = true;
      await done;
    },
  };
}
