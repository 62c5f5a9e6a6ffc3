// The delta feed with a shared log (several hubs): changes are applied only when read back, in
// order; while the log is unreachable they wait in a bounded queue, a newer load replacing a waiting one.
import { describe, expect, it } from 'vitest';
import { DeltaFeed, MAX_OUTBOX_DELTAS } from '../../signaling/core/delta-feed.js';
import type { HubClock, HubLink, SharedLog } from '../../signaling/core/link.js';
import { StateTable, type Delta, type VersionedDelta } from '../../signaling/protocol/index.js';
import { CatalogView } from '../../signaling/catalog-view.js';
import { createHubMetrics } from '../../signaling/hub-metrics.js';
import { serverEntry } from '../helpers/server-entry.js';

const clock: HubClock = {
  now: () => Date.now(),
  every: (ms, run) => {
    const t = setInterval(run, ms);
    return () => clearInterval(t);
  },
  soon: (run) => void setImmediate(run),
};

function server(id: string): Delta {
  return { type: 'server-joined', server: serverEntry(id, { region: 'eu', httpUrl: 'http://127.0.0.1:1' }) };
}
const load = (id: string, sessions: number): Delta => ({ type: 'load', id, load: { sessions, egressMbps: 0, cpu: 0 } }) as Delta;

/** A log in memory that hands out versions like Redis's INCR, or refuses while `down`. */
class MemoryLog implements SharedLog {
  entries: VersionedDelta[] = [];
  down = false;
  async append(deltas: Delta[]): Promise<number[]> {
    if (this.down) throw new Error('unreachable');
    return deltas.map((d) => {
      const vd = { v: this.entries.length + 1, d };
      this.entries.push(vd);
      return vd.v;
    });
  }
}

function feedWith(log: MemoryLog, onLost = () => {}) {
  const table = new StateTable();
  const published: VersionedDelta[][] = [];
  const link: HubLink = { publishDeltas: (b) => published.push(b), publishDecision: () => {}, toClient: () => {} };
  const metrics = createHubMetrics({ sessionCounts: () => ({ watch: 0, publish: 0 }) } as never);
  const feed = new DeltaFeed({ table, link, clock, metrics, catalog: new CatalogView(table), shared: log, onLost });
  return { feed, table, published };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DeltaFeed with a shared log', () => {
  it('applies its own change only when read back, in the log order, and publishes what it applied', async () => {
    const log = new MemoryLog();
    const { feed, table, published } = feedWith(log);
    feed.commit(server('a'));
    await tick();
    await tick();
    expect(table.size).toBe(0); // appended, not yet read back
    expect(log.entries.map((e) => e.v)).toEqual([1]);
    const applied = feed.whenApplied();
    // Another hub's change got version 2 meanwhile; both arrive in one read.
    log.entries.push({ v: 2, d: server('b') });
    expect(feed.apply(log.entries)).toBe('applied');
    await applied;
    expect(table.version).toBe(2);
    expect(table.ids().sort()).toEqual(['a', 'b']);
    expect(published.flat().map((e) => e.v)).toEqual([1, 2]);
    // A hole is a gap: nothing after it is applied.
    expect(feed.apply([{ v: 4, d: server('c') }])).toBe('gap');
    expect(table.get('c')).toBeUndefined();
  });

  it('while the log is down: waits in the queue (a newer load replaces a waiting one), appends in order once it is back', async () => {
    const log = new MemoryLog();
    log.down = true;
    const { feed, table } = feedWith(log);
    const failed = feed.whenApplied(); // resolves on a failed append too: no caller hangs on an outage
    feed.commit(server('a'));
    for (let i = 0; i < 100; i++) feed.commit(load('a', i));
    await failed;
    expect(feed.outboxSize).toBe(2); // the join and the newest load
    log.down = false;
    await new Promise((r) => setTimeout(r, 700)); // the retry period
    expect(log.entries.map((e) => e.d.type)).toEqual(['server-joined', 'load']);
    feed.apply(log.entries);
    expect(table.get('a')?.load.sessions).toBe(99);
  });

  it(`bounds the queue at MAX_OUTBOX_DELTAS (${MAX_OUTBOX_DELTAS}) and says the table may have diverged`, async () => {
    const log = new MemoryLog();
    log.down = true;
    let lost = 0;
    const { feed } = feedWith(log, () => lost++);
    for (let i = 0; i < MAX_OUTBOX_DELTAS + 10; i++) feed.commit({ type: 'cache-add', id: 'a', assets: [`x${i}`] } as Delta);
    await tick();
    await tick();
    expect(feed.outboxSize).toBeLessThanOrEqual(MAX_OUTBOX_DELTAS);
    expect(lost).toBeGreaterThan(0);
  });
});
