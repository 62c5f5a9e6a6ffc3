// Stand-in peers for Viewer unit tests: the test fires their events (`signal`, `connect`, frames in, `close`).
import type { ViewerPeer } from '../../client-sdk/viewer.js';

export interface ScriptedPeer extends ViewerPeer {
  /** What the viewer gave `signal()`, in order. */
  readonly signalled: unknown[];
  fire(event: string, x?: unknown): void;
}

/**
 * A peer class to hand a Viewer as `SimplePeer`, and the peers it made. With `offer: true`, each peer makes its
 * offer at once (a microtask after it is made), as an initiator does; with `'held'`, it had made it before
 * anyone listened and hands it to its first `signal` listener (a peer made ahead); without, the test signals.
 */
export function scriptedPeers(o: { offer: boolean | 'held' }): { Peer: new () => ScriptedPeer; made: ScriptedPeer[] } {
  const made: ScriptedPeer[] = [];
  class Peer implements ScriptedPeer {
    readonly #on = new Map<string, (x?: any) => void>();
    readonly signalled: unknown[] = [];
    constructor() {
      made.push(this);
      if (o.offer === true) queueMicrotask(() => this.fire('signal', { type: 'offer', sdp: 'v=0' }));
    }
    on(event: string, fn: (x?: any) => void) {
      this.#on.set(event, fn);
      if (event === 'signal' && o.offer === 'held') fn({ type: 'offer', sdp: 'v=0' });
      return this;
    }
    signal(data: unknown) {
      this.signalled.push(data);
    }
    send() {}
    destroy() {}
    fire(event: string, x?: unknown) {
      this.#on.get(event)?.(x);
    }
  }
  return { Peer, made };
}
