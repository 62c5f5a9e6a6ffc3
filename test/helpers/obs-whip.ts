// A WHIP publisher built as OBS Studio's WHIP output is (plugins/obs-webrtc/whip-output.cpp, OBS 30–31): libdatachannel
// (here through node-datachannel, the same library), an audio track (mid 0, Opus, payload type 111) before a video
// track (mid 1, H.264 via `addH264Codec(96)`), each with one SSRC, a cname and an msid; RTP made by libdatachannel's
// packetizer (H.264: start-code NAL separation, 1,200-byte fragments) chained to its RTCP sender reporter and NACK
// responder; the offer POSTed as soon as the local description exists (no wait for gathering), with the stream key as
// a Bearer token and redirects followed; the RTP timestamp advanced by each packet's decode-time step. On stop, and
// when the connection goes `disconnected` or `failed`, the peer is closed first, then DELETE sent on the Location; after
// a disconnection OBS's output reconnects (libobs: 2 s, then a new POST of the same URL), and a POST answered other than
// 201 ends it ("invalid stream", no more tries). OBS's x264 with "repeat headers" (which OBS turns on for WHIP) puts
// SPS and PPS before every IDR, in Annex B — what this sends. The encoder runs on while the output reconnects: the
// packets of that time are not sent.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import {
  Audio,
  H264RtpPacketizer,
  PeerConnection,
  RtcpNackResponder,
  RtcpSrReporter,
  RtpPacketizationConfig,
  RtpPacketizer,
  type Track,
  Video,
} from 'node-datachannel';

/** OBS's `MAX_VIDEO_FRAGMENT_SIZE`. */
const MAX_VIDEO_FRAGMENT_SIZE = 1200;
/** libobs's default reconnect delay (s) and retries for an output stopped with OBS_OUTPUT_DISCONNECTED. */
const RETRY_DELAY_MS = 2_000;
const MAX_RETRIES = 25;

/**
 * What OBS's x264 sends for WHIP, made into `dir`: Baseline, no B-frames, a keyframe every second, headers repeated at
 * each IDR; with Opus. `seconds` long at `fps`, `size` and `videoKbps`.
 */
export function obsClip(dir: string, o: { seconds: number; fps: number; size: string; videoKbps: number }): string {
  const file = join(dir, 'obs-clip.mkv');
  const r = spawnSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${o.size}:rate=${o.fps}`, '-f', 'lavfi', '-i', 'sine=frequency=660'],
    ...['-t', String(o.seconds), '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0', '-g', String(o.fps)],
    ...['-x264-params', 'repeat-headers=1', '-b:v', `${o.videoKbps}k`, '-c:a', 'libopus', '-b:a', '96k', file],
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg made no clip: ${r.stderr?.toString()}`);
  return file;
}

export interface ObsWhipRun {
  /** Every POST's status, in order (a reconnect adds one). */
  postStatuses: number[];
  /** The last Location resolved against the endpoint. */
  resourceUrl: string | null;
  /** Every DELETE's status and body (Baton: `{ bytes, sha256, stored }` on 200). */
  deletes: { status: number; body: string }[];
  /** What was handed to the tracks while they were open. */
  videoFrames: number;
  audioFrames: number;
  /** The peer connections' states, in order. */
  states: string[];
  /** Why it stopped: the end of the file, or a POST other than 201 (OBS: "invalid stream"). */
  ended: 'file' | 'refused';
  /** The last refusal's body. */
  refusal: string;
}

interface Sample {
  kind: 'audio' | 'video';
  /** Seconds from the file's start (decode time). */
  t: number;
  data: Buffer;
}

/** AVCC (4-byte lengths) → Annex B (start codes), as OBS's x264 output is. */
function annexB(avcc: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i + 4 <= avcc.length; ) {
    const n = ((avcc[i]! << 24) | (avcc[i + 1]! << 16) | (avcc[i + 2]! << 8) | avcc[i + 3]!) >>> 0;
    parts.push(Buffer.from([0, 0, 0, 1]), Buffer.from(avcc.subarray(i + 4, i + 4 + n)));
    i += 4 + n;
  }
  return Buffer.concat(parts);
}

