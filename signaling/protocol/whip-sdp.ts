// What a WHIP offer carries: which m-lines send VP8 or H.264 video and Opus audio (checked by the hub before anything is reserved).
import { CodedError } from '../../common/coded-error.js';

/** A WHIP offer larger than this is refused (a real one is 2–6 KiB). */
export const MAX_WHIP_SDP_BYTES = 32 * 1024;

export class SdpError extends CodedError<'bad-sdp'> {
  override readonly name = 'SdpError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad-sdp', message, options);
  }
}

export type OfferCodec = 'vp8' | 'h264' | 'opus';

export interface OfferMedia {
  kind: 'video' | 'audio';
  mid: string;
  codec: OfferCodec;
  /** RTP payload types of `codec`, best first (H.264: packetization-mode=1 before 0). */
  payloadTypes: number[];
  /** The `a=fmtp` parameters of each of those payload types ('' when there are none). */
  fmtp: Record<number, string>;
}

export interface OfferSummary {
  /** The video Baton takes: VP8 when offered (the browsers' native WebM path), else H.264. */
  video: OfferMedia;
  audio: OfferMedia | null;
  /** Every accepted video codec of the video m-line, VP8 first: a WHEP session picks the asset's. */
  videoOptions: OfferMedia[];
}

/**
 * Parses the parts of an SDP offer the server needs. Throws SdpError when it is not
 * an offer that sends VP8 or H.264 video (Opus audio is optional). H.264 must be
 * packetization-mode 0 or 1 (non-interleaved); `want: 'receive'` reads a WHEP offer
 * instead: m-lines that receive VP8 / H.264 (mode 1: Baton sends FU-A) / Opus.
 */
export function summarizeOffer(sdp: string, want: 'send' | 'receive' = 'send'): OfferSummary {
  if (sdp.length > MAX_WHIP_SDP_BYTES) throw new SdpError(`SDP offer larger than ${MAX_WHIP_SDP_BYTES} bytes`);
  if (!sdp.startsWith('v=0')) throw new SdpError('not an SDP document (it must start with v=0)');
  const sections = sdp.split(/\r?\nm=/).slice(1);
  let videoOptions: OfferMedia[] | null = null;
  let audio: OfferMedia | null = null;
  for (const s of sections) {
    // trimEnd: a stray \r (seen as \r\r\n) must not hide a line from the exact matches below.
    const lines = s.split(/\r?\n/).map((l) => l.trimEnd());
    const kind = lines[0]!.split(' ')[0];
    if (kind !== 'video' && kind !== 'audio') continue;
    const mid = lines
      .find((l) => l.startsWith('a=mid:'))
      ?.slice(6)
      .trim();
    if (!mid) throw new SdpError(`the ${kind} m-line has no a=mid`);
    const off = want === 'send' ? 'a=recvonly' : 'a=sendonly';
    if (lines.some((l) => l === off || l === 'a=inactive')) continue;
    const fmtp: Record<number, string> = {};
    for (const l of lines) {
      const m = /^a=fmtp:(\d+) (.*)$/.exec(l);
      if (m) fmtp[Number(m[1])] = m[2]!.trim();
    }
    const rtpmap = lines.map((l) => /^a=rtpmap:(\d+) ([^\s]+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    const of = (codec: OfferCodec, name: string, ok: (fmtp: string) => boolean = () => true): OfferMedia | null => {
      const pts = rtpmap.filter((m) => m[2]!.toLowerCase().startsWith(name) && ok(fmtp[Number(m[1])] ?? '')).map((m) => Number(m[1]));
      if (codec === 'h264') pts.sort((a, b) => h264Mode(fmtp[b] ?? '') - h264Mode(fmtp[a] ?? ''));
      return pts.length ? { kind, mid, codec, payloadTypes: pts, fmtp: Object.fromEntries(pts.map((pt) => [pt, fmtp[pt] ?? ''])) } : null;
    };
    if (kind === 'video') {
      const h264Ok = (f: string) => (want === 'send' ? h264Mode(f) <= 1 : h264Mode(f) === 1);
      const options = [of('vp8', 'vp8/90000'), of('h264', 'h264/90000', h264Ok)].filter((m): m is OfferMedia => m !== null);
      if (options.length) videoOptions ??= options;
    } else audio ??= of('opus', 'opus/48000');
  }
  if (!videoOptions) {
    throw new SdpError(
      `the offer ${want}s no VP8 or H.264 video${want === 'receive' ? ' (H.264 with packetization-mode=1)' : ''} (Baton stores VP8 or H.264 video, Opus audio)`,
    );
  }
  return { video: videoOptions[0]!, audio, videoOptions };
}

/**
 * The offer with only the payload types Baton takes on each of its m-lines (the summary's video codec
 * and Opus). libdatachannel answers with every format an offer lists, and a browser that is answered
 * RED (RFC 2198), ULPFEC and RTX wraps its VP8 in RED and resends over RTX: packets on payload types the
 * depacketizer never reads, so no keyframe ever arrives. Without RTX a sender answers NACKs by resending
 * on the media payload type itself. Other m-lines and every non-format line are kept as they are.
 */
/**
 * Why an offer cannot continue a stored copy of MIME type `mime` (werift numbers video 1 and audio 2, so the tracks
 * must be the same: audio or not, VP8 or H.264), or undefined when it can.
 */
export function continuationMismatch(streamId: string, summary: OfferSummary, mime: string): string | undefined {
  const h264 = summary.video.codec === 'h264';
  if (/opus/.test(mime) !== (summary.audio !== null))
    return `stream ${streamId} was stored ${summary.audio ? 'without' : 'with'} audio; resume it with the same tracks`;
  if (/avc1/.test(mime) !== h264) return `stream ${streamId} was stored as ${h264 ? 'VP8' : 'H.264'}; resume it with the same video codec`;
  return undefined;
}

export function restrictOffer(sdp: string, summary: OfferSummary): string {
  const keep = new Map<string, Set<number>>([[summary.video.mid, new Set(summary.video.payloadTypes)]]);
  if (summary.audio) keep.set(summary.audio.mid, new Set(summary.audio.payloadTypes));
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const [head, ...sections] = sdp.split(/\r?\nm=/);
  const restricted = sections.map((section) => {
    const lines = section.split(/\r?\n/);
    const mid = lines
      .find((l) => l.startsWith('a=mid:'))
      ?.slice(6)
      .trim();
    const pts = mid === undefined ? undefined : keep.get(mid);
    if (!pts) return section;
    const [kind, port, proto, ...formats] = lines[0]!.split(' ');
    lines[0] = [kind, port, proto, ...formats.filter((f) => pts.has(Number(f)))].join(' ');
    return lines
      .filter((l) => {
        const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+) /.exec(l);
        return !m || pts.has(Number(m[1]));
      })
      .join(eol);
  });
  return [head, ...restricted].join(`${eol}m=`);
}

/** RFC 6184 packetization-mode of an H.264 fmtp line (absent: 0). */
export function h264Mode(fmtp: string): number {
  const m = /(?:^|;)\s*packetization-mode=(\d+)/.exec(fmtp);
  return m ? Number(m[1]) : 0;
}
