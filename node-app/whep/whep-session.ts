// One WHEP player: libdatachannel sendonly tracks answering its offer, fed in real time with RTP packetized from the asset's WebM / Matroska frames.
import { EventEmitter } from 'node:events';
import { Audio, PeerConnection, Video, type Track } from 'node-datachannel';
import { type OfferMedia, type OfferSummary, SdpError, summarizeOffer } from '../../signaling/protocol/whip-sdp.js';
import { fromAvcc, parameterSets } from '../../common/avc-config.js';
import { NalType } from '../whip/h264-depacketizer.js';
import type { ByteSource } from '../contracts.js';
import { GATHER_TIMEOUT_MS, setOffer } from '../whip/whip-peer.js';
import {
  NACK_LOOKUPS_PER_S,
  NACK_RESEND_BYTES_PER_S,
  NackResponder,
  ResendBudget,
  RtcpRepeats,
  type NackOutcome,
} from './nack-responder.js';
import { hasPli, RtpPacketizer } from './rtp-packetizer.js';
import { openWebm, type MediaFrame, type WebmFrames } from './webm-packets.js';

/** A player that has not connected by then is dropped, ms. */
export const WHEP_CONNECT_TIMEOUT_MS = 15_000;

export interface WhepSessionOptions {
  resourceId: string;
  offer: string;
  source: ByteSource;
  iceServers?: string[];
  bindAddress?: string;
  /** Monotonic clock, ms. */
  now?: () => number;
  /**
   * The asset's VP8 renditions held here, tallest first (`talk__360p`): named to a player refused the asset's own
   * codec (VP9, AV1), which it can play instead. Asked only then.
   */
  renditions?: () => string[];
  /** Bytes sent to the player, as they go, resent ones too (the server's egress: the load the director reads counts them). */
  sent?: (bytes: number) => void;
  /** RTCP feedback from the player, once each: a PLI, or what its NACKs asked for (the server's metrics count them). */
  feedback?: (f: WhepFeedback) => void;
  /** Sent RTP packets kept per track to answer NACKs; default NACK_HISTORY_PACKETS. */
  nackHistoryPackets?: number;
}

export type WhepFeedback = { kind: 'pli' } | ({ kind: 'nack' } & NackOutcome);

export interface WhepSessionEvents {
  /** Once: the player left, the asset ended, or the session was closed. */
  closed: [reason: string];
}

interface Out {
  track: Track;
  rtp: RtpPacketizer;
  nack: NackResponder;
  repeats: RtcpRepeats;
}

/**
 * The player's offer names the m-lines it receives on; tracks with those mids are
 * added before the offer is set, so libdatachannel's answer carries our SSRCs and
 * `sendonly`. A stored asset's frames go out at the pace of their WebM times from the
 * first one (a keyframe); a live one's from its newest keyframe Cluster, each as soon as its
 * block is read (the catch-up to the edge at once: the receiver decodes it and shows the edge). A PLI
 * holds video back to the next keyframe (stored media cannot make one); NACKs are
 * answered from the last NACK_HISTORY_PACKETS each track sent, within the session's resend budget
 * (node-app/whep/nack-responder.ts; libdatachannel's RtcpNackResponder resent every packet asked, twice, without bound).
 */
export class WhepSession extends EventEmitter<WhepSessionEvents> {
  readonly resourceId: string;
  readonly #o: WhepSessionOptions;
  readonly #now: () => number;
  readonly #summary: OfferSummary;
  #pc: PeerConnection | undefined;
  #video: Out | undefined;
  #audio: Out | undefined;
  #webm: WebmFrames | undefined;
  /** H.264: the asset's SPS and PPS, sent before a keyframe that does not carry them. */
  #parameterSets: Uint8Array[] = [];
  #closed = false;
  #waitKeyframe = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #budget: ResendBudget;
  readonly #lookups: ResendBudget;
  /** `nacks`: generic NACK messages; `retransmits`: packets sent again; `nackRefused`: asked for, held, over a bound. */
  stats = { videoFrames: 0, audioFrames: 0, bytes: 0, plis: 0, nacks: 0, retransmits: 0, nackRefused: 0 };

