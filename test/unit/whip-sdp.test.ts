// Which codec a WHIP offer is answered with (VP8 when offered, else H.264, as OBS sends), and what a WHEP offer may receive.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { restrictOffer, SdpError, summarizeOffer } from '../../signaling/protocol/whip-sdp.js';

const GST_OFFER = readFileSync(join(import.meta.dirname, '../fixtures/whip-offer.sdp'), 'utf8');
/** Chromium 156's default offer for a video and an audio sender: every codec, with RED, ULPFEC and RTX. */
const CHROMIUM_OFFER = readFileSync(join(import.meta.dirname, '../fixtures/whip-offer-chromium.sdp'), 'utf8');

/** The fixture's video m-line offering `codecs` (payload type, rtpmap name, fmtp) instead of VP8 only. */
function withVideo(codecs: [number, string, string?][], sdp = GST_OFFER): string {
  const pts = codecs.map((c) => c[0]).join(' ');
  const lines = codecs.flatMap(([pt, name, fmtp]) => [`a=rtpmap:${pt} ${name}/90000`, ...(fmtp ? [`a=fmtp:${pt} ${fmtp}`] : [])]);
  return sdp
    .replace('m=video 9 UDP/TLS/RTP/SAVPF 96', `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`)
    .replace('a=rtpmap:96 VP8/90000', lines.join('\r\n'));
}

const OBS_H264 = 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1';

describe('summarizeOffer', () => {
  it('takes H.264 from an offer that has only H.264 (OBS), with its fmtp', () => {
    const s = summarizeOffer(withVideo([[102, 'H264', OBS_H264]]));
    expect(s.video).toMatchObject({ kind: 'video', mid: 'video0', codec: 'h264', payloadTypes: [102], fmtp: { 102: OBS_H264 } });
    expect(s.audio).toMatchObject({ codec: 'opus', payloadTypes: [97] });
  });

  it('keeps VP8 when the offer has both, whatever the order (the browser player plays VP8 natively)', () => {
    const s = summarizeOffer(
      withVideo([
        [102, 'H264', OBS_H264],
        [96, 'VP8'],
      ]),
    );
    expect(s.video.codec).toBe('vp8');
    expect(s.videoOptions.map((m) => m.codec)).toEqual(['vp8', 'h264']);
  });

  it('prefers packetization-mode 1, takes mode 0 for ingest, refuses mode 2 (interleaved)', () => {
    expect(
      summarizeOffer(
        withVideo([
          [104, 'H264', 'profile-level-id=42e01f'],
          [102, 'H264', OBS_H264],
        ]),
      ).video.payloadTypes,
    ).toEqual([102, 104]);
    expect(summarizeOffer(withVideo([[104, 'H264', 'profile-level-id=42e01f']])).video.payloadTypes).toEqual([104]);
    expect(() => summarizeOffer(withVideo([[105, 'H264', 'packetization-mode=2']]))).toThrow(SdpError);
    expect(() => summarizeOffer(withVideo([[105, 'H265']]))).toThrow(/no VP8 or H\.264 video/);
  });

  it('for WHEP, receives H.264 only in packetization-mode 1 (Baton sends FU-A)', () => {
    const recv = (sdp: string) => sdp.replace(/a=sendrecv/g, 'a=recvonly');
    expect(summarizeOffer(recv(withVideo([[102, 'H264', OBS_H264]])), 'receive').video.codec).toBe('h264');
    expect(() => summarizeOffer(recv(withVideo([[104, 'H264', 'profile-level-id=42e01f']])), 'receive')).toThrow(/packetization-mode=1/);
  });
});

describe('restrictOffer', () => {
  const formats = (sdp: string, kind: string) => new RegExp(`^m=${kind} \\d+ \\S+ (.*)$`, 'm').exec(sdp)![1];
  const pts = (sdp: string) => [...sdp.matchAll(/^a=(?:rtpmap|fmtp|rtcp-fb):(\d+) /gm)].map((m) => Number(m[1]));

  it("answers a browser's offer with VP8 and Opus alone: no RED, ULPFEC or RTX to wrap the media in", () => {
    const summary = summarizeOffer(CHROMIUM_OFFER);
    const out = restrictOffer(CHROMIUM_OFFER, summary);
    expect(formats(out, 'video')).toBe('96');
    expect(formats(out, 'audio')).toBe('111');
    expect(new Set(pts(out))).toEqual(new Set([96, 111]));
    expect(out).not.toMatch(/red\/|ulpfec|rtx\//);
    // Everything else stays: feedback, header extensions, mids, ICE and DTLS lines, CRLF endings.
    expect(out).toMatch(/^a=rtcp-fb:96 nack pli\r$/m);
    expect(out.match(/^a=extmap:/gm)?.length).toBe(CHROMIUM_OFFER.match(/^a=extmap:/gm)?.length);
    for (const l of CHROMIUM_OFFER.split('\r\n').filter((l) => /^a=(mid|ice-ufrag|ice-pwd|fingerprint|setup|group)/.test(l)))
      expect(out).toContain(l);
    expect(out.split('\r\n').length).toBeGreaterThan(10);
    const again = summarizeOffer(out);
    expect([again.video, again.audio]).toEqual([summary.video, summary.audio]);
  });

  it('keeps every H.264 payload type Baton reads when H.264 is what it takes', () => {
    const offer = withVideo([
      [102, 'H264', OBS_H264],
      [104, 'H264', 'profile-level-id=42e01f;packetization-mode=0'],
      [118, 'red'],
      [120, 'ulpfec'],
    ]);
    const out = restrictOffer(offer, summarizeOffer(offer));
    expect(formats(out, 'video')).toBe('102 104');
    expect(out).toMatch(/^a=fmtp:102 /m);
    expect(out).not.toMatch(/red|ulpfec/);
  });

  it('leaves an offer that lists only what Baton takes as it is (GStreamer)', () => {
    expect(restrictOffer(GST_OFFER, summarizeOffer(GST_OFFER))).toBe(GST_OFFER);
  });
});
