// The page's own peer (web-client/components/native-peer.ts) over a stand-in RTCPeerConnection: what it fires before
// anyone listens (a peer made ahead that connected before the player's code) is held for the first listener, within a bound.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_HELD_DATA_BYTES, NativePeer } from '../../web-client/components/native-peer.js';

/** The data channel the stand-in connection made last: the test opens it and delivers messages on it. */
let channel: {
  binaryType: string;
  onopen: (() => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  onerror: ((e: unknown) => void) | null;
  send(): void;
  close(): void;
};

class FakePeerConnection {
  onicecandidate: unknown = null;
  oniceconnectionstatechange: unknown = null;
  onconnectionstatechange: unknown = null;
  localDescription: { sdp: string } | null = null;
  createDataChannel() {
    channel = { binaryType: '', onopen: null, onmessage: null, onclose: null, onerror: null, send() {}, close() {} };
    return channel;
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0' };
  }
  async setLocalDescription(d: { sdp: string }) {
    this.localDescription = d;
  }
  close() {}
}

const original = (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection;
beforeEach(() => {
  (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection = FakePeerConnection;
});
afterEach(() => {
  (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection = original;
});

describe('NativePeer', () => {
  it('hands what it fired before anyone listened to the first listener of each event, in order', async () => {
    const peer = new NativePeer({ initiator: true });
    expect(await peer.offered()).toEqual({ type: 'offer', sdp: 'v=0' });
    channel.onopen!();
    channel.onmessage!({ data: '{"t":"meta"}' });
    channel.onmessage!({ data: new Uint8Array([1, 2, 3]).buffer });
    const seen: unknown[] = [];
    peer.on('signal', (d) => seen.push(['signal', d]));
    peer.on('connect', () => seen.push(['connect']));
    peer.on('data', (d) => seen.push(['data', d]));
    expect(seen).toEqual([
      ['signal', { type: 'offer', sdp: 'v=0' }],
      ['connect'],
      ['data', '{"t":"meta"}'],
      ['data', new Uint8Array([1, 2, 3])],
    ]);
    // Later events go straight to the listeners.
    channel.onmessage!({ data: 'x' });
    expect(seen.at(-1)).toEqual(['data', 'x']);
    peer.destroy();
  });

  it(`closes once more than ${MAX_HELD_DATA_BYTES} bytes wait for a listener; its error and close wait too`, async () => {
    const fill = async (bytes: number) => {
      const peer = new NativePeer({ initiator: true });
      await peer.offered();
      const ch = channel;
      ch.onopen!();
      const chunk = new Uint8Array(64 * 1024).buffer;
      for (let left = bytes; left > 0; left -= chunk.byteLength) ch.onmessage!({ data: chunk.slice(0, Math.min(left, chunk.byteLength)) });
      const got = { errors: [] as string[], closed: false };
      peer.on('error', (e) => got.errors.push((e as Error & { code?: string }).code ?? ''));
      peer.on('close', () => (got.closed = true));
      return { peer, got };
    };
    const at = await fill(MAX_HELD_DATA_BYTES);
    expect(at.got).toEqual({ errors: [], closed: false });
    const over = await fill(MAX_HELD_DATA_BYTES + 1);
    expect(over.got).toEqual({ errors: ['ERR_HELD_TOO_MUCH'], closed: true });
    at.peer.destroy();
  });
});
