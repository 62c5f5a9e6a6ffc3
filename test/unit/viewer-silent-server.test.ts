// A server that goes silent on an open channel (its process died while the viewer's hub was away, so no hub says so) is
// left after SILENT_SERVER_REQUESTS unanswered `stats` requests, not after the channel's own timeouts; one that answers
// keeps its viewer however long it sends no media (paused, a live stream waiting for its broadcaster).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WatchRequest } from '../../signaling/protocol/messages.js';
import { encodeControl } from '../../signaling/protocol/frames.js';
import { SILENT_SERVER_REQUESTS, STATS_INTERVAL_MS, Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

function hub() {
  const requests: WatchRequest[] = [];
  const socket = {
    emit(event: string, req?: any, ack?: (r: unknown) => void) {
      if (event !== 'watch') return;
      requests.push(req);
      const server = req.exclude?.includes('srv-1') ? 'srv-2' : 'srv-1';
      ack!({
        ok: true,
        sessionId: `s${requests.length}`,
        server: { id: server, region: 'test' },
        reason: 'storage',
        loadFactor: 0,
        epoch: 1,
      });
    },
    on: () => undefined,
    off: () => undefined,
  } as ViewerSocket;
  return { socket, requests };
}

const statsReply = encodeControl({ t: 'stats', bytesSent: 0, egressBps: 0, queuedBytes: 0, offset: 0 });

describe('Viewer: a server that goes silent', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] }));
  afterEach(() => vi.useRealTimers());

  it(`is left after ${SILENT_SERVER_REQUESTS} unanswered stats requests, for another server`, async () => {
    const peers = scriptedPeers({ offer: true });
    const h = hub();
    const v = new Viewer({ socket: h.socket, assetId: 'a', SimplePeer: peers.Peer as never });
    const warnings: { code: string }[] = [];
    v.addEventListener('warning', (e) => warnings.push((e as CustomEvent).detail));
    v.start();
    await vi.advanceTimersByTimeAsync(0);
    peers.made.at(-1)!.fire('connect');
    // It answers for a while, then says nothing more.
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(STATS_INTERVAL_MS);
      peers.made.at(-1)!.fire('data', statsReply);
    }
    await vi.advanceTimersByTimeAsync(STATS_INTERVAL_MS * SILENT_SERVER_REQUESTS);
    expect(h.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(STATS_INTERVAL_MS);
    expect(warnings.map((w) => w.code)).toEqual(['server-silent']);
    expect(h.requests).toHaveLength(2);
    expect(h.requests[1]!.exclude).toEqual(['srv-1']);
    expect(v.session?.server.id).toBe('srv-2');
    v.close();
  });

  it('keeps a server that answers, however long it sends no media; nothing is counted before the channel opens', async () => {
    const peers = scriptedPeers({ offer: true });
    const h = hub();
    const v = new Viewer({ socket: h.socket, assetId: 'a', SimplePeer: peers.Peer as never });
    v.start();
    await vi.advanceTimersByTimeAsync(0);
    // Connecting takes a while (no channel yet: no request goes, none is missed).
    await vi.advanceTimersByTimeAsync(STATS_INTERVAL_MS * (SILENT_SERVER_REQUESTS - 1));
    peers.made.at(-1)!.fire('connect');
    for (let i = 0; i < SILENT_SERVER_REQUESTS * 5; i++) {
      await vi.advanceTimersByTimeAsync(STATS_INTERVAL_MS);
      if (i % 2 === 0) peers.made.at(-1)!.fire('data', statsReply);
    }
    expect(h.requests).toHaveLength(1);
    v.close();
  });
});