/** Every packet of an H.264 + Opus file (Matroska), in decode order, merged by time. */
async function readSamples(file: string): Promise<Sample[]> {
  const input = new Input({ source: new FilePathSource(file), formats: ALL_FORMATS });
  const out: Sample[] = [];
  const video = await input.getPrimaryVideoTrack();
  const audio = await input.getPrimaryAudioTrack();
  if (!video || (await video.getCodec()) !== 'avc') throw new Error(`${file}: no H.264 video track`);
  if (!audio || (await audio.getCodec()) !== 'opus') throw new Error(`${file}: no Opus audio track`);
  for await (const p of new EncodedPacketSink(video).packets()) out.push({ kind: 'video', t: p.timestamp, data: annexB(p.data) });
  for await (const p of new EncodedPacketSink(audio).packets()) out.push({ kind: 'audio', t: p.timestamp, data: Buffer.from(p.data) });
  input.dispose();
  return out.sort((a, b) => a.t - b.t || (a.kind === 'audio' ? -1 : 1));
}

const token16 = () => randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16);

/** One connection of the output: OBS's `Setup` (tracks and offer) and, once answered, its two tracks. */
class Connection {
  readonly pc = new PeerConnection('obs-whip', { iceServers: [] });
  readonly audio: { track: Track; cfg: RtpPacketizationConfig };
  readonly video: { track: Track; cfg: RtpPacketizationConfig };

  constructor(onState: (s: string) => void) {
    this.pc.onStateChange(onState);
    const msid = token16();
    const cname = token16();
    const ssrc = randomInt(1, 2 ** 31);
    const audioDesc = new Audio('0', 'SendOnly');
    audioDesc.addOpusCodec(111);
    audioDesc.addSSRC(ssrc, cname, msid, `${msid}-audio`);
    const audioTrack = this.pc.addTrack(audioDesc);
    const audioCfg = new RtpPacketizationConfig(ssrc, cname, 111, 48_000);
    const audioPacketizer = new RtpPacketizer(audioCfg);
    audioPacketizer.addToChain(new RtcpSrReporter(audioCfg));
    audioPacketizer.addToChain(new RtcpNackResponder());
    audioTrack.setMediaHandler(audioPacketizer);
    this.audio = { track: audioTrack, cfg: audioCfg };

    const videoDesc = new Video('1', 'SendOnly');
    videoDesc.addSSRC(ssrc + 1, cname, msid, `${msid}-video`);
    videoDesc.addH264Codec(96);
    const videoCfg = new RtpPacketizationConfig(ssrc + 1, cname, 96, 90_000);
    const videoPacketizer = new H264RtpPacketizer('StartSequence', videoCfg, MAX_VIDEO_FRAGMENT_SIZE);
    videoPacketizer.addToChain(new RtcpSrReporter(videoCfg));
    videoPacketizer.addToChain(new RtcpNackResponder());
    const videoTrack = this.pc.addTrack(videoDesc);
    videoTrack.setMediaHandler(videoPacketizer);
    this.video = { track: videoTrack, cfg: videoCfg };
    this.pc.setLocalDescription();
  }

  get offer(): string {
    const sdp = this.pc.localDescription()?.sdp;
    if (!sdp) throw new Error('libdatachannel made no offer');
    return sdp;
  }
}

/** OBS's offer (audio, then H.264 video) from a peer that sends nothing; `close` when done with it. */
export function obsOffer(): { sdp: string; close(): void } {
  const c = new Connection(() => undefined);
  return { sdp: c.offer, close: () => c.pc.close() };
}

export interface ObsWhipOptions {
  /** Called once the first connection carries media (e.g. to kill a server under it). */
  onSending?: (run: ObsWhipRun) => void;
  /** At this media time the connection counts as lost (what libdatachannel reports after a network blip). */
  loseConnectionAtS?: number;
  /** Awaited after the lost connection's DELETE is answered, before the reconnect's wait (e.g. to restart a server then). */
  afterLoss?: (run: ObsWhipRun) => Promise<void>;
  /** Stops (peer closed, DELETE) at this media time rather than at the file's end. */
  stopAtS?: number;
}