  /** Throws SdpError for an offer that receives neither VP8 nor H.264. */
  constructor(opts: WhepSessionOptions) {
    super();
    this.#o = opts;
    this.resourceId = opts.resourceId;
    this.#now = opts.now ?? (() => performance.now());
    this.#summary = summarizeOffer(opts.offer, 'receive');
    this.#budget = new ResendBudget(NACK_RESEND_BYTES_PER_S, this.#now);
    this.#lookups = new ResendBudget(NACK_LOOKUPS_PER_S, this.#now);
    this.#timer = setTimeout(() => this.#pc?.state() !== 'connected' && this.close('connect-timeout'), WHEP_CONNECT_TIMEOUT_MS);
    this.#timer.unref?.();
  }

  /**
   * Opens the asset, answers with its video codec (VP8, or H.264 when the asset is H.264 and the
   * offer receives it: throws SdpError otherwise) once ICE gathering completed.
   */
  async answer(): Promise<string> {
    this.#webm = await openWebm(this.#o.source);
    if (this.#closed) throw new Error('closed');
    const codec = this.#webm.videoCodec;
    const want = codec === 'vp8' ? 'vp8' : codec === 'avc' ? 'h264' : undefined;
    if (!want) {
      const instead = codec ? this.#o.renditions?.()[0] : undefined;
      throw new SdpError(
        `the asset's video is ${codec ?? 'absent'}; WHEP plays VP8 and H.264${instead ? `: play its VP8 rendition instead, POST /whep/${instead}` : ''}`,
      );
    }
    const media = this.#summary.videoOptions.find((m) => m.codec === want);
    if (!media) {
      throw new SdpError(
        `the asset's video is ${want === 'h264' ? 'H.264' : 'VP8'}; the offer receives only ${this.#summary.videoOptions.map((m) => m.codec.toUpperCase()).join(', ')}${want === 'h264' ? ' (H.264 needs packetization-mode=1)' : ''}`,
      );
    }
    const pc = new PeerConnection(`whep-${this.#o.resourceId}`, {
      iceServers: this.#o.iceServers ?? [],
      ...(this.#o.bindAddress ? { bindAddress: this.#o.bindAddress } : {}),
    });
    this.#pc = pc;
    const v = new Video(media.mid, 'SendOnly');
    let vpt = media.payloadTypes[0]!;
    if (want === 'h264') {
      const config = this.#webm.videoDescription;
      if (!config) throw new Error("the asset's H.264 track has no AVCDecoderConfigurationRecord");
      this.#parameterSets = parameterSets(config);
      vpt = h264PayloadType(media, config[1]!);
      v.addH264Codec(vpt, media.fmtp[vpt] || undefined);
    } else v.addVP8Codec(vpt);
    const vrtp = new RtpPacketizer({ codec: want, payloadType: vpt, clockRateHz: 90_000 });
    v.addSSRC(vrtp.ssrc, 'baton', 'baton', 'video');
    this.#video = this.#out(pc.addTrack(v), vrtp);
    const audio = this.#summary.audio;
    if (audio) {
      const a = new Audio(audio.mid, 'SendOnly');
      const apt = audio.payloadTypes[0]!;
      a.addOpusCodec(apt);
      const artp = new RtpPacketizer({ codec: 'opus', payloadType: apt, clockRateHz: 48_000 });
      a.addSSRC(artp.ssrc, 'baton', 'baton', 'audio');
      this.#audio = this.#out(pc.addTrack(a), artp);
    }
    for (const o of [this.#video, this.#audio]) if (o) o.track.onMessage((rtcp) => this.#feedback(o, rtcp));
    this.#video.track.onOpen(() => void this.#pump().catch(() => this.close('source-failed')));
    pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.close(`peer-${state}`);
    });
    setOffer(pc, this.#o.offer);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ICE gathering did not complete within ${GATHER_TIMEOUT_MS} ms`)), GATHER_TIMEOUT_MS);
      const done = () => (clearTimeout(timer), resolve());
      if (pc.gatheringState() === 'complete') return done();
      pc.onGatheringStateChange((s) => s === 'complete' && done());
    });
    const d = pc.localDescription();
    if (!d?.sdp) throw new Error('libdatachannel produced no answer');
    return d.sdp;
  }

  #out(track: Track, rtp: RtpPacketizer): Out {
    const nack = new NackResponder({
      ssrc: rtp.ssrc,
      budget: this.#budget,
      lookups: this.#lookups,
      historyPackets: this.#o.nackHistoryPackets,
      resend: (p) => {
        if (this.#closed || !track.isOpen()) return;
        track.sendMessageBinary(p);
        this.stats.bytes += p.byteLength;
        this.#o.sent?.(p.byteLength);
      },
    });
    return { track, rtp, nack, repeats: new RtcpRepeats() };
  }

  /** RTCP from the player, on a track the packet names. */
  #feedback(out: Out, rtcp: Buffer): void {
    if (this.#closed || out.repeats.again(rtcp, this.#now())) return;
    if (out === this.#video && hasPli(rtcp)) {
      this.stats.plis++;
      this.#waitKeyframe = true;
      this.#o.feedback?.({ kind: 'pli' });
    }
    const n = out.nack.received(rtcp);
    if (!n) return;
    this.stats.nacks += n.nacks;
    this.stats.retransmits += n.resent;
    this.stats.nackRefused += n.refused;
    this.#o.feedback?.({ kind: 'nack', ...n });
  }

  /** Idempotent. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#webm?.close();
    this.#o.source.close();
    for (const o of [this.#video, this.#audio]) o?.track.close();
    this.#pc?.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  /** An AVCC sample's NAL units; a keyframe without SPS/PPS in band gets the asset's first (a WebRTC receiver learns them only in band). */
  #h264Nalus(f: MediaFrame): Uint8Array[] {
    const lengthBytes = ((this.#webm?.videoDescription?.[4] ?? 3) & 3) + 1;
    const nalus = fromAvcc(f.data, lengthBytes);
    if (f.key && !nalus.some((n) => (n[0]! & 0x1f) === NalType.sps)) return [...this.#parameterSets, ...nalus];
    return nalus;
  }

  async #pump(): Promise<void> {
    const webm = this.#webm;
    if (!webm || this.#closed) return;
    // A live stream is paced by its broadcaster: each frame goes out as soon as it is read.
    const live = this.#o.source.isLive();
    let startMs: number | undefined;
    let baseS = 0;
    for await (const f of webm.frames()) {
      if (this.#closed) return;
      if (startMs === undefined) {
        startMs = this.#now();
        baseS = f.timestampS;
      }
      const wait = live ? 0 : startMs + (f.timestampS - baseS) * 1000 - this.#now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (this.#closed) return;
      this.#send(f);
    }
    this.close('ended');
  }

  #send(f: MediaFrame): void {
    const out = f.kind === 'video' ? this.#video : this.#audio;
    if (!out || !out.track.isOpen()) return;
    if (f.kind === 'video') {
      if (this.#waitKeyframe && !f.key) return;
      if (f.key) this.#waitKeyframe = false;
      this.stats.videoFrames++;
    } else {
      // Audio waits for the first video keyframe, so both start together.
      if (this.stats.videoFrames === 0) return;
      this.stats.audioFrames++;
    }
    const packets =
      out.rtp.codec === 'h264' ? out.rtp.packetizeNalus(this.#h264Nalus(f), f.timestampS) : out.rtp.packetize(f.data, f.timestampS);
    let bytes = 0;
    for (const p of packets) {
      out.track.sendMessageBinary(p);
      out.nack.sent(p);
      bytes += p.byteLength;
    }
    this.stats.bytes += bytes;
    this.#o.sent?.(bytes);
  }
}

/**
 * The H.264 payload type to answer with: one whose profile-level-id names the asset's profile
 * (a decoder set up for Baseline may refuse High), else the offer's first packetization-mode=1 type.
 */
export function h264PayloadType(media: OfferMedia, profileIdc: number): number {
  const profile = (pt: number) => {
    const m = /profile-level-id=([0-9a-f]{2})/i.exec(media.fmtp[pt] ?? '');
    return m ? Number.parseInt(m[1]!, 16) : 0x42; // RFC 6184: absent means Baseline
  };
  return media.payloadTypes.find((pt) => profile(pt) === profileIdc) ?? media.payloadTypes[0]!;
}
