// Janus 1.1.2 with its streaming plugin, inside the bench's own network namespace (it gathers no ICE
// candidate on loopback), fed RTP (VP8 + Opus) by ffmpeg in the same namespace. Viewers: the Chromium
// page pages/janus.html, or node-datachannel PeerConnections receiving its RTP tracks.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import nodeDataChannel from 'node-datachannel';
import { janusWatch } from './janus-api.js';
import { LateFrames, RtpVideoFrames } from './late.js';
import { CLOCK_FFMPEG_INPUT, startClockSource } from './clock-source.js';
import { feedAsset } from './media.js';
import { createNetns, type Netns } from './netns.js';
import type { NodeViewer, PeerFactory, PeerStartOptions, RunningPeer } from './peer.js';
import { pageUrl } from './pages.js';
import { spawnProc, stopProc, waitForFfmpegFrames, waitForHttp, type PeerProc } from './proc.js';
import { renderConfig } from './render.js';

export const JANUS_LIB_DIR = '/usr/lib/x86_64-linux-gnu/janus';
const MOUNTPOINT_ID = 1;
/** Janus's fastest join: the latest keyframe kept and sent to a new viewer at once. */
export const JANUS_VIDEO_BUFFER_KF = true;
/** Frames the feed must have sent before viewers come (1.5 s: a keyframe is buffered). */
const FEED_READY_FRAMES = 45;

export const janusPeer: PeerFactory = {
  name: 'janus',
  feeds: ['file', 'clock'],
  unavailable() {
    if (!existsSync('/usr/bin/janus') || !existsSync(join(JANUS_LIB_DIR, 'plugins/libjanus_streaming.so')))
      return 'Janus is not installed (apt-get install janus)';
    if (process.getuid?.() !== 0) return 'Janus runs in a network namespace the bench creates, which needs root';
    return null;
  },
  start: startJanus,
};

async function startJanus(o: PeerStartOptions): Promise<RunningPeer> {
  const dir = join(o.tmpDir, 'janus');
  mkdirSync(dir, { recursive: true });
  let ns: Netns | undefined;
  let janus: PeerProc | undefined;
  let feed: PeerProc | undefined;
  let source: { stop(): void } | undefined;
  let httpPort = 0;
  const viewers = new Set<NodeViewer>();
  const stop = async () => {
    await Promise.all([...viewers].map((v) => v.close()));
    source?.stop();
    await stopProc(feed);
    await stopProc(janus);
    ns?.destroy();
  };
  try {
    ns = createNetns(o.ports.next());
    httpPort = o.ports.next();
    const audioPort = o.ports.next();
    const videoPort = o.ports.next();
    const values = {
      CONFIG_DIR: dir,
      LIB_DIR: JANUS_LIB_DIR,
      IFACE: ns.nsIface,
      ADDRESS: ns.nsAddress,
      HTTP_PORT: httpPort,
      AUDIO_PORT: audioPort,
      VIDEO_PORT: videoPort,
      VIDEO_BUFFER_KF: JANUS_VIDEO_BUFFER_KF,
    };
    for (const f of ['janus.jcfg', 'janus.transport.http.jcfg', 'janus.plugin.streaming.jcfg'])
      renderConfig(`janus/${f}`, values, join(dir, f));
    // -i: the address Janus puts in its SDP (it finds none by itself on a bare veth).
    janus = spawnProc('janus', 'ip', [
      'netns',
      'exec',
      ns.name,
      'janus',
      '-C',
      join(dir, 'janus.jcfg'),
      '-F',
      dir,
      '-i',
      ns.nsAddress,
      '-d',
      '3',
    ]);
    const apiUrl = `http://${ns.nsAddress}:${httpPort}/janus`;
    await waitForHttp(janus, `${apiUrl}/info`);
    const rtp = (port: number, pt: number) => ['-payload_type', String(pt), '-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=1200`];
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
            '-c:v',
            'copy',
            ...rtp(videoPort, 100),
            '-map',
            '0:a:0',
            '-c:a',
            'copy',
            ...rtp(audioPort, 111),
          ]
        : [
            ...CLOCK_FFMPEG_INPUT,
            '-c:v',
            'libvpx',
            '-deadline',
            'realtime',
            '-cpu-used',
            '8',
            '-lag-in-frames',
            '0',
            '-error-resilient',
            '1',
            '-g',
            '30',
            '-b:v',
            '1M',
            ...rtp(videoPort, 100),
          ];
    feed = spawnProc('ffmpeg-janus', 'ip', ['netns', 'exec', ns.name, 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-stats', ...args], {
      stdin: o.feed === 'clock' ? 'pipe' : 'ignore',
    });
    if (o.feed === 'clock') source = startClockSource(feed.child.stdin!);
    await waitForFfmpegFrames(feed, FEED_READY_FRAMES);
  } catch (err) {
    await stop();
    throw err;
  }
  const apiUrl = `http://${ns.nsAddress}:${httpPort}/janus`;
  const hostAddress = ns.hostAddress;
  return {
    name: 'janus',
    viewerUrl: () => pageUrl(o.pagesBase, 'janus.html', { api: apiUrl, id: String(MOUNTPOINT_ID) }),
    serverPids: () => [janus!.child.pid!],
    startNodeViewer: async () => {
      const v = await janusNodeViewer(apiUrl, hostAddress);
      viewers.add(v);
      return { bytes: v.bytes, late: v.late, close: async () => (viewers.delete(v), v.close()) };
    },
    stop,
  };
}

/** A node-datachannel PeerConnection that answers Janus's offer and counts the RTP it receives. */
async function janusNodeViewer(apiUrl: string, bindAddress: string): Promise<NodeViewer> {
  const watch = await janusWatch(apiUrl, MOUNTPOINT_ID);
  // Bound to the veth's host end: the viewer gathers there only, never on the machine's external address.
  const pc = new nodeDataChannel.PeerConnection('janus-viewer', { iceServers: [], bindAddress });
  let bytes = 0;
  const late = new LateFrames();
  const tracks: nodeDataChannel.Track[] = [];
  pc.onTrack((t) => {
    tracks.push(t);
    const frames = t.type() === 'video' ? new RtpVideoFrames(late) : undefined;
    t.onMessage((m) => {
      bytes += m.length;
      frames?.packet(m);
    });
  });
  const answer = new Promise<string>((resolve) =>
    pc.onGatheringStateChange((s) => s === 'complete' && resolve(pc.localDescription()!.sdp)),
  );
  pc.setRemoteDescription(watch.offer, 'offer' as nodeDataChannel.DescriptionType);
  await watch.start(await answer);
  return {
    bytes: () => bytes,
    late: () => late.count(),
    close: async () => {
      for (const t of tracks) t.close();
      pc.close();
      await watch.destroy();
    },
  };
}
