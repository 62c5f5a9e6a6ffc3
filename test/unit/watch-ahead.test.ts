// A watch asked ahead by a page's first module: sent once the socket connects and the offer is made; its peer signalled
// for the session before any Viewer exists (answer and candidates both ways); the first Viewer takes over the reply, the
// peer and the held session closes; not taken, it is left and its peer closed.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { MAX_HELD_HUB_MESSAGES, MAX_HELD_PEER_SIGNALS, askWatchAhead } from '../../client-sdk/watch-ahead.js';
import { OFFER_WAIT_MS } from '../../client-sdk/watch-request.js';
import { encodeControl } from '../../signaling/protocol/frames.js';
import { scriptedAheadPeer, scriptedPeers } from '../helpers/scripted-peer.js';

const OFFER = { type: 'offer', sdp: 'v=0' };
const ANSWER = { type: 'answer', sdp: 'v=0 answer' };
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMid: '0' } };
const CANDIDATE_2 = { type: 'candidate', candidate: { candidate: 'candidate:2 1 UDP 1 127.0.0.1 5002 typ host', sdpMid: '0' } };
const OWN_CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:3 1 udp 1 abc.local 6000 typ host', sdpMid: '0' } };
const META = encodeControl({ t: 'meta', assetId: 'demo', mime: 'video/webm', bytes: 100, live: false, offset: 0 });
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

