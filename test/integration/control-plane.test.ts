// The control plane end to end: a real hub and three real `baton server` processes on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { Cluster, MEDIA_DIR, SECRET, waitFor, waitForOutput, type ApiState } from '../helpers/cluster.js';
import { mintServerToken } from '../../signaling/auth.js';
import type { TableSnapshot } from '../../signaling/protocol/index.js';

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

function ask<T = any>(s: Socket, event: string, ...args: unknown[]): Promise<T> {
  return s.timeout(5_000).emitWithAck(event, ...args) as Promise<T>;
}

describe('control plane: hub + 3 servers on loopback', () => {
  const cluster = new Cluster({ heartbeatMs: HEARTBEAT_MS, rotationMs: 0 });

  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('lists all three servers and a director in /api/state, and /readyz is ready', async () => {
    const s = await cluster.state();
    expect(s.servers.map((x) => x.id).sort()).toEqual(['fra-1', 'iad-1', 'sin-1']);
    expect(s.director).not.toBeNull();
    expect(s.servers.find((x) => x.id === 'fra-1')).toMatchObject({ region: 'eu-central', lat: 50.11, lon: 8.68, roles: ['edge', 'ingest'] });
    expect(s.servers.every((x) => x.storageCount >= 3)).toBe(true);
    expect((await fetch(`${cluster.hubUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${cluster.hubUrl}/healthz`)).status).toBe(200);
  });

  it('replicates one server’s storage change to the other replicas as a small delta', async () => {
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
      expect(await ask(c, 'places', { q: 'Frankf' })).toMatchObject({ ok: true, places: expect.arrayContaining([expect.objectContaining({ label: expect.stringContaining('Frankfurt') })]) });
    } finally {
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
    const p = await cluster.startServer({ id: 'forger-1', region: 'x', lat: 0, lon: 0 }, { secret: 'wrong-cluster-secret', waitRegistered: false });
    await waitForOutput(p, /unauthorized/);
    expect(await p.exited).not.toBe(0);
    expect((await cluster.state()).servers.map((x) => x.id)).not.toContain('forger-1');
    cluster.servers.delete('forger-1');
  });

  it('designates a new director within 3 heartbeats when the director is SIGKILLed', async () => {
    const before = (await cluster.state()).director!;
    await cluster.kill(before.id, 'SIGKILL');
    const after = await waitFor(
      'a new director',
      async () => {
        const s = await cluster.state();
        return s.director && s.director.id !== before.id && !s.servers.some((x) => x.id === before.id) ? s : undefined;
      },
      3 * HEARTBEAT_MS + 2_000,
      20,
    );
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
    const after = await waitFor<ApiState>('servers re-registered', async () => {
      const s = await cluster.state();
      return s.servers.length === 3 && s.director ? s : undefined;
    }, 20_000);
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
    const seen: { id: string; epoch: number }[] = [];
    await waitFor('four rotations', async () => {
      const d = (await cluster.state()).director;
      if (d && seen.at(-1)?.epoch !== d.epoch) seen.push(d);
      return seen.length >= 4;
    }, 15_000, 50);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.epoch).toBeGreaterThan(seen[i - 1]!.epoch);
    const order = ['fra-1', 'iad-1', 'sin-1'];
    for (let i = 1; i < seen.length; i++) {
      if (seen[i]!.epoch !== seen[i - 1]!.epoch + 1) continue; // a poll missed one rotation
      expect(seen[i]!.id).toBe(order[(order.indexOf(seen[i - 1]!.id) + 1) % 3]);
    }
  });
});
