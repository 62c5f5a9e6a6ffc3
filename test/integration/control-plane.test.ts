// The control plane end to end: a real hub and three real `baton server` processes on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { Cluster, MEDIA_DIR, SECRET, THREE_SERVERS, waitFor, waitForOutput, type ApiState } from '../helpers/cluster.js';
import { mintServerToken } from '../../signaling/auth.js';
import { createPeer } from '../../node-app/webrtc/peer.js';
import type { DecisionEvent, TableSnapshot, VersionedDelta } from '../../signaling/protocol/index.js';

const HEARTBEAT_MS = 300;

async function replica(url: string): Promise<TableSnapshot> {
  return (await (await fetch(`${url}/api/table`)).json()) as TableSnapshot;
}

function connectClient(hubUrl: string, ns = '/client', auth?: Record<string, unknown>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${hubUrl}${ns}`, { transports: ['websocket'], reconnection: false, auth });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(e));
  });
}

/** A /dashboard connection whose listeners are attached before it connects, so no event is missed. */
async function connectFeed(hubUrl: string) {
  const startedAtWall = Date.now();
  // Its own Manager (forceNew): socket.io-client shares one per origin, and autoConnect: false would stick to it.
  const s = io(`${hubUrl}/dashboard`, { transports: ['websocket'], reconnection: false, autoConnect: false, forceNew: true });
  const feed = {
    socket: s,
    startedAtWall,
    snapshots: [] as TableSnapshot[],
    batches: [] as { bytes: number; deltas: VersionedDelta[] }[],
    decisions: [] as DecisionEvent[],
  };
  s.on('snapshot', (snap: TableSnapshot) => feed.snapshots.push(snap));
  s.on('deltas', (batch: VersionedDelta[]) => feed.batches.push({ bytes: JSON.stringify(batch).length, deltas: batch }));
  // The hub replays its recent decisions to a new dashboard: keep only those made from now on.
  s.on('decision', (d: DecisionEvent) => d.atMs >= startedAtWall && feed.decisions.push(d));
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
    s.connect();
  });
  return feed;
}

function ask<T = any>(s: Socket, event: string, ...args: unknown[]): Promise<T> {
  return s.timeout(5_000).emitWithAck(event, ...args) as Promise<T>;
}

describe('control plane: hub + 3 servers on loopback', () => {
  // Without posters: a poster made in the background changes its asset's row (a storage-add of its own), and
  // this file counts the deltas one storage change makes.
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    servers: THREE_SERVERS.map((s) => ({ ...s, extraArgs: [...(s.extraArgs ?? []), '--no-posters'] })),
  });

  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('lists all three servers and a director in /api/state, and /readyz is ready', async () => {
    const s = await cluster.state();
    expect(s.servers.map((x) => x.id).sort()).toEqual(['fra-1', 'iad-1', 'sin-1']);
    expect(s.director).not.toBeNull();
    expect(s.servers.find((x) => x.id === 'fra-1')).toMatchObject({
      region: 'eu-central',
      lat: 50.11,
      lon: 8.68,
      roles: ['edge', 'ingest'],
    });
    expect(s.servers.every((x) => x.storageCount >= 3)).toBe(true);
    expect((await fetch(`${cluster.hubUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${cluster.hubUrl}/healthz`)).status).toBe(200);
  });

  it('replicates one server’s storage change to the other replicas as a small delta', async () => {
    // The dashboard gets the same delta batches the servers get: watch what goes over the wire.
    const feed = await connectFeed(cluster.hubUrl);
    const { snapshots, batches } = feed;
    await waitFor('the dashboard’s first snapshot', () => snapshots.length > 0);
    const snapshotBytes = JSON.stringify(snapshots[0]).length;
    const gapsBefore = [...cluster.servers.values()].map((p) => (p.output().match(/gap in deltas/g) ?? []).length);

    const fra = cluster.servers.get('fra-1')!;
    const clip = readdirSync(MEDIA_DIR).find((f) => f.endsWith('.webm'))!;
    copyFileSync(join(MEDIA_DIR, clip), join(fra.storage, 'replicated-clip.webm'));
    const s = await cluster.state();
    for (const other of s.servers.filter((x) => x.id !== 'fra-1')) {
      await waitFor(`${other.id} sees fra-1's new asset`, async () => {
        const t = await replica(other.httpUrl!);
        return t.servers.find((x) => x.id === 'fra-1')?.storage.some((a) => a.id === 'replicated-clip');
      });
    }
    // Every replica converges to the hub's table version.
    const hubVersion = (await cluster.state()).version;
    for (const x of s.servers) {
      await waitFor(`${x.id} at version ≥ ${hubVersion}`, async () => (await replica(x.httpUrl!)).version >= hubVersion);
    }
    await waitFor('the dashboard at the hub’s version', () => batches.some((b) => b.deltas.some((vd) => vd.v >= hubVersion)));
    feed.socket.close();

    // It went out as one storage-add delta naming only the new asset, a tiny fraction of a snapshot.
    const carrying = batches.filter((b) =>
      b.deltas.some((vd) => vd.d.type === 'storage-add' && vd.d.id === 'fra-1' && vd.d.assets.some((a) => a.id === 'replicated-clip')),
    );
    expect(carrying).toHaveLength(1);
    const delta = carrying[0]!.deltas.find((vd) => vd.d.type === 'storage-add')!.d as Extract<VersionedDelta['d'], { type: 'storage-add' }>;
    expect(delta.assets.map((a) => a.id)).toEqual(['replicated-clip']);
    expect(carrying[0]!.bytes).toBeLessThan(1024);
    expect(carrying[0]!.bytes * 10).toBeLessThan(snapshotBytes);
    // No snapshot was sent instead: none to the dashboard after its first, and no replica saw a gap and asked for one.
    expect(snapshots).toHaveLength(1);
    expect([...cluster.servers.values()].map((p) => (p.output().match(/gap in deltas/g) ?? []).length)).toEqual(gapsBefore);
  });

  it('answers watch through the director with a reason, and refuses bad requests with clear errors', async () => {
    const c = await connectClient(cluster.hubUrl);
    try {
      const ok = await ask(c, 'watch', { assetId: 'demo-testsrc' });
      expect(ok).toMatchObject({ ok: true, reason: expect.stringMatching(/^(director-cache|cache|storage)$/) });
      expect(['fra-1', 'iad-1', 'sin-1']).toContain(ok.server.id);
      expect(ok.epoch).toBe((await cluster.state()).director!.epoch);
      c.emit('leave', { sessionId: ok.sessionId });

      expect(await ask(c, 'watch', { assetId: 'no-such-asset' })).toMatchObject({ ok: false, code: 'unknown-asset' });
      expect(await ask(c, 'watch', { assetId: '../etc/passwd' })).toMatchObject({ ok: false, code: 'bad-request' });
      expect(await ask(c, 'watch', { assetId: 'demo-testsrc', extra: 1 })).toMatchObject({ ok: false, code: 'bad-request' });
      expect(await ask(c, 'watch', 'garbage')).toMatchObject({ ok: false, code: 'bad-request' });
      expect(await ask(c, 'places', { q: 'Frankf' })).toMatchObject({
        ok: true,
        places: expect.arrayContaining([expect.objectContaining({ label: expect.stringContaining('Frankfurt') })]),
      });
    } finally {
      c.close();
    }
  });

  it('hands the offer that came with a watch to the chosen server: its answer comes in the reply, the peers connect', async () => {
    const c = await connectClient(cluster.hubUrl);
    const peer = createPeer({ initiator: true });
    try {
      const offer = await new Promise<unknown>((resolve) => peer.once('signal', resolve));
      const ok = await ask(c, 'watch', { assetId: 'demo-testsrc', offer });
      expect(ok).toMatchObject({ ok: true, answer: { type: 'answer', sdp: expect.stringContaining('a=fingerprint:') } });
      // No client signal went out: the answer (and the server's candidates, in it or relayed) connect the peers.
      c.on('signal', (m: { sessionId: string; data: unknown }) => {
        if (m.sessionId === ok.sessionId) peer.signal(m.data as never);
      });
      peer.signal(ok.answer);
      await new Promise<void>((resolve) => peer.once('connect', () => resolve()));
      const closed = new Promise<void>((resolve) => peer.once('close', () => resolve()));
      c.emit('leave', { sessionId: ok.sessionId });
      // The hub tells the server (session-close); the server ends the session and its peer, long before any watchdog would.
      await expect(Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 5_000))])).resolves.toBe(
        'closed',
      );
      // The offer is held to a signal's bounds (16 KiB).
      const big = { type: 'offer', sdp: 'x'.repeat(20_000) };
      expect(await ask(c, 'watch', { assetId: 'demo-testsrc', offer: big })).toMatchObject({ ok: false, code: 'bad-request' });
    } finally {
      peer.destroy();
      c.close();
    }
  });

  it('survives malformed, unknown and oversized messages without changing the table', async () => {
    const before = await cluster.state();
    const c = await connectClient(cluster.hubUrl);
    c.emit('no-such-event', { x: 1 });
    c.emit('signal', { sessionId: 'AAAAAAAAAAAA', data: { type: 'offer', sdp: 'x' } }); // not a party: ignored
    c.emit('signal', 42);
    const closed = new Promise((r) => c.once('disconnect', r));
    c.emit('watch', { assetId: 'x'.repeat(400_000) }, () => {});
    await closed; // the oversized frame closes that client's connection
    // A registered server's hostile messages are refused too.
    const srv = await connectClient(cluster.hubUrl, '/server', { token: mintServerToken(SECRET, 'rogue-1', Date.now()) });
    expect(await ask(srv, 'register', { id: 'rogue-1' })).toMatchObject({ ok: false, code: 'bad-request' });
    const { joinedAtMs: _j0, ...someRow } = (await replica(before.servers[0]!.httpUrl!)).servers[0]!;
    expect(await ask(srv, 'register', { ...someRow, id: 'someone-else' })).toMatchObject({ ok: false, code: 'unauthorized' });
    expect(await ask(srv, 'report', [{ type: 'cache-add', assets: ['ok'] }])).toMatchObject({ ok: false, code: 'bad-request' });
    srv.close();
    // A second connection claiming a live id is refused.
    const dup = await connectClient(cluster.hubUrl, '/server', { token: mintServerToken(SECRET, 'fra-1', Date.now()) });
    const fraRow = (await replica(before.servers[0]!.httpUrl!)).servers.find((x) => x.id === 'fra-1')!;
    const { joinedAtMs: _j, ...fraDescriptor } = fraRow;
    expect(await ask(dup, 'register', fraDescriptor)).toMatchObject({ ok: false, code: 'conflict' });
    dup.close();
    const after = await cluster.state();
    expect(after.servers.map((x) => x.id).sort()).toEqual(before.servers.map((x) => x.id).sort());
    expect((await fetch(`${cluster.hubUrl}/healthz`)).status).toBe(200);
  });

  it('refuses a server with a forged secret before anything enters the table', async () => {
    const p = await cluster.startServer(
      { id: 'forger-1', region: 'x', lat: 0, lon: 0 },
      { secret: 'wrong-cluster-secret', waitRegistered: false },
    );
    await waitForOutput(p, /unauthorized/);
    expect(await p.exited).not.toBe(0);
    expect((await cluster.state()).servers.map((x) => x.id)).not.toContain('forger-1');
    cluster.servers.delete('forger-1');
  });

  it('designates a new director within 3 heartbeats when the director is SIGKILLed', async () => {
    const feed = await connectFeed(cluster.hubUrl);
    const { decisions } = feed;
    const before = (await cluster.state()).director!;
    const killedAtWall = Date.now();
    await cluster.kill(before.id, 'SIGKILL');
    const after = await waitFor(
      'a new director',
      async () => {
        const s = await cluster.state();
        return s.director && s.director.id !== before.id && !s.servers.some((x) => x.id === before.id) ? s : undefined;
      },
      15_000,
      20,
    );
    // The promise is about when the hub designated it (its own timestamp, same clock), not when a poll saw it.
    const designated = await waitFor('the designation in the decision feed', () =>
      decisions.find((d) => d.kind === 'director' && d.director?.id === after.director!.id && d.director.epoch === after.director!.epoch),
    );
    feed.socket.close();
    expect((designated.atMs - killedAtWall) / HEARTBEAT_MS).toBeLessThanOrEqual(3);
    expect(after.director!.epoch).toBeGreaterThan(before.epoch);
    expect(after.servers).toHaveLength(2);
    // The new director answers.
    const c = await connectClient(cluster.hubUrl);
    const r = await ask(c, 'watch', { assetId: 'demo-testsrc' });
    c.close();
    expect(r).toMatchObject({ ok: true, epoch: after.director!.epoch });
    // Bring the killed server back for the next test.
    await cluster.startServer(cluster.servers.get(before.id)!.spec);
    await waitFor('3 servers again', async () => (await cluster.state()).servers.length === 3);
  });

  it('rebuilds the table after a hub restart: servers re-register by themselves', async () => {
    const before = await cluster.state();
    await cluster.killHub('SIGKILL');
    await cluster.startHub(cluster.hubPort);
    const after = await waitFor<ApiState>(
      'servers re-registered',
      async () => {
        const s = await cluster.state();
        return s.servers.length === 3 && s.director ? s : undefined;
      },
      20_000,
    );
    expect(after.servers.map((x) => x.id).sort()).toEqual(before.servers.map((x) => x.id).sort());
    expect(new Set(after.servers.map((x) => x.id)).size).toBe(3);
    // The fencing token never goes back, even across a hub restart.
    expect(after.director!.epoch).toBeGreaterThan(before.director!.epoch);
  });
});

