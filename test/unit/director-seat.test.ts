// A hub without the rotation lease asks the holder to replace a silent director once per director and wait, not once per timed-out watch.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DirectorSeat, ROTATION_REQUEST_WAIT_MS } from '../../signaling/core/director-seat.js';
import type { DeltaFeed } from '../../signaling/core/delta-feed.js';
import type { HubClock } from '../../signaling/core/link.js';
import type { HubMetrics } from '../../signaling/hub-metrics.js';
import { RotationReason } from '../../signaling/policies/rotation.js';
import type { DirectorInfo } from '../../signaling/protocol/index.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A seat on a hub that does not hold the lease, its table's director `director`, on a clock the test moves. */
function seatWithoutLease(director: { current: DirectorInfo }) {
  let nowMs = 0;
  const clock: HubClock = { now: () => nowMs, every: () => () => undefined, soon: (run) => run() };
  const requests: { epoch: number; reason: RotationReason }[] = [];
  const feed = {
    shared: true,
    table: {
      get director() {
        return director.current;
      },
      size: 3,
    },
  } as unknown as DeltaFeed;
  const seat = new DirectorSeat({
    feed,
    clock,
    metrics: {} as HubMetrics,
    log: pino({ level: 'silent' }),
    record: () => undefined,
    lease: { held: () => false },
    requestRotation: (epoch, reason) => void requests.push({ epoch, reason }),
  });
  return { seat, requests, advance: (ms: number) => void (nowMs += ms) };
}

describe('DirectorSeat without the rotation lease', () => {
  it('asks the holder once per director and wait, however many watches time out on it', () => {
    vi.useFakeTimers();
    const director = { current: { id: 's1', epoch: 7, sinceMs: 0 } };
    const { seat, requests, advance } = seatWithoutLease(director);

    for (let i = 0; i < 50; i++) void seat.designate(RotationReason.directorTimeout);
    expect(requests).toEqual([{ epoch: 7, reason: RotationReason.directorTimeout }]);

    // Still epoch 7 a wait later (the request or its answer was lost): asked again, once.
    advance(ROTATION_REQUEST_WAIT_MS - 1);
    void seat.designate(RotationReason.directorTimeout);
    expect(requests).toHaveLength(1);
    advance(1);
    for (let i = 0; i < 5; i++) void seat.designate(RotationReason.directorTimeout);
    expect(requests).toHaveLength(2);

    // A new director that goes silent too is asked about at once.
    director.current = { id: 's2', epoch: 8, sinceMs: 0 };
    seat.seen(director.current);
    void seat.designate(RotationReason.directorTimeout);
    expect(requests.map((r) => r.epoch)).toEqual([7, 7, 8]);
  });

  it('a caller waits for the newer director to come back through the log', async () => {
    vi.useFakeTimers();
    const director = { current: { id: 's1', epoch: 7, sinceMs: 0 } };
    const { seat } = seatWithoutLease(director);
    let done = 0;
    const waits = [1, 2, 3].map(() => seat.designate(RotationReason.directorTimeout).then(() => done++));
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(0);
    director.current = { id: 's2', epoch: 8, sinceMs: 0 };
    seat.seen(director.current);
    await Promise.all(waits);
    expect(done).toBe(3);
  });
});
