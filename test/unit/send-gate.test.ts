import { describe, expect, it } from 'vitest';
import { CHANNEL_LOW_BYTES, SendGate } from '../../node-app/delivery/send-gate.js';
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

  it('holds a frame while the channel is over CHANNEL_LOW_BYTES, even when the last write was called back (a stale low event)', async () => {
    const gate = new SendGate(() => 0);
    const written: number[] = [];
    let buffered = 0;
    // Every write is called back at once, as simple-peer does on a stale bufferedamountlow; the buffer keeps what was sent.
    const peer = {
      write: (frame: Uint8Array, done: (err?: Error | null) => void) => {
        written.push(frame.byteLength);
        buffered += frame.byteLength;
        done();
      },
      get bufferSize() {
        return buffered;
      },
    } as unknown as Peer;
    const frame = new Uint8Array(CHANNEL_LOW_BYTES);
    await gate.write(peer, frame, () => undefined);
    await gate.write(peer, frame, () => undefined);
    let third = false;
    const w = gate.write(peer, frame, () => undefined).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(written).toHaveLength(2);
    expect(third).toBe(false);
    buffered = CHANNEL_LOW_BYTES; // the channel drained to simple-peer's threshold
    await w;
    expect(written).toHaveLength(3);
    expect(gate.maxQueued).toBeLessThanOrEqual(CHANNEL_LOW_BYTES + frame.byteLength);
    // Closing wakes a held frame without sending it.
    const held = gate.write(peer, frame, () => undefined);
    gate.wakeUp(true);
    await held;
    await new Promise((r) => setTimeout(r, 30));
    expect(written).toHaveLength(3);
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
