// What a WHIP offer carries: which m-lines send VP8 video and Opus audio (checked by the hub before anything is reserved).
import { CodedError } from '../../common/coded-error.js';

/** A WHIP offer larger than this is refused (a real one is 2–6 KiB). */
export const MAX_WHIP_SDP_BYTES = 32 * 1024;

export class SdpError extends CodedError<'bad-sdp'> {
  override readonly name = 'SdpError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad-sdp', message, options);
  }
}

export interface OfferMedia {
  kind: 'video' | 'audio';
  mid: string;
  /** RTP payload types of the accepted codec (VP8 or Opus). */
  payloadTypes: number[];
}

export interface OfferSummary {
  video: OfferMedia;
  audio: OfferMedia | null;
}

/**
 * Parses the parts of an SDP offer the server needs. Throws SdpError when it is not
 * an offer that sends VP8 video (Opus audio is optional): H.264 cannot go in WebM.
 * `want: 'receive'` reads a WHEP offer instead: m-lines that receive VP8 / Opus.
 */
export function summarizeOffer(sdp: string, want: 'send' | 'receive' = 'send'): OfferSummary {
  if (sdp.length > MAX_WHIP_SDP_BYTES) throw new SdpError(`SDP offer larger than ${MAX_WHIP_SDP_BYTES} bytes`);
  if (!sdp.startsWith('v=0')) throw new SdpError('not an SDP document (it must start with v=0)');
  const sections = sdp.split(/\r?\nm=/).slice(1);
  let video: OfferMedia | null = null;
  let audio: OfferMedia | null = null;
  for (const s of sections) {
    const lines = s.split(/\r?\n/);
    const kind = lines[0]!.split(' ')[0];
    if (kind !== 'video' && kind !== 'audio') continue;
    const mid = lines
      .find((l) => l.startsWith('a=mid:'))
      ?.slice(6)
      .trim();
    if (!mid) throw new SdpError(`the ${kind} m-line has no a=mid`);
    const off = want === 'send' ? 'a=recvonly' : 'a=sendonly';
    if (lines.some((l) => l === off || l === 'a=inactive')) continue;
    const codec = kind === 'video' ? 'vp8/90000' : 'opus/48000';
    const payloadTypes = lines
      .map((l) => /^a=rtpmap:(\d+) ([^\s]+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[2]!.toLowerCase().startsWith(codec))
      .map((m) => Number(m[1]));
    if (payloadTypes.length === 0) continue;
    const media: OfferMedia = { kind, mid, payloadTypes };
    if (kind === 'video') video ??= media;
    else audio ??= media;
  }
  if (!video) throw new SdpError(`the offer ${want}s no VP8 video (Baton stores WebM: VP8 video, Opus audio)`);
  return { video, audio };
}