describe('director rotation on a timer', () => {
  const cluster = new Cluster({ heartbeatMs: HEARTBEAT_MS, rotationMs: 700 });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('passes the baton round-robin by id with increasing epochs', async () => {
    // Every designation, from the hub's decision feed (polling could miss one and check nothing).
    const feed = await connectFeed(cluster.hubUrl);
    const seen = () => feed.decisions.flatMap((d) => (d.kind === 'director' && d.director ? [d.director] : []));
    await waitFor('four rotations', () => seen().length >= 4, 15_000, 50);
    feed.socket.close();
    const order = ['fra-1', 'iad-1', 'sin-1'];
    const rotations = seen();
    // On a failure, say what the hub decided and why, and whether a server left the table meanwhile.
    const story = () =>
      JSON.stringify(
        feed.decisions.flatMap((d) =>
          d.kind === 'director' ? [[d.atMs - feed.startedAtWall, d.director?.id, d.director?.epoch, d.reason]] : [],
        ),
      ) + ` servers removed: ${(cluster.hub?.output().match(/server removed[^\n]*/g) ?? []).join(' | ')}`;
    for (let i = 1; i < rotations.length; i++) {
      expect(rotations[i]!.epoch, `rotation ${i}: ${story()}`).toBe(rotations[i - 1]!.epoch + 1);
      expect(rotations[i]!.id, `rotation ${i}: ${story()}`).toBe(order[(order.indexOf(rotations[i - 1]!.id) + 1) % 3]);
    }
  });
});
