// The simulated network: latency, loss and reordering on top of the fake clock.
import type { FakeClock } from './fake-clock.js';

export const MIN_LATENCY_MS = 1;
export const MAX_LATENCY_MS = 5;
/** A reordered message arrives this much later, behind messages sent after it. */
export const REORDER_DELAY_MS = 30;

/** One direction of one connection: messages on it arrive in the order they were sent, as over TCP. */
export interface Channel {
  lastArrivalMs: number;
}

export const newChannel = (): Channel => ({ lastArrivalMs: 0 });

/**
 * The network. Every message takes 1–5 ms; on one `Channel` none overtakes
 * another (one socket.io connection). State traffic from the hub (delta
 * batches) may be dropped or held back behind later batches — the faults the
 * replicas must survive; requests and replies are reliable, like acks.
 */
export class Network {
  /** Chance that a lossy message is lost. */
  dropRate = 0;
  /** Chance that a lossy message is held back by REORDER_DELAY_MS. */
  reorderRate = 0;
  readonly stats = { sent: 0, dropped: 0, reordered: 0 };
  /** Table traffic still on the wire: delta batches, snapshot requests and replies. */
  stateInFlight = 0;

  constructor(
    private readonly clock: FakeClock,
    private readonly rand: () => number,
  ) {}

  send(run: () => void, kind: 'lossy-state' | 'state' | 'control', channel?: Channel): void {
    this.stats.sent++;
    if (kind === 'lossy-state' && this.rand() < this.dropRate) {
      this.stats.dropped++;
      return;
    }
    let latency = MIN_LATENCY_MS + this.rand() * (MAX_LATENCY_MS - MIN_LATENCY_MS);
    if (kind === 'lossy-state' && this.rand() < this.reorderRate) {
      latency += REORDER_DELAY_MS;
      this.stats.reordered++;
    } else if (channel) {
      // Same arrival time as the one before is fine: the clock runs equal times in sending order.
      latency = Math.max(latency, channel.lastArrivalMs - this.clock.now);
      channel.lastArrivalMs = this.clock.now + latency;
    }
    if (kind === 'control') return this.clock.after(latency, run);
    this.stateInFlight++;
    this.clock.after(latency, () => {
      this.stateInFlight--;
      run();
    });
  }
}

/** What travels over the wire cannot be changed by whoever receives it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