/** A watch asked ahead on a connected socket, its peer's offer made already: the watch is sent. */
async function askedAhead() {
  const s = hubSocket(true);
  const peer = scriptedAheadPeer();
  peer.makeOffer();
  const ahead = askWatchAhead(s.socket, 'demo', peer);
  await settle();
  return { s, peer, ahead };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('askWatchAhead', () => {
  it('asks once the socket is connected and the offer made, and signals its peer for the session before any Viewer exists', async () => {
    const s = hubSocket(false);
    const peer = scriptedAheadPeer();
    const ahead = askWatchAhead(s.socket, 'demo', peer);
    s.connect();
    await settle();
    expect(s.of('watch')).toEqual([]); // connected, but the offer is not made yet
    peer.makeOffer();
    await settle();
    expect(s.of('watch')).toEqual([{ assetId: 'demo', offset: 0, offer: OFFER }]);
    // The peer's candidate and the server's come before the reply names the session: both wait.
    peer.fire('signal', OWN_CANDIDATE);
    s.hub('signal', { sessionId: 'session-1', data: CANDIDATE });
    expect(s.of('signal')).toEqual([]);
    expect(peer.signalled).toEqual([]);
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    // No Viewer yet: the answer and the server's candidate are the peer's, its candidate the session's (not the offer).
    expect(peer.signalled).toEqual([ANSWER, CANDIDATE]);
    expect(s.of('signal')).toEqual([{ sessionId: 'session-1', data: OWN_CANDIDATE }]);
    s.hub('signal', { sessionId: 'session-1', data: CANDIDATE_2 });
    s.hub('signal', { sessionId: 'other', data: CANDIDATE });
    expect(peer.signalled).toEqual([ANSWER, CANDIDATE, CANDIDATE_2]);
    peer.fire('signal', OWN_CANDIDATE);
    expect(s.of('signal')).toHaveLength(2);
    expect(await ahead.reply).toEqual(reply('session-1', 'srv-1')); // the answer was the peer's already
  });

  it('the Viewer takes the reply and the peer, and gives the peer nothing twice', async () => {
    const { s, peer, ahead } = await askedAhead();
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    // The peer connected and the server's meta came before any Viewer listened.
    peer.fire('connect');
    peer.fire('data', META);

    const peers = scriptedPeers({ offer: 'held' });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    const events: string[] = [];
    for (const type of ['selected', 'meta'] as const) v.addEventListener(type, () => events.push(type));
    v.start();
    await settle();
    expect(s.of('watch')).toHaveLength(1); // no watch of its own
    expect(peers.made).toHaveLength(0); // nor a peer of its own
    expect(events).toEqual(['selected', 'meta']);
    expect(peer.signalled).toEqual([ANSWER]);
    // The Viewer confirmed the start on the peer that connected ahead.
    expect(s.of('signal')).toEqual([]);
    // From now on the Viewer gives the hub's signals to the peer; the peer's own still go to the session, once.
    s.hub('signal', { sessionId: 'session-1', data: CANDIDATE });
    expect(peer.signalled).toEqual([ANSWER, CANDIDATE]);
    peer.fire('signal', OWN_CANDIDATE);
    expect(s.of('signal')).toEqual([{ sessionId: 'session-1', data: OWN_CANDIDATE }]);
    expect(s.listening('signal')).toBe(1);
    v.close();
  });

  it('a Viewer taking a peer the page already played sends no play of its own; one taking a peer not played does', async () => {
    for (const played of [true, false]) {
      const { s, peer, ahead } = await askedAhead();
      peer.played = played;
      s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
      await settle();
      peer.fire('connect');
      const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: scriptedPeers({ offer: 'held' }).Peer as never, ahead });
      v.start();
      await settle();
      expect(peer.sent).toEqual(played ? [] : [{ t: 'play' }]);
      v.close();
    }
  });

  it('a Viewer that comes before the reply takes the peer; the reply signals it all the same', async () => {
    const { s, peer, ahead } = await askedAhead();
    const peers = scriptedPeers({ offer: 'held' });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    const selected: string[] = [];
    v.addEventListener('selected', (e) => selected.push(e.detail.sessionId));
    v.start();
    peer.fire('signal', OWN_CANDIDATE);
    s.hub('signal', { sessionId: 'session-1', data: CANDIDATE });
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    expect(selected).toEqual(['session-1']);
    expect(peers.made).toHaveLength(0);
    expect(peer.signalled).toEqual([ANSWER, CANDIDATE]);
    expect(s.of('signal')).toEqual([{ sessionId: 'session-1', data: OWN_CANDIDATE }]);
    v.close();
  });

  it('a peer that failed before the Viewer listened fails the Viewer over, reporting its error', async () => {
    const { s, peer, ahead } = await askedAhead();
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    peer.fire('error', new Error('DTLS failed'));
    peer.fire('close');
    const peers = scriptedPeers({ offer: true });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    const warnings: string[] = [];
    v.addEventListener('warning', (e) => warnings.push(`${e.detail.code}: ${e.detail.message}`));
    v.start();
    await settle();
    await settle();
    expect(warnings).toEqual(['peer-error: DTLS failed']);
    expect(s.of('leave')).toEqual([{ sessionId: 'session-1' }]);
    expect(s.of('watch').at(-1)).toMatchObject({ assetId: 'demo', exclude: ['srv-1'] });
    v.close();
  });

  it('goes without the offer OFFER_WAIT_MS after the connect; the offer then goes to the session', async () => {
    vi.useFakeTimers();
    const s = hubSocket(true);
    const peer = scriptedAheadPeer();
    const ahead = askWatchAhead(s.socket, 'demo', peer);
    await vi.advanceTimersByTimeAsync(OFFER_WAIT_MS - 1);
    expect(s.of('watch')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.of('watch')).toEqual([{ assetId: 'demo', offset: 0 }]);
    peer.makeOffer();
    s.answerWatch(0, reply('session-1', 'srv-1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.of('signal')).toEqual([{ sessionId: 'session-1', data: OFFER }]);
    const peers = scriptedPeers({ offer: 'held' });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    v.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.of('signal')).toHaveLength(1); // not sent again
    // The answer came later through the relay: the Viewer gives it to the peer.
    s.hub('signal', { sessionId: 'session-1', data: ANSWER });
    expect(peer.signalled).toEqual([ANSWER]);
    v.close();
  });

  it('a held session close fails the Viewer over to another server', async () => {
    const { s, peer, ahead } = await askedAhead();
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    s.hub('session-close', { sessionId: 'session-1', reason: 'server-gone' });
    const peers = scriptedPeers({ offer: true });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead });
    v.start();
    await settle();
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 'session-1' }]);
    expect(s.of('watch').at(-1)).toMatchObject({ assetId: 'demo', offset: 0, exclude: ['srv-1'] });
    v.close();
  });

  it('a Viewer that would ask something else drops it: its session is left, its peer closed, and the Viewer asks its own', async () => {
    const { s, peer, ahead } = await askedAhead();
    const peers = scriptedPeers({ offer: true });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead, avoid: ['srv-1'] });
    v.start();
    await settle();
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 'session-1' }]);
    expect(peer.destroyed).toBe(true);
    expect(peer.signalled).toEqual([]);
    expect(s.of('watch')).toHaveLength(2);
    expect(s.of('watch')[1]).toMatchObject({ assetId: 'demo', exclude: ['srv-1'] });
    expect(peers.made).toHaveLength(1);
    v.close();
  });

  it("carries the page's delivery limit in the watch, and a Viewer asking another limit does not take it", async () => {
    const s = hubSocket(true);
    const peer = scriptedAheadPeer();
    peer.makeOffer();
    const ahead = askWatchAhead(s.socket, 'demo', peer, 400_000);
    await settle();
    // In the watch itself: the server paces from the first byte, before the player's `limit` frame could arrive.
    expect(s.of('watch')[0]).toMatchObject({ assetId: 'demo', offset: 0, limitBps: 400_000 });
    const peers = scriptedPeers({ offer: true });
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead, limitBps: 800_000 });
    v.start();
    await settle();
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 'session-1' }]);
    expect(s.of('watch')[1]).toMatchObject({ assetId: 'demo', limitBps: 800_000 });
    v.close();
  });

  it('a Viewer closed before it started leaves the session asked ahead and closes its peer', async () => {
    const { s, peer, ahead } = await askedAhead();
    const peers = scriptedPeers({ offer: true });
    new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never, ahead }).close();
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    expect(s.of('leave')).toEqual([{ sessionId: 'session-1' }]);
    expect(peer.destroyed).toBe(true);
    expect(s.listening('signal')).toBe(0);
  });

  it(`holds at most ${MAX_HELD_HUB_MESSAGES} hub messages`, async () => {
    const s = hubSocket(true);
    const ahead = askWatchAhead(s.socket, 'demo', scriptedAheadPeer());
    for (let i = 0; i < MAX_HELD_HUB_MESSAGES + 10; i++) s.hub('signal', { sessionId: 'session-1', data: { i } });
    const held = ahead.take();
    expect(held).toHaveLength(MAX_HELD_HUB_MESSAGES);
    expect(held.at(-1)).toEqual({ event: 'signal', msg: { sessionId: 'session-1', data: { i: MAX_HELD_HUB_MESSAGES - 1 } } });
    ahead.drop();
  });

  it(`holds at most ${MAX_HELD_PEER_SIGNALS} of the peer's signals before the session is known`, async () => {
    const { s, peer } = await askedAhead();
    for (let i = 0; i < MAX_HELD_PEER_SIGNALS + 10; i++) peer.fire('signal', { type: 'candidate', candidate: { candidate: `c${i}` } });
    s.answerWatch(0, reply('session-1', 'srv-1', ANSWER));
    await settle();
    // The offer (which went with the watch) was the first held.
    const sent = s.of('signal');
    expect(sent).toHaveLength(MAX_HELD_PEER_SIGNALS - 1);
    expect(sent.at(-1)).toEqual({
      sessionId: 'session-1',
      data: { type: 'candidate', candidate: { candidate: `c${MAX_HELD_PEER_SIGNALS - 2}` } },
    });
  });
});
