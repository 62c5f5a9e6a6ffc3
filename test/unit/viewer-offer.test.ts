// The Viewer's offer travels with its watch request: made while the socket connects, never held past the connect.
import { describe, expect, it } from 'vitest';
import { MAX_EARLY_HUB_MESSAGES, Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

type Emitted = { event: string; msg: any };

/** A socket that records what the viewer emits, answers `watch` at once, and connects when told. */
function scriptedSocket(connected: boolean, answer?: unknown) {
  const emitted: Emitted[] = [];
  const listeners = new Map<string, Set<(x?: any) => void>>();
  const socket = {
    connected,
    emit(event: string, msg?: any, ack?: (r: unknown) => void) {
      emitted.push({ event, msg });
      if (event === 'watch')
        ack!({
          ok: true,
          sessionId: 'session-1',
          server: { id: 'srv-1', region: 'test' },
          reason: 'storage',
          loadFactor: 0,
          epoch: 1,
          ...(answer ? { answer } : {}),
        });
    },
    on(event: string, fn: (x?: any) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(fn);
    },
    off(event: string, fn: (x?: any) => void) {
      listeners.get(event)?.delete(fn);
    },
  };
  const connect = () => {
    socket.connected = true;
    for (const fn of listeners.get('connect') ?? []) fn();
  };
  return { socket: socket as unknown as ViewerSocket, emitted, connect, listeners };
}

/** Peers whose signals the test makes. */
const peers = scriptedPeers({ offer: false });
const tick = () => new Promise((r) => setTimeout(r, 0));
const OFFER = { type: 'offer', sdp: 'v=0 offer' };
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMid: '0' } };

describe('Viewer: the offer goes with the watch', () => {
  it('sends the offer in the watch request, and the signals made before the reply to the session after it', async () => {
    const s = scriptedSocket(false);
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never });
    v.start();
    const peer = peers.made.at(-1)!;
    await tick();
    expect(s.emitted.filter((e) => e.event === 'watch')).toHaveLength(0); // waiting for the offer while connecting
    peer.fire('signal', OFFER);
    peer.fire('signal', CANDIDATE);
    await tick();
    const watches = s.emitted.filter((e) => e.event === 'watch');
    expect(watches).toEqual([{ event: 'watch', msg: { assetId: 'demo', offset: 0, offer: OFFER } }]);
    // The offer is not sent twice; the candidate follows through the relay, with the session id.
    expect(s.emitted.filter((e) => e.event === 'signal')).toEqual([{ event: 'signal', msg: { sessionId: 'session-1', data: CANDIDATE } }]);
    expect(s.listeners.get('connect')?.size ?? 0).toBe(0);
    v.close();
  });

  it('applies the answer that came in the reply; the selected session does not carry it', async () => {
    const answer = { type: 'answer', sdp: 'v=0 answer' };
    const s = scriptedSocket(true, answer);
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never });
    const selected: unknown[] = [];
    v.addEventListener('selected', (e) => selected.push(e.detail));
    v.start();
    const peer = peers.made.at(-1)!;
    peer.fire('signal', OFFER);
    await tick();
    expect(peer.signalled).toEqual([answer]);
    expect(selected).toEqual([
      { sessionId: 'session-1', server: { id: 'srv-1', region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 },
    ]);
    v.close();
  });

  it('applies an answer the hub relays right behind the reply, before the viewer read the reply; keeps a bounded few', async () => {
    const answer = { type: 'answer', sdp: 'v=0 answer' };
    const s = scriptedSocket(true);
    const raw = s.socket as unknown as { emit: (event: string, msg?: unknown, ack?: (r: unknown) => void) => void };
    const emit = raw.emit;
    // The reply and the relayed signals arrive in one read: socket.io hands all of them over before the viewer's code
    // awaiting the reply runs again. One more than the bound is relayed.
    const relayed = [answer, ...Array.from({ length: MAX_EARLY_HUB_MESSAGES }, () => CANDIDATE)];
    raw.emit = (event, msg, ack) => {
      emit.call(raw, event, msg, ack);
      if (event === 'watch')
        for (const data of relayed) for (const fn of s.listeners.get('signal') ?? []) fn({ sessionId: 'session-1', data });
    };
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never });
    v.start();
    const peer = peers.made.at(-1)!;
    peer.fire('signal', OFFER);
    await tick();
    expect(peer.signalled).toEqual(relayed.slice(0, MAX_EARLY_HUB_MESSAGES));
    v.close();
  });

  it('sends at once the offer a peer made ahead had before the viewer listened', async () => {
    const held = scriptedPeers({ offer: 'held' });
    const s = scriptedSocket(true);
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: held.Peer as never });
    v.start();
    await tick();
    expect(s.emitted.filter((e) => e.event === 'watch').map((e) => e.msg)).toEqual([
      { assetId: 'demo', offset: 0, offer: { type: 'offer', sdp: 'v=0' } },
    ]);
    v.close();
  });

  it('does not hold the watch past the connect: a later offer follows the reply as a signal', async () => {
    const s = scriptedSocket(false);
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never });
    v.start();
    const peer = peers.made.at(-1)!;
    s.connect();
    await tick();
    expect(s.emitted.filter((e) => e.event === 'watch').map((e) => e.msg)).toEqual([{ assetId: 'demo', offset: 0 }]);
    peer.fire('signal', OFFER);
    expect(s.emitted.filter((e) => e.event === 'signal')).toEqual([{ event: 'signal', msg: { sessionId: 'session-1', data: OFFER } }]);
    v.close();
  });
});

