// Stand-in peers for Viewer unit tests: the test fires their events (`signal`, `connect`, frames in, `close`).
import type { ViewerPeer } from '../../client-sdk/viewer.js';

export interface ScriptedPeer extends ViewerPeer {
  /** What the viewer gave `signal()`, in order. */
  readonly signalled: unknown[];
  /** What the viewer sent on it (control frames), in order. */
  readonly sent: unknown[];
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
    readonly sent: unknown[] = [];
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
    send(data: unknown) {
      this.sent.push(data);
    }
    destroy() {}
    fire(event: string, x?: unknown) {
      this.#on.get(event)?.(x);
    }
  }
  return { Peer, made };
}

export interface ScriptedAheadPeer extends ScriptedPeer {
  offered(): Promise<{ type: 'offer'; sdp: string } | null>;
  /** Makes the offer: `offered()` resolves with it, and it is the peer's first signal. */
  makeOffer(): void;
  readonly destroyed: boolean;
  /** Set by the test: the page sent the first `play` itself (AheadPeer.played). */
  played: boolean;
}

/**
 * A peer made ahead of its Viewer, as the page's NativePeer: what it fires before anyone listens to an event is held
 * and handed to the first listener of it; `offered()` resolves once `makeOffer()` (or null once destroyed).
 */
export function scriptedAheadPeer(): ScriptedAheadPeer {
  const listeners = new Map<string, Array<(x?: any) => void>>();
  const held = new Map<string, unknown[]>();
  let offerMade!: (o: { type: 'offer'; sdp: string } | null) => void;
  const offer = new Promise<{ type: 'offer'; sdp: string } | null>((r) => (offerMade = r));
  const peer = {
    signalled: [] as unknown[],
    sent: [] as unknown[],
    played: false,
    destroyed: false,
    offered: () => offer,
    makeOffer() {
      offerMade({ type: 'offer', sdp: 'v=0' });
      peer.fire('signal', { type: 'offer', sdp: 'v=0' });
    },
    on(event: string, fn: (x?: any) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      const h = held.get(event) ?? [];
      held.delete(event);
      for (const x of h) fn(x);
      return peer;
    },
    signal(data: unknown) {
      peer.signalled.push(data);
    },
    send(data: string) {
      peer.sent.push(JSON.parse(data));
    },
    destroy() {
      if (peer.destroyed) return;
      peer.destroyed = true;
      offerMade(null);
      peer.fire('close');
    },
    fire(event: string, x?: unknown) {
      const ls = listeners.get(event);
      if (ls) for (const fn of ls) fn(x);
      else held.set(event, [...(held.get(event) ?? []), x]);
    },
  };
  return peer;
}
