// A low-latency live session whose RTP stops while its connection stays up (the broadcast ended: the WHEP session sends
// nothing more) is lost after RTC_QUIET_MS. Chromium neither mutes the track nor drops the connection then, until ICE
// consent fails: the player went on saying "live" for ≈ 11 s after the broadcaster ended.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RTC_FLOW_CHECK_MS, RTC_QUIET_MS, RtcLive } from '../../web-client/components/rtc-live.js';

/** The peer connection's surface RtcLive uses: connected, its inbound RTP byte count set by the test. */
class FakePeerConnection extends EventTarget {
  static last: FakePeerConnection;
  connectionState = 'connected';
  iceGatheringState = 'complete';
  localDescription = { type: 'offer', sdp: 'v=0' };
  bytes = 0;
  ontrack: ((e: unknown) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  constructor() {
    super();
    FakePeerConnection.last = this;
  }
  addTransceiver() {}
  createOffer() {
    return Promise.resolve({ type: 'offer', sdp: 'v=0' });
  }
  setLocalDescription() {
    return Promise.resolve();
  }
  setRemoteDescription() {
    return Promise.resolve();
  }
  getReceivers() {
    return [{ track: { kind: 'video', muted: false, readyState: 'live' } }];
  }
  getStats() {
    return Promise.resolve(new Map([['in-v', { type: 'inbound-rtp', bytesReceived: this.bytes }]]));
  }
  close() {}
}

function video() {
  return Object.assign(new EventTarget(), { srcObject: null as unknown, play: () => Promise.resolve() }) as unknown as HTMLVideoElement;
}

describe('rtc live: RTP that stops on a connection still up', () => {
  const g = globalThis as Record<string, unknown>;
  const saved = { pc: g.RTCPeerConnection, fetch: g.fetch, stream: g.MediaStream };
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'] });
    g.RTCPeerConnection = FakePeerConnection;
    g.MediaStream = class {
      addTrack() {}
    };
    g.fetch = () =>
      Promise.resolve(
        new Response('v=0\r\n', { status: 201, headers: { location: '/whep/x/r1', 'x-baton-server': 'fra-1', 'x-baton-reason': 'live' } }),
      );
  });
  afterEach(() => {
    vi.useRealTimers();
    g.RTCPeerConnection = saved.pc;
    g.fetch = saved.fetch;
    g.MediaStream = saved.stream;
  });

  it(`is lost once no byte came for ${RTC_QUIET_MS} ms, once; not while bytes flow`, async () => {
    const lost = vi.fn();
    const v = video();
    const rtc = new RtcLive(v, [], { selected: () => undefined, playing: () => undefined, lost, failed: () => undefined });
    await rtc.start(['http://hub/whep/x']);
    v.dispatchEvent(new Event('playing'));
    const pc = FakePeerConnection.last;
    // Frames flow for 10 s: nothing is lost.
    for (let t = 0; t < 10_000; t += RTC_FLOW_CHECK_MS) {
      pc.bytes += 1_000;
      await vi.advanceTimersByTimeAsync(RTC_FLOW_CHECK_MS);
    }
    expect(lost).not.toHaveBeenCalled();
    // The broadcast ends: no more RTP, the connection still `connected`.
    await vi.advanceTimersByTimeAsync(RTC_QUIET_MS - RTC_FLOW_CHECK_MS);
    expect(lost).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2 * RTC_FLOW_CHECK_MS);
    expect(lost).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10 * RTC_QUIET_MS);
    expect(lost).toHaveBeenCalledTimes(1);
    rtc.close();
  });

  it('says nothing after close', async () => {
    const lost = vi.fn();
    const v = video();
    const rtc = new RtcLive(v, [], { selected: () => undefined, playing: () => undefined, lost, failed: () => undefined });
    await rtc.start(['http://hub/whep/x']);
    v.dispatchEvent(new Event('playing'));
    rtc.close();
    await vi.advanceTimersByTimeAsync(10 * RTC_QUIET_MS);
    expect(lost).not.toHaveBeenCalled();
  });
});
