// A watch asked ahead by a page's first module: sent once the socket connects and the offer is made, its reply and
// the hub's messages meanwhile taken over by the first Viewer; not taken, it is left.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { MAX_HELD_HUB_MESSAGES, askWatchAhead } from '../../client-sdk/watch-ahead.js';
import { OFFER_WAIT_MS } from '../../client-sdk/watch-request.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

const OFFER = { type: 'offer', sdp: 'v=0' };
const ANSWER = { type: 'answer', sdp: 'v=0 answer' };
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMid: '0' } };
const reply = (sessionId: string, serverId: string, answer?: unknown) => ({
  ok: true,
  sessionId,
  server: { id: serverId, region: 'test' },
  reason: 'storage',
  loadFactor: 0,
  epoch: 1,
  ...(answer ? { answer } : {}),
});

/** A socket that records what is emitted, lets the test answer each `watch` and send hub messages, and connects when told. */
function hubSocket(connected: boolean) {
  const emitted: Array<{ event: string; msg: any }> = [];
  const acks: Array<(r: unknown) => void> = [];
  const listeners = new Map<string, Set<(x?: any) => void>>();
  const socket = {
    connected,
    emit(event: string, msg?: any, ack?: (r: unknown) => void) {
      emitted.push({ event, msg });
      if (event === 'watch') acks.push(ack!);
    },
    on(event: string, fn: (x?: any) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(fn);
    },
    off(event: string, fn: (x?: any) => void) {
      listeners.get(event)?.delete(fn);
    },
  };
  const fire = (event: string, msg?: unknown) => {
    for (const fn of [...(listeners.get(event) ?? [])]) fn(msg);
  };
  return {
    socket: socket as unknown as ViewerSocket,
    emitted,
    of: (event: string) => emitted.filter((e) => e.event === event).map((e) => e.msg),
    answerWatch: (i: number, r: unknown) => acks[i]!(r),
    hub: fire,
    connect: () => {
      socket.connected = true;
      fire('connect');
    },
    listening: (event: string) => listeners.get(event)?.size ?? 0,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe('askWatchAhead', () => {
  it('asks once the socket is connected and the offer made; the Viewer takes the reply, the answer and the held candidates', async () => {
    const s = hubSocket(false);
    let made!: (o: typeof OFFER) => void;
    const ahead = askWatchAhead(s.socket, 'demo', new Promise((r) => (made = r)));
    s.connect();
    await settle();
    expect(s.of('watch')).toEqual([]); // connected, but the offer is not made yet
    made(OFFER);
    await settle();
    expect(s.of('watch')).toEqual([{ assetId: 'demo', offset: 0, offer: OFFER }]);
    // The hub answers and the server's candidate arrives before any Viewer exists.
    s.answerWatch(0, reply('s1', 'srv-1', ANSWER));
    s.hub('signal', { sessionId: 's1', data: CANDIDATE });
    await settle();

    const peers = scriptedPeers({ offer: 'held' });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    const selected: unknown[] = [];
    v.addEventListener('selected', (e) => selected.push(e.detail.sessionId));
    v.start();
    await settle();
    expect(s.of('watch')).toHaveLength(1); // no watch of its own
    expect(selected).toEqual(['s1']);
    const peer = peers.made[0]!;
    expect(peer.signalled).toEqual([ANSWER, CANDIDATE]);
    // Its own candidates go to the session; the offer, which went with the watch, is not sent again.
    peer.fire('signal', CANDIDATE);
    expect(s.of('signal')).toEqual([{ sessionId: 's1', data: CANDIDATE }]);
    // Holding stopped: only the Viewer listens now.
    expect(s.listening('signal')).toBe(1);
    v.close();
  });

  it('goes without the offer OFFER_WAIT_MS after the connect; the Viewer then sends it to the session', async () => {
    vi.useFakeTimers();
    const s = hubSocket(true);
    const ahead = askWatchAhead(s.socket, 'demo', new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(OFFER_WAIT_MS - 1);
    expect(s.of('watch')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.of('watch')).toEqual([{ assetId: 'demo', offset: 0 }]);
    s.answerWatch(0, reply('s1', 'srv-1'));
    const peers = scriptedPeers({ offer: 'held' });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    v.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.of('signal')).toEqual([{ sessionId: 's1', data: OFFER }]);
    v.close();
  });

  it('a held session close fails the Viewer over to another server', async () => {
    const s = hubSocket(true);
    const ahead = askWatchAhead(s.socket, 'demo', Promise.resolve(OFFER));
    await settle();
    s.answerWatch(0, reply('s1', 'srv-1', ANSWER));
    s.hub('session-close', { sessionId: 's1', reason: 'server-gone' });
    const peers = scriptedPeers({ offer: true });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    v.start();
    await settle();
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 's1' }]);
    expect(s.of('watch').at(-1)).toMatchObject({ assetId: 'demo', offset: 0, exclude: ['srv-1'] });
    v.close();
  });

  it('a Viewer that would ask something else drops it: its session is left, and the Viewer asks its own', async () => {
    const s = hubSocket(true);
    const ahead = askWatchAhead(s.socket, 'demo', Promise.resolve(OFFER));
    await settle();
    const peers = scriptedPeers({ offer: true });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead, avoid: ['srv-1'] });
    v.start();
    await settle();
    s.answerWatch(0, reply('s1', 'srv-1', ANSWER));
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 's1' }]);
    expect(s.of('watch')).toHaveLength(2);
    expect(s.of('watch')[1]).toMatchObject({ assetId: 'demo', exclude: ['srv-1'] });
    v.close();
  });

  it('a Viewer closed before it started leaves the session asked ahead', async () => {
    const s = hubSocket(true);
    const ahead = askWatchAhead(s.socket, 'demo', Promise.resolve(OFFER));
    await settle();
    const peers = scriptedPeers({ offer: true });
    new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead }).close();
    s.answerWatch(0, reply('s1', 'srv-1', ANSWER));
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 's1' }]);
    expect(s.listening('signal')).toBe(0);
  });

  it(`holds at most ${MAX_HELD_HUB_MESSAGES} hub messages`, async () => {
    const s = hubSocket(true);
    const ahead = askWatchAhead(s.socket, 'demo', Promise.resolve(OFFER));
    for (let i = 0; i < MAX_HELD_HUB_MESSAGES + 10; i++) s.hub('signal', { sessionId: 's1', data: { i } });
    const held = ahead.take();
    expect(held).toHaveLength(MAX_HELD_HUB_MESSAGES);
    expect(held.at(-1)).toEqual({ event: 'signal', msg: { sessionId: 's1', data: { i: MAX_HELD_HUB_MESSAGES - 1 } } });
    ahead.drop();
  });
});
