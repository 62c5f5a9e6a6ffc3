import { describe, expect, it } from 'vitest';
import { SendGate } from '../../node-app/delivery/send-gate.js';
import type { Peer } from '../../node-app/webrtc/peer.js';

/** A peer whose write completes only when the test says so, with a send buffer it sets. */
function heldPeer(): { peer: Peer; complete: (err?: Error) => void; setBuffered: (n: number) => void } {
  let cb: ((err?: Error | null) => void) | null = null;
  let buffered = 0;
  const peer = {
    write: (_frame: Uint8Array, done: (err?: Error | null) => void) => {
      cb = done;
    },
    get bufferSize() {
      return buffered;
    },
  } as unknown as Peer;
  return { peer, complete: (err) => cb?.(err), setBuffered: (n) => (buffered = n) };
}

describe('SendGate', () => {
  it('a wake-up cuts a sleep short', async () => {
    const gate = new SendGate(() => performance.now());
    const t0 = performance.now();
    const slept = gate.sleep(60_000);
    gate.wakeUp(false);
    await slept;
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('a pending write is the backpressure: only closing cuts it short', async () => {
    let now = 0;
    const gate = new SendGate(() => now);
    const { peer, complete, setBuffered } = heldPeer();
    setBuffered(5_000);
    let settled = false;
    let doneCalls = 0;
    const w = gate.write(peer, new Uint8Array(10), () => doneCalls++).then(() => (settled = true));
    expect(gate.writePendingSince).toBe(0);
    expect(gate.maxQueued).toBe(5_000);
    gate.wakeUp(false);
    await Promise.resolve();
    expect(settled).toBe(false);
    now = 40;
    complete();
    await w;
    expect(doneCalls).toBe(1);
    expect(gate.blockedMs).toBe(40);
    expect(gate.writePendingSince).toBeNull();

    const second = heldPeer();
    const w2 = gate.write(second.peer, new Uint8Array(10), () => undefined);
    gate.wakeUp(true);
    await w2;
    // Cut short by close: the write never completed, so no blocked time is counted for it.
    expect(gate.blockedMs).toBe(40);
  });

  it('a failed write rejects after its done callback', async () => {
    const gate = new SendGate(() => 0);
    const { peer, complete } = heldPeer();
    let done = false;
    const w = gate.write(peer, new Uint8Array(1), () => (done = true));
    complete(new Error('channel closed'));
    await expect(w).rejects.toThrow('channel closed');
    expect(done).toBe(true);
  });
});