/**
 * Publishes `file` (H.264 + Opus, Matroska) to the WHIP `url` in real time as OBS would — reconnecting after a lost
 * connection as OBS's output does — then stops as OBS does (peer closed, DELETE). Resolves once that is answered.
 */
export async function obsWhipPublish(url: string, bearer: string, file: string, opts: ObsWhipOptions = {}): Promise<ObsWhipRun> {
  const samples = await readSamples(file);
  const run: ObsWhipRun = {
    postStatuses: [],
    resourceUrl: null,
    deletes: [],
    videoFrames: 0,
    audioFrames: 0,
    states: [],
    ended: 'file',
    refusal: '',
  };
  const auth = { Authorization: `Bearer ${bearer}` };
  let conn: Connection | null = null;
  let lost = false;
  let retries = 0;
  let reconnectAt = 0;

  const stop = async (): Promise<void> => {
    const c = conn;
    conn = null;
    c?.pc.close();
    if (!run.resourceUrl) return;
    const res = await fetch(run.resourceUrl, { method: 'DELETE', headers: auth }).catch(() => null);
    run.deletes.push({ status: res?.status ?? 0, body: (await res?.text()) ?? '' });
    run.resourceUrl = null;
  };
  const start = async (): Promise<boolean> => {
    const c = new Connection((s) => {
      run.states.push(s);
      if ((s === 'disconnected' || s === 'failed') && conn === c) lost = true;
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', ...auth, 'User-Agent': 'Mozilla/5.0 (OBS-Studio/31.0.0; Linux x86_64; en-US)' },
      body: c.offer,
      redirect: 'follow',
    });
    run.postStatuses.push(res.status);
    const body = await res.text();
    const location = res.headers.get('location');
    if (res.status !== 201 || !location) {
      c.pc.close();
      run.refusal = body;
      return false;
    }
    run.resourceUrl = new URL(location, res.url).toString();
    c.pc.setRemoteDescription(body.slice(body.indexOf('v=0')), 'answer');
    await Promise.all([opened(c.audio.track), opened(c.video.track)]);
    conn = c;
    return true;
  };

  try {
    if (!(await start())) {
      run.ended = 'refused';
      return run;
    }
    opts.onSending?.(run);
    // Real time from the first packet; each track's RTP timestamp advances by its packets' decode-time steps (OBS
    // keeps its last timestamps across a reconnect: the new connection's first step spans the gap).
    const t0 = performance.now();
    const last = { audio: 0, video: 0 };
    for (const s of samples) {
      const wait = t0 + s.t * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (opts.stopAtS !== undefined && s.t >= opts.stopAtS) break;
      if (opts.loseConnectionAtS !== undefined && s.t >= opts.loseConnectionAtS && retries === 0 && conn) lost = true;
      if (lost) {
        lost = false;
        await stop();
        await opts.afterLoss?.(run);
        reconnectAt = performance.now() + RETRY_DELAY_MS;
      }
      if (!conn && reconnectAt > 0 && performance.now() >= reconnectAt) {
        if (++retries > MAX_RETRIES || !(await start())) {
          run.ended = 'refused';
          return run;
        }
        reconnectAt = 0;
      }
      const c = conn as Connection | null;
      const out = c && (s.kind === 'audio' ? c.audio : c.video);
      if (!out || !out.track.isOpen()) continue; // dropped, as OBS's output drops what comes while it reconnects
      out.cfg.timestamp = (out.cfg.timestamp + Math.round((s.t - last[s.kind]) * out.cfg.clockRate)) >>> 0;
      last[s.kind] = s.t;
      out.track.sendMessageBinary(s.data);
      if (s.kind === 'audio') run.audioFrames++;
      else run.videoFrames++;
    }
  } finally {
    await stop();
  }
  return run;
}

function opened(track: Track): Promise<void> {
  return new Promise((resolve, reject) => {
    if (track.isOpen()) return resolve();
    const timer = setTimeout(() => reject(new Error(`track ${track.mid()} did not open in 20 s`)), 20_000);
    track.onOpen(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
