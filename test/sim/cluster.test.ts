// Cluster simulation: 1,000 fake servers and the real hub core (signaling/core/) on an in-memory link, a lossy network, a fake clock.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AssetInfo } from '../../signaling/protocol/types.js';
import { FakeServer, normalised, tableDiff } from './cluster-model.js';
import { HEARTBEAT_MS, LIVENESS_CHECK_MS, MISSED_HEARTBEATS, ROTATION_MS, SimHub } from './memory-link.js';
import { FakeClock, seeded } from './fake-clock.js';
import { MAX_LATENCY_MS, Network } from './sim-network.js';

const SERVERS = 1_000;
const DROP_RATE = 0.0001;
const REORDER_RATE = 0.0001;
const ASSET_POOL = 400;
/** Share of the initial servers that register with assets already on disk or in cache. */
const INITIAL_CONTENT_SHARE = 0.1;

function successor(id: string, sortedIds: readonly string[]): string {
  return sortedIds.find((x) => x > id) ?? sortedIds[0]!;
}

const serverId = (i: number) => `srv-${String(i).padStart(4, '0')}`;
const assetId = (i: number) => `asset-${String(i).padStart(3, '0')}`;
const assetInfo = (i: number): AssetInfo => ({ id: assetId(i), bytes: 1_000_000 + i, mime: 'video/webm' });

// ---- the scenario -----------------------------------------------------------------------

/**
 * One cluster lives through the phases below, in order: building 1,000 full
 * replicas is the expensive part, so the phases share it.
 */
