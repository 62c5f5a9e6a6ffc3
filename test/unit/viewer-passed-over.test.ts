// A failover that finds no server but the ones that failed this viewer asks again for them after a pause, instead
// of giving up: a server that only timed out a connect (loaded) is usually fine a second later.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WatchRequest } from '../../signaling/protocol/messages.js';
import { RETRY_PASSED_OVER_MS, Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

/** One holder, `srv-1`: a watch that passes over it is refused as the director refuses it. */
function oneHolderHub() {
  const requests: WatchRequest[] = [];
  let n = 0;
  const socket: ViewerSocket = {
    emit(event: string, req?: any, ack?: (r: unknown) => void) {
      if (event !== 'watch') return;
      requests.push(req);
      if (req.exclude?.includes('srv-1'))
        return ack!({ ok: false, code: 'no-capacity', message: 'every server holding a is excluded or over the load threshold' });
      n++;
      ack!({ ok: true, sessionId: `session-${n}`, server: { id: 'srv-1', region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 });
    },
    on: () => undefined,
    off: () => undefined,
  } as ViewerSocket;
  return { socket, requests };
}

describe('Viewer: a failover with nowhere else to go', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('asks again for the server it passed over, after a pause, and goes on there', async () => {
    const peers = scriptedPeers({ offer: true });
    const hub = oneHolderHub();
    const v = new Viewer({ socket: hub.socket, assetId: 'a', SimplePeer: peers.Peer as never });
    const errors: unknown[] = [];
    const selected: unknown[] = [];
    v.addEventListener('error', (e) => errors.push((e as CustomEvent).detail));
    v.addEventListener('selected', (e) => selected.push((e as CustomEvent).detail));
    v.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(selected).toHaveLength(1);
    // The server closes the peer (its connect timed out): the failover passes over srv-1 and is refused.
    peers.made.at(-1)!.fire('close');
    await vi.advanceTimersByTimeAsync(0);
    expect(hub.requests.at(-1)!.exclude).toEqual(['srv-1']);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(RETRY_PASSED_OVER_MS);
    // Asked again, passing over nobody: back on srv-1 in a new session.
    expect(hub.requests.at(-1)!.exclude).toBeUndefined();
    expect(selected).toHaveLength(2);
    expect(errors).toEqual([]);
    v.close();
  });

  it('gives up when the second ask is refused too', async () => {
    const peers = scriptedPeers({ offer: true });
    const requests: WatchRequest[] = [];
    let first = true;
    const socket = {
      emit(event: string, req?: any, ack?: (r: unknown) => void) {
        if (event !== 'watch') return;
        requests.push(req);
        if (first) {
          first = false;
          return ack!({ ok: true, sessionId: 's1', server: { id: 'srv-1', region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 });
        }
        ack!({ ok: false, code: 'no-capacity', message: 'over the load threshold' });
      },
      on: () => undefined,
      off: () => undefined,
    } as ViewerSocket;
    const v = new Viewer({ socket, assetId: 'a', SimplePeer: peers.Peer as never });
    const errors: { code: string }[] = [];
    v.addEventListener('error', (e) => errors.push((e as CustomEvent).detail));
    v.start();
    await vi.advanceTimersByTimeAsync(0);
    peers.made.at(-1)!.fire('close');
    await vi.advanceTimersByTimeAsync(RETRY_PASSED_OVER_MS + 10);
    expect(requests.map((r) => r.exclude)).toEqual([undefined, ['srv-1'], undefined]);
    expect(errors.map((e) => e.code)).toEqual(['no-capacity']);
  });
});
