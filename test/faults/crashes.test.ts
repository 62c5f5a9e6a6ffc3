// Fault rows 1 and 2: a media server, then the director, SIGKILLed under load on a real 3-server cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import type { Ack, DecisionEvent, WatchReply } from '../../signaling/protocol/index.js';
import { recordFigure } from './helpers/figures.js';
import { connect, getJson, sleep } from './helpers/net.js';

const HEARTBEAT_MS = 300;
/** The deadline for a viewer to resume after its server died. */
const RESUME_DEADLINE_MS = 5_000;
/** The row's promise: a new director within 3 heartbeats of the kill, by the hub's own clock. */
const NEW_DIRECTOR_HEARTBEATS = 3;
/** How long the test waits to observe it at all (polling over HTTP on a loaded machine); the promise is checked on the hub's timestamp. */
const OBSERVE_DEADLINE_MS = 10_000;
/** Row 2: clients sending watches, each at this rate (the hub allows 20/s per connection). */
const CLIENTS = 8;
const WATCH_EVERY_MS = 100;
const LOAD_MS = 3_000;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('crashes: SIGKILL under load', () => {
  // Row 2 keeps up to ~10 watches per connection waiting at a frozen director; the per-connection
  // session cap (row 20) is not what this row tests.
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    hubArgs: ['--max-unconnected-per-conn', '64', '--max-sessions-per-conn', '64'],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('row 1: a viewer resumes on another holder at the same byte offset when its server is SIGKILLed', async () => {
    const source = readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm'));
    let killed: string | undefined;
    let killedAt = 0;
    let killing: Promise<unknown> | undefined;
    let bytesAtKill = 0;
    let resumed: { server: string; offset: number; afterMs: number } | undefined;
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-mandelbrot', timeoutMs: 60_000 }, (bytes, viewer) => {
      const server = viewer.session?.server.id;
      if (!killing && viewer.bytesReceived > source.length / 3) {
        killed = server;
        bytesAtKill = viewer.bytesReceived;
        killedAt = performance.now();
        killing = cluster.kill(killed!, 'SIGKILL');
      } else if (killing && !resumed && server !== killed) {
        // The first chunk from the new server: where it starts is where the old one stopped.
        resumed = { server: server!, offset: viewer.offset - bytes.byteLength, afterMs: performance.now() - killedAt };
      }
    });
    await killing;
    expect(killed).toBeDefined();
    expect(resumed).toBeDefined();
    expect(r.failovers).toHaveLength(1);
    expect(r.failovers[0]).toMatchObject({ from: killed, to: resumed!.server });
    expect(resumed!.server).not.toBe(killed);
    // Same offset: the new server's first byte is the one after the last byte the viewer had.
    expect(resumed!.offset).toBe(r.failovers[0]!.offset);
    expect(resumed!.offset).toBeGreaterThanOrEqual(bytesAtKill);
    expect(resumed!.afterMs).toBeLessThan(RESUME_DEADLINE_MS);
    expect(r.bytes).toBe(source.length);
    expect(r.sha256).toBe(sha256(source));
    recordFigure('server_crash.resume_ms', resumed!.afterMs);
    recordFigure('server_crash.resume_offset_bytes', resumed!.offset);

    // Bring the server back for the next row.
    await cluster.startServer(cluster.servers.get(killed!)!.spec);
    await waitFor('3 servers again', async () => (await cluster.state()).servers.length === 3);
  }, 90_000);

  it('row 2: a new director within 3 heartbeats, every request answered once, one director per epoch', async () => {
    const t0Wall = Date.now();
    const dashboard = await connect(cluster.hubUrl, '/dashboard');
    const decisions: DecisionEvent[] = [];
    dashboard.on('decision', (d: DecisionEvent) => decisions.push(d));
    const clients: Socket[] = await Promise.all(Array.from({ length: CLIENTS }, () => connect(cluster.hubUrl)));

    // Who each replica believes directs, per epoch, sampled throughout.
    const seen = new Map<number, Set<string>>();
    const note = (d: { id: string; epoch: number } | null | undefined) => {
      if (!d) return;
      if (!seen.has(d.epoch)) seen.set(d.epoch, new Set());
      seen.get(d.epoch)!.add(d.id);
    };
    const urls = (await cluster.state()).servers.map((s) => s.httpUrl!);
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 1_000; i++) {
        await Promise.all(
          urls.map((u) =>
            getJson<{ director: { id: string; epoch: number } | null }>(`${u}/api/table`).then(
              (t) => note(t.director),
              () => undefined,
            ),
          ),
        );
        note((await cluster.state()).director);
        await sleep(25);
      }
    })();

    interface Req {
      acks: number;
      reply?: Ack<WatchReply>;
    }
    const reqs: Req[] = [];
    const watch = (c: Socket) => {
      const req: Req = { acks: 0 };
      reqs.push(req);
      c.emit('watch', { assetId: 'demo-smpte' }, (r: Ack<WatchReply>) => {
        req.acks++;
        req.reply = r;
        if (r.ok) c.emit('leave', { sessionId: r.sessionId });
      });
    };
    const timers = clients.map((c) => setInterval(() => watch(c), WATCH_EVERY_MS));

    await sleep(LOAD_MS / 3);
    const before = (await cluster.state()).director!;
    note(before);
    const victim = cluster.servers.get(before.id)!;
    // Freeze the director first so that requests are certainly sitting at it, unanswered, when it dies.
    victim.child.kill('SIGSTOP');
    for (const c of clients) for (let i = 0; i < 5; i++) watch(c);
    await sleep(100);
    const inFlightAtKill = reqs.filter((r) => r.acks === 0).length;
    const killedAtWall = Date.now();
    const killed = cluster.kill(before.id, 'SIGKILL');
    const after = await waitFor(
      'a new director',
      async () => {
        const s = await cluster.state();
        return s.director && s.director.id !== before.id ? s.director : undefined;
      },
      OBSERVE_DEADLINE_MS,
      10,
    );
    await killed;
    // When the hub designated it (its decision's timestamp: same machine, same clock), not when a poll saw it.
    const designation = await waitFor('the designation in the decision feed', () =>
      decisions.find(
        (d): d is Extract<DecisionEvent, { kind: 'director' }> =>
          d.kind === 'director' && d.director?.id === after.id && d.director.epoch === after.epoch,
      ),
    );
    const newDirectorMs = designation.atMs - killedAtWall;
    await sleep(LOAD_MS * (2 / 3));
    for (const t of timers) clearInterval(t);

    await waitFor('every request answered', () => reqs.every((r) => r.acks > 0), 15_000);
    await sleep(1_000); // room for a second answer to any request, were there one
    sampling = false;
    await sampler;
    for (const c of clients) c.close();
    dashboard.close();

    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(newDirectorMs / HEARTBEAT_MS, 'heartbeats from the kill to the new director').toBeLessThanOrEqual(NEW_DIRECTOR_HEARTBEATS);
    // Exactly once, and each answer a decision the hub recorded once.
    expect(reqs.filter((r) => r.acks !== 1)).toEqual([]);
    const ok = reqs.filter((r) => r.reply!.ok).map((r) => r.reply as WatchReply & { ok: true });
    const failed = reqs.filter((r) => !r.reply!.ok).map((r) => r.reply);
    expect(failed).toEqual([]);
    expect(new Set(ok.map((r) => r.sessionId)).size).toBe(ok.length);
    const watchDecisions = decisions.filter((d) => d.kind === 'watch' && d.atMs >= t0Wall);
    expect(watchDecisions).toHaveLength(ok.length);

    // One director per epoch: in the hub's history, in every replica, and in what clients were told.
    const directorEvents = [
      ...decisions,
      ...(await getJson<{ decisions: DecisionEvent[] }>(`${cluster.hubUrl}/api/decisions`)).decisions,
    ].filter((d): d is Extract<DecisionEvent, { kind: 'director' }> => d.kind === 'director');
    for (const d of directorEvents) note(d.director);
    for (const [epoch, ids] of seen) expect([...ids], `epoch ${epoch}`).toHaveLength(1);
    const epochs = new Set(seen.keys());
    for (const r of ok) expect(epochs.has(r.epoch), `epoch ${r.epoch} of a reply`).toBe(true);
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(seen.get(after.epoch)).toEqual(new Set([after.id]));

    recordFigure('director_crash.new_director_ms', newDirectorMs);
    recordFigure('director_crash.new_director_heartbeats', newDirectorMs / HEARTBEAT_MS);
    recordFigure('director_crash.requests', reqs.length);
    recordFigure('director_crash.in_flight_at_kill', inFlightAtKill);
    recordFigure('director_crash.answered_once_share', reqs.filter((r) => r.acks === 1).length / reqs.length);
    recordFigure('director_crash.ok_share', ok.length / reqs.length);
  }, 60_000);
});
