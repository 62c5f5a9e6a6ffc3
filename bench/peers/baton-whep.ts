// Baton over WHEP: the same cluster and media as the data-channel peer, played the way any WHEP
// player does it — a plain RTCPeerConnection page (pages/whep.html) in Chromium, or, for load, a
// node-datachannel PeerConnection that posts its offer to the hub and counts the RTP it receives.
import nodeDataChannel from 'node-datachannel';
import { withoutCandidates } from '../../node-app/webrtc/peer.js';
import type { NodeViewer, PeerFactory } from './peer.js';
import { pageUrl } from './pages.js';
import { startBatonPeer } from './baton.js';
import { LateFrames, RtpVideoFrames } from './late.js';

const POST_TIMEOUT_MS = 20_000;
const FIRST_RTP_TIMEOUT_MS = 20_000;

export const batonWhepPeer: PeerFactory = {
  name: 'baton_whep',
  feeds: ['file', 'clock'],
  unavailable: () => null,
  start: (o) =>
    startBatonPeer('baton_whep', o, {
      viewerUrl: (hubUrl, assetId) => pageUrl(o.pagesBase, 'whep.html', { endpoint: whepEndpoint(hubUrl, assetId) }),
      nodeViewer: (hubUrl, assetId) => whepNodeViewer(whepEndpoint(hubUrl, assetId)),
    }),
};

const whepEndpoint = (hubUrl: string, assetId: string) => `${hubUrl}/whep/${encodeURIComponent(assetId)}`;

/**
 * A WHEP player without a browser: recvonly VP8 + Opus, the offer in one POST, DELETE on close.
 *
 * The offer goes without our ICE candidates: the server then cannot probe us before we hold its answer,
 * and our own checks, sent once the answer is set, reach it as a peer-reflexive candidate. With them,
 * the server's early checks left a candidate pair that libdatachannel (0.24) checks inside
 * setRemoteDescription, before it stores the answer's fingerprint; when that pair connected first, the
 * handshake the server started failed our check of its fingerprint ("unknown CA"), the PeerConnection closed, and
 * setRemoteDescription threw "Got a remote candidate without ICE transport" (in most 40-viewer load steps
 * on a 2-core machine). node-app/webrtc/peer.ts holds candidates back for the same reason.
 */
export async function whepNodeViewer(endpoint: string): Promise<NodeViewer> {
  // Bound to loopback, where the media servers' WebRTC is (never the machine's external address).
  const pc = new nodeDataChannel.PeerConnection('whep-viewer', { iceServers: [], bindAddress: '127.0.0.1' });
  let bytes = 0;
  const video = new nodeDataChannel.Video('video', 'RecvOnly');
  video.addVP8Codec(96);
  const audio = new nodeDataChannel.Audio('audio', 'RecvOnly');
  audio.addOpusCodec(111);
  const tracks = [pc.addTrack(video), pc.addTrack(audio)];
  const late = new LateFrames();
  const videoFrames = new RtpVideoFrames(late);
  let firstRtp: () => void = () => undefined;
  const receiving = new Promise<void>((resolve) => (firstRtp = resolve));
  for (const t of tracks)
    t.onMessage((m) => {
      bytes += m.length;
      if (t === tracks[0]) videoFrames.packet(m);
      firstRtp();
    });
  const close = async (resource?: string) => {
    for (const t of tracks) t.close();
    pc.close();
    if (resource) await fetch(resource, { method: 'DELETE' }).catch(() => undefined);
  };
  let resource: string | undefined;
  try {
    const offer = new Promise<string>((resolve) =>
      pc.onGatheringStateChange((s) => s === 'complete' && resolve(pc.localDescription()!.sdp)),
    );
    pc.setLocalDescription();
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: withoutCandidates(await offer),
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    if (res.status !== 201) throw new Error(`WHEP POST ${res.status}: ${await res.text()}`);
    resource = new URL(res.headers.get('location') ?? '', endpoint).href;
    const answer = await res.text();
    try {
      pc.setRemoteDescription(answer, 'answer' as nodeDataChannel.DescriptionType);
    } catch (err) {
      throw new Error(
        `${(err as Error).message} (state ${pc.state()}, ice ${pc.iceState()}, gathering ${pc.gatheringState()})\noffer:\n${pc.localDescription()?.sdp}\nanswer:\n${answer}`,
      );
    }
    await Promise.race([
      receiving,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no RTP from ${endpoint} in ${FIRST_RTP_TIMEOUT_MS} ms`)), FIRST_RTP_TIMEOUT_MS),
      ),
    ]);
  } catch (err) {
    await close(resource);
    throw err;
  }
  return { bytes: () => bytes, late: () => late.count(), close: () => close(resource) };
}
