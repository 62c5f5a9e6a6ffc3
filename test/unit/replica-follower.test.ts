// The one replica follower (media server, dashboard, simulator): in-order deltas, gaps, resyncs.
import { describe, expect, it } from 'vitest';
import { ReplicaFollower } from '../../common/replica-follower.js';
import { parse } from '../../signaling/protocol/messages.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import { deltaBatchSchema, TABLE_BOUNDS, tableSnapshotSchema } from '../../signaling/protocol/table-messages.js';
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

describe('ReplicaFollower fed from a socket (untrusted): every batch and snapshot parsed by the protocol schemas', () => {
  /** A follower at v2 (s1 caching a) whose resyncs the test answers, and what it rejected. */
  function follower() {
    const rejected: string[] = [];
    const asks: Array<(s: unknown) => void> = [];
    const f = new ReplicaFollower({
      requestSnapshot: () => new Promise((r) => asks.push(r)),
      untrusted: { rejected: (what, why) => rejected.push(`${what}: ${why}`) },
    });
    f.offer([joined(1, 's1'), cacheAdd(2, 's1', 'a')]);
    return { f, rejected, asks };
  }
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('applies well-formed batches and snapshots as the trusting follower does', () => {
    const { f, rejected, asks } = follower();
    f.offer([cacheAdd(3, 's1', 'b')]);
    expect(f.load(hubTable([joined(1, 's1'), joined(2, 's2')]).snapshot())?.version).toBe(2);
    expect([rejected, asks.length, f.table.version, [...f.table.servers()].map((r) => r.id)]).toEqual([[], 0, 2, ['s1', 's2']]);
  });

  it('drops a malformed batch whole (its good deltas too), leaves the replica as it was, and asks for a snapshot', async () => {
    const { f, rejected, asks } = follower();
    const bad = [cacheAdd(3, 's1', 'b'), { v: 4, d: { type: 'cache-add', id: 's1', assets: ['../etc/passwd'] } }];
    f.offer(bad);
    expect(rejected).toEqual([expect.stringMatching(/^deltas: 1\.d\.assets\.0: asset id must match/)]);
    expect([f.table.version, [...f.table.get('s1')!.cache], f.resyncing, asks.length]).toEqual([2, ['a'], true, 1]);
    asks[0]!(hubTable([joined(1, 's1'), cacheAdd(2, 's1', 'a'), cacheAdd(3, 's1', 'b')]).snapshot());
    await settle();
    expect([f.resyncing, f.table.version, [...f.table.get('s1')!.cache].sort()]).toEqual([false, 3, ['a', 'b']]);
  });

  it('refuses a batch nested past the table bounds before any schema walks it', () => {
    const { f, rejected } = follower();
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    f.offer([{ v: 3, d: { type: 'cache-add', id: 's1', assets: deep } }]);
    expect(rejected).toEqual(['deltas: message nested deeper than 8 levels']);
    expect(f.table.version).toBe(2);
  });

  it('does not load a malformed snapshot (a hub push or a resync answer); the replica stays, the resync fails', async () => {
    const { f, rejected, asks } = follower();
    const snap = hubTable([joined(1, 's2')]).snapshot();
    expect(f.load({ ...snap, servers: [{ ...snap.servers[0], lat: 91 }] })).toBeNull();
    expect([f.table.version, f.table.get('s1') !== undefined, f.table.get('s2'), asks.length]).toEqual([2, true, undefined, 1]);
    asks[0]!({ version: 'seven', director: null, servers: [] });
    await settle();
    expect(rejected).toEqual([expect.stringMatching(/^snapshot: servers\.0\.lat/), expect.stringMatching(/^snapshot: version/)]);
    expect([f.resyncing, f.table.version]).toEqual([false, 2]);
  });
});

describe('table message schemas', () => {
  it('take every field a hub table row and every kind of delta carries', () => {
    const owner = 'a'.repeat(64);
    const full: ServerEntry = {
      ...server('s1'),
      roles: ['edge', 'ingest'],
      maxIngestSessions: 4,
      httpUrl: 'http://127.0.0.1:31001',
      lastEpoch: 3,
      load: {
        sessions: 2,
        ingestSessions: 1,
        egressMbps: 3.5,
        cpu: 0.2,
        storageReadBytes: 10,
        viewers: [{ id: 'a', n: 2 }],
        renditions: { id: 'a__240p', progress: 0.5, queued: 1 },
      },
      cache: ['a'],
      storage: [
        {
          id: 'a',
          bytes: 1,
          mime: 'video/webm',
          durationMs: 5,
          bitrateBps: 8,
          title: 'A',
          description: 'line\nline',
          poster: 'p1',
          heightPx: 480,
        },
      ],
      live: [
        {
          id: 'l',
          bytes: 0,
          live: true,
          mime: 'video/webm',
          peer: 's2',
          startedAtMs: 1,
          owner,
          title: 'L',
          description: 'd',
          poster: 'p2',
        },
      ],
    };
    const deltas: VersionedDelta[] = [
      { v: 1, d: { type: 'server-joined', server: full } },
      { v: 2, d: { type: 'load', id: 's1', load: full.load } },
      { v: 3, d: { type: 'storage-add', id: 's1', assets: full.storage } },
      { v: 4, d: { type: 'storage-remove', id: 's1', assets: ['a'] } },
      { v: 5, d: { type: 'cache-remove', id: 's1', assets: ['a'] } },
      { v: 6, d: { type: 'live', id: 's1', stream: full.live[0]! } },
      { v: 7, d: { type: 'live-remove', id: 's1', assetId: 'l' } },
      { v: 8, d: { type: 'director', director: { id: 's1', epoch: 1, sinceMs: 5 } } },
      { v: 9, d: { type: 'server-left', id: 's1', reason: 'heartbeat-timeout' } },
    ];
    expect(parse(deltaBatchSchema, deltas, TABLE_BOUNDS)).toEqual({ ok: true, value: deltas });
    const snap = hubTable(deltas.slice(0, 8)).snapshot();
    expect(parse(tableSnapshotSchema, snap, TABLE_BOUNDS)).toEqual({ ok: true, value: snap });
  });
});
