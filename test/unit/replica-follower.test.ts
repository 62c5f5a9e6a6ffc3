// The one replica follower (media server, dashboard, simulator): in-order deltas, gaps, resyncs.
import { describe, expect, it } from 'vitest';
import { ReplicaFollower } from '../../common/replica-follower.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { ServerEntry, TableSnapshot, VersionedDelta } from '../../signaling/protocol/types.js';

const server = (id: string): ServerEntry => ({
  id,
  region: 'eu-central',
  lat: 50.1,
  lon: 8.7,
  roles: ['edge'],
  maxSessions: 100,
  uplinkMbps: 1000,
  joinedAtMs: 0,
  load: { sessions: 0, egressMbps: 0, cpu: 0 },
  cache: [],
  storage: [],
  live: [],
});
const joined = (v: number, id: string): VersionedDelta => ({ v, d: { type: 'server-joined', server: server(id) } });
const cacheAdd = (v: number, id: string, asset: string): VersionedDelta => ({ v, d: { type: 'cache-add', id, assets: [asset] } });

/** The hub's side: the table the follower should converge on. */
function hubTable(deltas: VersionedDelta[]): StateTable {
  const t = new StateTable();
  for (const vd of deltas) t.offer(vd);
  return t;
}

describe('ReplicaFollower', () => {
  it('applies deltas in order, skips ones already applied, and reports each applied one', () => {
    const applied: number[] = [];
    let changes = 0;
    const f = new ReplicaFollower({
      requestSnapshot: () => Promise.reject(new Error('unused')),
      onApplied: (vd) => applied.push(vd.v),
      onChange: () => changes++,
    });
    f.offer([joined(1, 's1'), cacheAdd(2, 's1', 'a')]);
    f.offer([cacheAdd(2, 's1', 'a'), cacheAdd(3, 's1', 'b')]);
    f.offer('not a batch');
    expect(applied).toEqual([1, 2, 3]);
    expect(changes).toBe(2);
    expect([f.table.version, [...f.table.get('s1')!.cache].sort()]).toEqual([3, ['a', 'b']]);
  });

  it('a gap asks for one snapshot, ignores deltas until it arrives, then follows on from it', async () => {
    const log = [joined(1, 's1'), cacheAdd(2, 's1', 'a'), cacheAdd(3, 's1', 'b'), cacheAdd(4, 's1', 'c')];
    let asks = 0;
    let answer!: (s: TableSnapshot) => void;
    const f = new ReplicaFollower({
      requestSnapshot: () => {
        asks++;
        return new Promise((r) => (answer = r));
      },
    });
    f.offer([log[0]]);
    f.offer([log[2]]); // v2 was lost: a gap
    f.offer([log[3]]); // still resyncing: ignored, no second ask
    expect([asks, f.resyncing, f.table.version]).toEqual([1, true, 1]);
    answer(hubTable(log.slice(0, 3)).snapshot());
    await Promise.resolve();
    await Promise.resolve();
    expect([f.resyncing, f.table.version]).toEqual([false, 3]);
    f.offer([log[3]]);
    expect([...f.table.get('s1')!.cache].sort()).toEqual(['a', 'b', 'c']);
  });

  it('a failed resync is reported, and the next gap asks again', async () => {
    const events: string[] = [];
    let asks = 0;
    const f = new ReplicaFollower({
      requestSnapshot: async () => {
        asks++;
        throw new Error('refused');
      },
      onResync: (e) => events.push(e.phase),
    });
    f.offer([joined(1, 's1'), cacheAdd(3, 's1', 'a')]);
    await new Promise((r) => setTimeout(r, 0));
    f.offer([cacheAdd(3, 's1', 'a')]);
    await new Promise((r) => setTimeout(r, 0));
    expect([asks, events]).toEqual([2, ['started', 'failed', 'started', 'failed']]);
    expect(f.table.version).toBe(1);
  });

  it('a snapshot loaded while a resync is unanswered (its ack lost with the connection) ends it: deltas apply again', () => {
    const log = [joined(1, 's1'), cacheAdd(2, 's1', 'a'), cacheAdd(3, 's1', 'b')];
    const f = new ReplicaFollower({ requestSnapshot: () => new Promise<TableSnapshot>(() => undefined) });
    f.offer([log[0], log[2]]);
    expect(f.resyncing).toBe(true);
    // Re-registration after a reconnect.
    f.load(hubTable(log.slice(0, 2)).snapshot());
    expect(f.resyncing).toBe(false);
    f.offer([log[2]]);
    expect(f.table.version).toBe(3);
  });
});
