// A seek by time the server refuses for now (`rate-limited`: more restarts than its window allows, e.g. a viewer clicking
// along the seek bar) is asked again until taken. Going back to where the stream was, as before, handed the player (which
// had dropped its buffer for the new position) bytes from inside a Cluster: "the browser could not decode the stream".
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeControl, encodeMedia, type ServerControl } from '../../signaling/protocol/frames.js';
import { MAX_SEEK_RETRIES, SEEK_RETRY_MS, Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

const socket = {
  emit(event: string, _req?: unknown, ack?: (r: unknown) => void) {
    if (event === 'watch')
      ack!({ ok: true, sessionId: 's1', server: { id: 'srv-1', region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 });
  },
  on: () => undefined,
  off: () => undefined,
} as ViewerSocket;

const META = { t: 'meta', assetId: 'a', mime: 'video/webm', bytes: 100_000, live: false, offset: 0 } as const;
const refused: ServerControl = { t: 'error', code: 'rate-limited', message: 'more than 10 restarts in 10 s: play refused' };

async function playing() {
  const peers = scriptedPeers({ offer: true });
  const v = new Viewer({ socket, assetId: 'a', SimplePeer: peers.Peer as never });
  const seeked: number[] = [];
  const data: number[] = [];
  v.addEventListener('seeked', (e) => seeked.push(e.detail.offset));
  v.addEventListener('data', (e) => data.push(e.detail.offset));
  v.start();
  await vi.advanceTimersByTimeAsync(0);
  const peer = peers.made.at(-1)!;
  peer.fire('connect');
  peer.fire('data', encodeControl(META));
  peer.fire('data', encodeMedia(0, new Uint8Array(1_000)));
  // What the viewer asked of the server since the last call: its plays only.
  let seen = peer.sent.length;
  const plays = () => {
    const out = peer.sent.slice(seen).map((s) => JSON.parse(s as string) as { t: string });
    seen = peer.sent.length;
    return out.filter((m) => m.t === 'play');
  };
  return { v, peer, seeked, data, plays };
}

describe('Viewer: a seek by time refused for now', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] }));
  afterEach(() => vi.useRealTimers());

  it('is asked again until the server takes it; nothing of the old position is asked for or delivered', async () => {
    const { v, peer, seeked, data, plays } = await playing();
    plays();
    v.seekTime(60_000);
    expect(plays()).toEqual([{ t: 'play', timeMs: 60_000 }]);
    peer.fire('data', encodeControl(refused));
    // A frame of the old position still on its way is dropped, as for any seek.
    peer.fire('data', encodeMedia(1_000, new Uint8Array(500)));
    expect(plays()).toEqual([]);
    await vi.advanceTimersByTimeAsync(SEEK_RETRY_MS);
    expect(plays()).toEqual([{ t: 'play', timeMs: 60_000 }]);
    peer.fire('data', encodeControl(refused));
    await vi.advanceTimersByTimeAsync(SEEK_RETRY_MS);
    expect(plays()).toEqual([{ t: 'play', timeMs: 60_000 }]);
    // Taken: the stream goes on from the seek's Cluster.
    peer.fire('data', encodeControl({ ...META, offset: 50_000, seekMs: 60_000, timeMs: 59_000 }));
    peer.fire('data', encodeMedia(50_000, new Uint8Array(500)));
    expect(seeked).toEqual([50_000]);
    expect(data).toEqual([0, 50_000]);
    await vi.advanceTimersByTimeAsync(SEEK_RETRY_MS * 3);
    expect(plays()).toEqual([]);
    v.close();
  });

  it('a newer seek is the one asked again; closing stops asking', async () => {
    const { v, peer, plays } = await playing();
    v.seekTime(60_000);
    peer.fire('data', encodeControl(refused));
    v.seekTime(90_000);
    expect(plays().at(-1)).toEqual({ t: 'play', timeMs: 90_000 });
    peer.fire('data', encodeControl(refused));
    await vi.advanceTimersByTimeAsync(SEEK_RETRY_MS);
    expect(plays()).toEqual([{ t: 'play', timeMs: 90_000 }]);
    peer.fire('data', encodeControl(refused));
    v.close();
    await vi.advanceTimersByTimeAsync(SEEK_RETRY_MS * 3);
    expect(plays()).toEqual([]);
  });

  it(`after ${MAX_SEEK_RETRIES} refusals the seek is given up: the stream goes on from where it was`, async () => {
    const { v, peer, plays } = await playing();
    v.seekTime(60_000);
    for (let i = 0; i < MAX_SEEK_RETRIES; i++) {
      peer.fire('data', encodeControl(refused));
      await vi.advanceTimersByTimeAsync(SEEK_RETRY_MS);
    }
    plays();
    peer.fire('data', encodeControl(refused));
    expect(plays()).toEqual([{ t: 'play', offset: 1_000 }]);
    v.close();
  });
});