describe('cluster of 1,000 servers (simulated)', () => {
  const rand = seeded(20240611);
  const clock = new FakeClock();
  const net = new Network(clock, rand);
  net.dropRate = DROP_RATE;
  net.reorderRate = REORDER_RATE;
  const hub = new SimHub(clock, net);
  const servers = new Map<string, FakeServer>();
  let nextNewId = SERVERS;

  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const aliveServers = () => [...servers.values()].filter((s) => s.alive);

  /**
   * A new server; `withContentShare` of them start with assets on disk and in
   * cache, the rest start empty and fill up through reports. (Every row costs
   * every replica, so the initial cluster is kept lean: 1,000 replicas of
   * 1,000 rows are a million rows to build.)
   */
  function spawn(id: string, withContentShare: number): FakeServer {
    const s = new FakeServer(id, `r${Math.floor(rand() * 6)}`, hub, clock);
    if (rand() < withContentShare) {
      for (let k = 0; k < 2; k++) {
        const info = assetInfo(Math.floor(rand() * ASSET_POOL));
        s.storage.set(info.id, info);
      }
      if (rand() < 0.5) s.cache.add(assetId(Math.floor(rand() * ASSET_POOL)));
    }
    servers.set(id, s);
    s.start(rand() * HEARTBEAT_MS);
    return s;
  }

  beforeAll(() => {
    // Register in a shuffled order, but with the 5th-largest id first: it becomes the
    // first director, so a handful of rotations wraps around the end of the id order.
    const order = Array.from({ length: SERVERS }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.splice(order.indexOf(SERVERS - 5), 1);
    order.unshift(SERVERS - 5);
    spawn(serverId(order[0]!), INITIAL_CONTENT_SHARE);
    clock.advance(20);
    for (const [k, i] of order.slice(1).entries()) clock.after(k, () => spawn(serverId(i), INITIAL_CONTENT_SHARE));
    clock.advance(SERVERS + 100);
    // ≈ 5 s in a quiet CI run; 54 s at load 12 (a 60-s hook timed out at load 15).
  }, 300_000);

  it('registers every server and gives the baton to the first one', () => {
    expect(hub.registered).toBe(SERVERS);
    expect(hub.table.size).toBe(SERVERS);
    expect(hub.directorLog[0]).toMatchObject({ reason: 'first-server', director: { id: serverId(SERVERS - 5), epoch: 1 } });
  });

  it('rotates the director round-robin by id, wrapping, with epochs going up by one', () => {
    const from = hub.directorLog.length;
    clock.advance(10 * ROTATION_MS + 1);
    const changes = hub.directorLog.slice(from);
    expect(changes).toHaveLength(10);
    let wrapped = false;
    for (const c of changes) {
      expect(c.reason).toBe('timer');
      expect(c.director.id).toBe(successor(c.previous!.id, c.ids));
      expect(c.director.epoch).toBe(c.previous!.epoch + 1);
      if (c.director.id < c.previous!.id) wrapped = true;
    }
    expect(wrapped).toBe(true);
    expect(changes.map((c) => c.director.id).slice(0, 6)).toEqual([
      serverId(SERVERS - 4),
      serverId(SERVERS - 3),
      serverId(SERVERS - 2),
      serverId(SERVERS - 1),
      serverId(0),
      serverId(1),
    ]);
  });

  it('removes a director that stops heartbeating after 3 heartbeats and designates its successor', () => {
    // Just after a rotation, so the timer cannot move the baton before the failure is seen.
    const rotations = hub.directorLog.length;
    while (hub.directorLog.length === rotations) clock.advance(1);
    clock.advance(20);
    const victim = hub.table.director!;
    const crashedAtMs = clock.now;
    servers.get(victim.id)!.crash();
    const removalsBefore = hub.removals.length;

    clock.advance(MISSED_HEARTBEATS * HEARTBEAT_MS + LIVENESS_CHECK_MS + 2 * MAX_LATENCY_MS);

    const removal = hub.removals.slice(removalsBefore).find((r) => r.id === victim.id);
    expect(removal).toBeDefined();
    expect(removal!.reason).toBe('missed-heartbeats');
    expect(removal!.lastSeenMs).toBeLessThanOrEqual(crashedAtMs + MAX_LATENCY_MS);
    const silentMs = removal!.atMs - removal!.lastSeenMs;
    expect(silentMs).toBeGreaterThan(MISSED_HEARTBEATS * HEARTBEAT_MS);
    expect(silentMs).toBeLessThanOrEqual(MISSED_HEARTBEATS * HEARTBEAT_MS + LIVENESS_CHECK_MS);
    expect(hub.table.get(victim.id)).toBeUndefined();

    const handover = hub.directorLog.slice(rotations + 1);
    expect(handover).toHaveLength(1);
    expect(handover[0]).toMatchObject({ reason: 'director-left', previous: victim });
    expect(handover[0]!.director).toEqual({
      id: successor(victim.id, [...servers.keys()].sort()),
      epoch: victim.epoch + 1,
      sinceMs: removal!.atMs,
    });
    expect(hub.table.director).toEqual(handover[0]!.director);
  });

  it('converges every replica to the hub after random churn over a lossy network', () => {
    const CHURN_STEPS = 250;
    const STEP_MS = 50;
    for (let step = 0; step < CHURN_STEPS; step++) {
      clock.advance(STEP_MS * (0.5 + rand()));
      const alive = aliveServers();
      const roll = rand();
      if (roll < 0.03) {
        pick(alive).crash();
      } else if (roll < 0.06) {
        pick(alive).leave();
      } else if (roll < 0.09) {
        spawn(serverId(nextNewId++), 1);
      } else if (roll < 0.11) {
        // A crashed or departed server comes back under its old id, with a fresh replica.
        const gone = [...servers.values()].filter((s) => !s.alive);
        if (gone.length > 0) spawn(pick(gone).id, 1);
      } else if (roll < 0.4) {
        pick(alive).report({ type: 'cache-add', assets: [assetId(Math.floor(rand() * ASSET_POOL))] });
      } else if (roll < 0.6) {
        const s = pick(alive);
        const held = [...s.cache];
        if (held.length > 0) s.report({ type: 'cache-remove', assets: [pick(held)] });
      } else if (roll < 0.7) {
        pick(alive).report({ type: 'storage-add', assets: [assetInfo(Math.floor(rand() * ASSET_POOL))] });
      } else if (roll < 0.75) {
        const s = pick(alive);
        const held = [...s.storage.keys()];
        if (held.length > 0) s.report({ type: 'storage-remove', assets: [pick(held)] });
      } else if (roll < 0.82) {
        const s = pick(alive);
        const id = `live-${step}`;
        s.report({ type: 'live', stream: { id, bytes: 0, live: true, mime: 'video/webm', startedAtMs: clock.now } });
      } else if (roll < 0.86) {
        const s = pick(alive);
        const held = [...s.live.keys()];
        if (held.length > 0) s.report({ type: 'live-remove', assetId: pick(held) });
      } else {
        const load = { sessions: Math.floor(rand() * 100), egressMbps: Math.floor(rand() * 1000), cpu: rand() };
        pick(alive).report({ type: 'load', load });
      }
    }

    // The network heals; give every replica time to notice what it missed.
    net.dropRate = 0;
    net.reorderRate = 0;
    clock.advance((MISSED_HEARTBEATS + 2) * HEARTBEAT_MS + LIVENESS_CHECK_MS);
    while (net.stateInFlight > 0 || !hub.idle) clock.advance(1);

    // The scenario did exercise lost and reordered deltas, gaps and catch-up.
    expect(net.stats.dropped).toBeGreaterThan(0);
    expect(net.stats.reordered).toBeGreaterThan(0);
    const live = aliveServers();
    const total = (k: keyof FakeServer['stats']) => live.reduce((n, s) => n + s.stats[k], 0);
    expect(total('gaps')).toBeGreaterThan(0);
    expect(total('resyncs')).toBeGreaterThan(0);

    // Membership: exactly the live servers, and each row says what its server reported.
    expect(hub.table.ids().sort()).toEqual(live.map((s) => s.id).sort());
    for (const s of live) {
      const row = hub.table.get(s.id)!;
      expect([...row.cache].sort()).toEqual([...s.cache].sort());
      expect([...row.storage.keys()].sort()).toEqual([...s.storage.keys()].sort());
      expect([...row.live.keys()].sort()).toEqual([...s.live.keys()].sort());
      expect(row.load).toEqual(s.load);
    }
    expect(hub.table.director).not.toBeNull();
    expect(hub.table.get(hub.table.director!.id)).toBeDefined();

    const diverged = live.map((s) => ({ id: s.id, diff: tableDiff(hub.table, s.replica) })).filter((d) => d.diff !== null);
    expect(diverged).toEqual([]);
    // One full deep-equal on snapshots, as the wire would carry them.
    const sample = live[Math.floor(rand() * live.length)]!;
    expect(normalised(sample.replica.snapshot())).toEqual(normalised(hub.table.snapshot()));
  });
});
