// A WHIP publisher built as OBS Studio's WHIP output is (plugins/obs-webrtc/whip-output.cpp, OBS 30–31): libdatachannel
// (here through node-datachannel, the same library), an audio track (mid 0, Opus, payload type 111) before a video
// track (mid 1, H.264 via `addH264Codec(96)`), each with one SSRC, a cname and an msid; RTP made by libdatachannel's
// packetizer (H.264: start-code NAL separation, 1,200-byte fragments) chained to its RTCP sender reporter and NACK
// responder; the offer POSTed as soon as the local description exists (no wait for gathering), with the stream key as
// a Bearer token and redirects followed; the RTP timestamp advanced by each packet's decode-time step; a sender report
// asked for once a second; on stop the peer closed first, then DELETE on the Location. OBS's x264 with "repeat
// headers" (which OBS turns on for WHIP) puts SPS and PPS before every IDR, in Annex B — what this sends.
import { randomBytes, randomInt } from 'node:crypto';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import {
  Audio,
  PeerConnection,
  RtcpNackResponder,
  RtcpSrReporter,
  RtpPacketizationConfig,
  RtpPacketizer,
  H264RtpPacketizer,
  Video,
  type Track,
} from 'node-datachannel';

/** OBS's `MAX_VIDEO_FRAGMENT_SIZE`. */
const MAX_VIDEO_FRAGMENT_SIZE = 1200;

export interface ObsWhipRun {
  /** The POST's status, and the answer's Location resolved against the endpoint. */
  postStatus: number;
  resourceUrl: string | null;
  /** The DELETE's status and body (Baton: `{ bytes, sha256, stored }`). */
  deleteStatus: number | null;
  deleteBody: string;
  /** What was handed to the tracks (after they opened). */
  videoFrames: number;
  audioFrames: number;
  /** The peer connection's states, in order. */
  states: string[];
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

/**
 * Publishes `file` (H.264 Baseline + Opus, Matroska) to the WHIP `url` in real time, as OBS would, then stops as OBS
 * does (peer closed, DELETE). Resolves once the DELETE is answered.
 */
export async function obsWhipPublish(url: string, bearer: string, file: string): Promise<ObsWhipRun> {
  const samples = await readSamples(file);
  const run: ObsWhipRun = {
    postStatus: 0,
    resourceUrl: null,
    deleteStatus: null,
    deleteBody: '',
    videoFrames: 0,
    audioFrames: 0,
    states: [],
  };
  const pc = new PeerConnection('obs-whip', { iceServers: [] });
  pc.onStateChange((s) => run.states.push(s));
  const msid = token16();
  const cname = token16();
  const ssrc = randomInt(1, 2 ** 31);

  const audioDesc = new Audio('0', 'SendOnly');
  audioDesc.addOpusCodec(111);
  audioDesc.addSSRC(ssrc, cname, msid, `${msid}-audio`);
  const audioTrack = pc.addTrack(audioDesc);
  const audioCfg = new RtpPacketizationConfig(ssrc, cname, 111, 48_000);
  const audioPacketizer = new RtpPacketizer(audioCfg);
  audioPacketizer.addToChain(new RtcpSrReporter(audioCfg));
  audioPacketizer.addToChain(new RtcpNackResponder());
  audioTrack.setMediaHandler(audioPacketizer);

  const videoDesc = new Video('1', 'SendOnly');
  videoDesc.addSSRC(ssrc + 1, cname, msid, `${msid}-video`);
  videoDesc.addH264Codec(96);
  const videoCfg = new RtpPacketizationConfig(ssrc + 1, cname, 96, 90_000);
  const videoPacketizer = new H264RtpPacketizer('StartSequence', videoCfg, MAX_VIDEO_FRAGMENT_SIZE);
  videoPacketizer.addToChain(new RtcpSrReporter(videoCfg));
  videoPacketizer.addToChain(new RtcpNackResponder());
  const videoTrack = pc.addTrack(videoDesc);
  videoTrack.setMediaHandler(videoPacketizer);

  pc.setLocalDescription();
  const offer = pc.localDescription()?.sdp;
  if (!offer) throw new Error('libdatachannel made no offer');
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/sdp',
        Authorization: `Bearer ${bearer}`,
        'User-Agent': 'Mozilla/5.0 (OBS-Studio/31.0.0; Linux x86_64; en-US)',
      },
      body: offer,
      redirect: 'follow',
    });
    run.postStatus = res.status;
    const answer = await res.text();
    const location = res.headers.get('location');
    if (res.status !== 201 || !location) return run;
    run.resourceUrl = new URL(location, res.url).toString();
    pc.setRemoteDescription(answer.slice(answer.indexOf('v=0')), 'answer');

    await Promise.all([opened(audioTrack), opened(videoTrack)]);
    // Real time from the first packet; each track's RTP timestamp advances by its packets' decode-time steps.
    const start = performance.now();
    const last = { audio: 0, video: 0 };
    for (const s of samples) {
      const wait = start + s.t * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const [track, cfg] = s.kind === 'audio' ? [audioTrack, audioCfg] : [videoTrack, videoCfg];
      if (!track.isOpen()) break;
      cfg.timestamp = (cfg.timestamp + Math.round((s.t - last[s.kind]) * cfg.clockRate)) >>> 0;
      last[s.kind] = s.t;
      track.sendMessageBinary(s.data);
      if (s.kind === 'audio') run.audioFrames++;
      else run.videoFrames++;
    }
  } finally {
    pc.close();
  }
  if (run.resourceUrl) {
    const del = await fetch(run.resourceUrl, { method: 'DELETE', headers: { Authorization: `Bearer ${bearer}` } });
    run.deleteStatus = del.status;
    run.deleteBody = await del.text();
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