describe('Viewer: hub messages are parsed by their schemas', () => {
  /** A Viewer with its session s1 bound, the warnings it emitted, and a way to send it hub messages. */
  async function selected() {
    const s = scriptedSocket(true);
    const v = new Viewer({ socket: s.socket, assetId: 'demo', SimplePeer: peers.Peer as never });
    const warnings: { code: string; message: string }[] = [];
    v.addEventListener('warning', (e) => warnings.push(e.detail));
    v.start();
    const peer = peers.made.at(-1)!;
    peer.fire('signal', OFFER);
    await tick();
    const hub = (event: string, msg: unknown) => {
      for (const fn of s.listeners.get(event) ?? []) fn(msg);
    };
    return { s, v, peer, warnings, hub, watches: () => s.emitted.filter((e) => e.event === 'watch').length };
  }

  it('drops a malformed signal with a warning, giving the peer nothing; applies a good one', async () => {
    const { v, peer, warnings, hub } = await selected();
    hub('signal', { sessionId: 'session-1', data: CANDIDATE, extra: 'not in the contract' });
    hub('signal', { sessionId: 'session-1', data: 'not an object' });
    expect(peer.signalled).toEqual([]);
    expect(warnings.map((w) => w.code)).toEqual(['bad-hub-message', 'bad-hub-message']);
    expect(warnings[0]!.message).toMatch(/malformed signal/);
    hub('signal', { sessionId: 'session-1', data: CANDIDATE });
    expect(peer.signalled).toEqual([CANDIDATE]);
    v.close();
  });

  it('drops a malformed session-close naming its session, keeping the session; a good one fails it over', async () => {
    const { s, v, warnings, hub, watches } = await selected();
    hub('session-close', { sessionId: 'session-1', reason: 42 });
    hub('session-close', { sessionId: 'session-1', reason: 'x'.repeat(65) });
    await tick();
    expect(warnings.map((w) => w.code)).toEqual(['bad-hub-message', 'bad-hub-message']);
    expect(v.session?.sessionId).toBe('session-1');
    expect(s.emitted.filter((e) => e.event === 'leave')).toEqual([]);
    expect(watches()).toBe(1);
    hub('session-close', { sessionId: 'session-1', reason: 'server-gone' });
    expect(s.emitted.filter((e) => e.event === 'leave')).toEqual([{ event: 'leave', msg: { sessionId: 'session-1' } }]);
    expect(warnings.at(-1)).toEqual({ code: 'session-closed', message: 'the hub closed the session (server-gone)' });
    v.close();
  });
});
