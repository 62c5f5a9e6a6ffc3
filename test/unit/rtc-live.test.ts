// The player's low-latency live mode (rtc-live.ts), its pure parts: where a WHEP offer goes, and which streams it takes.
import { describe, expect, it } from 'vitest';
import { rtcPlays, whepEndpoints } from '../../web-client/components/rtc-live.js';

describe('rtc live', () => {
  it("offers to the page's own hub first, then every other hub once, the id encoded", () => {
    expect(whepEndpoints('live-1', 'http://hub-a:8080', ['http://hub-a:8080/', 'http://hub-b:8080'])).toEqual([
      'http://hub-a:8080/whep/live-1',
      'http://hub-b:8080/whep/live-1',
    ]);
    expect(whepEndpoints('a b', 'http://h', [])).toEqual(['http://h/whep/a%20b']);
  });

  it('takes nothing where there is no WebRTC (Node has no RTCPeerConnection), whatever the codec', () => {
    expect(rtcPlays('video/webm; codecs="vp8,opus"')).toBe(false);
  });

  it('takes VP8 and H.264 the browser decodes, never VP9, AV1 or audio alone', () => {
    const g = globalThis as Record<string, unknown>;
    const saved = { pc: g.RTCPeerConnection, rx: g.RTCRtpReceiver };
    g.RTCPeerConnection = class {};
    g.RTCRtpReceiver = { getCapabilities: () => ({ codecs: [{ mimeType: 'video/VP8' }, { mimeType: 'video/H264' }] }) };
    try {
      expect(rtcPlays('video/webm; codecs="vp8,opus"')).toBe(true);
      expect(rtcPlays('video/webm; codecs="vp8"')).toBe(true);
      expect(rtcPlays('video/x-matroska; codecs="avc1.42E01E,opus"')).toBe(true);
      expect(rtcPlays('video/webm; codecs="vp9,opus"')).toBe(false);
      expect(rtcPlays('video/webm; codecs="av01.0.04M.08,opus"')).toBe(false);
      expect(rtcPlays('audio/webm; codecs="opus"')).toBe(false);
      g.RTCRtpReceiver = { getCapabilities: () => ({ codecs: [{ mimeType: 'video/VP8' }] }) };
      expect(rtcPlays('video/x-matroska; codecs="avc1.42E01E,opus"')).toBe(false);
    } finally {
      g.RTCPeerConnection = saved.pc;
      g.RTCRtpReceiver = saved.rx;
    }
  });
});
