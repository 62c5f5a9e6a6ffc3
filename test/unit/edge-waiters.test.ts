import { describe, expect, it } from 'vitest';
import { EdgeWaiters } from '../../node-app/ingest/edge-waiters.js';
import { SendGate } from '../../node-app/delivery/send-gate.js';

describe('EdgeWaiters', () => {
  it('wakes every waiter at once and forgets them; a waiter not woken goes at its timeout', async () => {
    const e = new EdgeWaiters();
    const woken = Promise.all([e.wait(600_000), e.wait(600_000)]);
    expect(e.size).toBe(2);
    e.wakeAll();
    await woken;
    expect(e.size).toBe(0);
    await e.wait(5);
    expect(e.size).toBe(0);
  });
});

describe('SendGate sleep with a wake-up promise', () => {
  it('ends when the promise settles (a live source grew), well before its time', async () => {
    const gate = new SendGate(() => 0);
    let grow!: () => void;
    const grew = new Promise<void>((r) => (grow = r));
    let ended = false;
    const sleeping = gate.sleep(600_000, grew).then(() => (ended = true));
    await Promise.resolve();
    expect(ended).toBe(false);
    grow();
    await sleeping;
    // A later wake-up of the gate finds nothing of that sleep left to cut.
    gate.wakeUp(false);
  });
});
