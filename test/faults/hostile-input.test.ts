// Fault rows 6 and 8: a generated corpus of hostile socket.io messages and data-channel frames,
// and asset ids that try to leave the storage root, against a live cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { Cluster, MEDIA_DIR, SECRET, waitFor, type ApiState } from '../helpers/cluster.js';
import { MAX_BAD_FRAMES } from '../../node-app/delivery/serve-options.js';
import { createPeer } from '../../node-app/webrtc/peer.js';
import { mintServerToken } from '../../signaling/auth.js';
import { isAssetId, type VersionedDelta } from '../../signaling/protocol/index.js';
import { badFrames, clientCorpus, HOSTILE_IDS, serverCorpus } from './helpers/corpus.js';
import { batches, newTally, runAll } from './helpers/fuzz-runner.js';
import { recordFigure } from './helpers/figures.js';
import { alive, ask, connect, getJson, sleep } from './helpers/net.js';
import WebSocket from 'ws';
import { bareDescriptor } from '../helpers/descriptor.js';

const HEARTBEAT_MS = 1_000; // Baton's default: a shorter one removes servers merely starved on 2 busy cores
const SEED = 20_240_607;
const BATCH = 30;
const FRAME_SESSIONS = 15;
const FRAMES_PER_SESSION = MAX_BAD_FRAMES + 4;
const OLD = new Date('2000-01-01T00:00:00Z');

/**
 * What must not change: who is in the table and what they hold (load figures move on their own;
 * caches too, when the test streams real media).
 */
function tableShape(s: ApiState, withCache = true) {
  return {
    director: s.director,
    servers: s.servers
      .filter((x) => !x.id.startsWith('rogue-'))
      .map(({ id, region, lat, lon, roles, httpUrl, cache, storageCount, live }) => ({
        id,
        region,
        lat,
        lon,
        roles,
        httpUrl,
        storageCount,
        live,
        ...(withCache ? { cache } : {}),
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/** The rogue's descriptor: valid, holding nothing, so no director ever picks it. */
const rogueDescriptor = (id: string) => bareDescriptor(id);

describe('hostile input against a live cluster', () => {
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  const everyoneAlive = () => {
    expect(alive(cluster.hub!)).toBe(true);
    for (const [id, p] of cluster.servers) expect(alive(p), id).toBe(true);
  };

  it('row 6: ≥ 10,000 generated socket.io messages get an error reply or a closed socket; nothing exits; the table is unchanged', async () => {
    // Every change the hub makes to the table, so that the rogue's row is checked even after the hub closed it.
    const feed = await connect(cluster.hubUrl, '/dashboard');
    const deltas: VersionedDelta[] = [];
    feed.on('deltas', (batch: VersionedDelta[]) => deltas.push(...batch));
    // A registered rogue server, so that report/heartbeat parsing is reached (kept alive by empty heartbeats).
    let rogueSeq = 0;
    const openRogue = async () => {
      const s = await connect(cluster.hubUrl, '/server', { token: mintServerToken(SECRET, 'rogue-fuzz', Date.now()) });
      const r = await ask(s, 'register', rogueDescriptor('rogue-fuzz'));
      if (!r.ok) throw new Error(`rogue registration refused: ${r.message}`);
      const beat = setInterval(() => s.emit('heartbeat', {}), HEARTBEAT_MS / 2);
      s.once('disconnect', () => clearInterval(beat));
      rogueSeq++;
      return s;
    };
    let rogue: Socket = await openRogue();
    await waitFor('the rogue in the table', async () => (await cluster.state()).servers.some((s) => s.id === 'rogue-fuzz'));
    const before = tableShape(await cluster.state());

    const client = clientCorpus(5_500, SEED);
    const unregistered = serverCorpus(3_200, SEED + 1);
    const registered = serverCorpus(1_500, SEED + 2);
    const tally = newTally();
    let fuzzId = 0;
    const t0 = performance.now();
    await runAll(() => connect(cluster.hubUrl), batches(client, BATCH), tally);
    await runAll(
      () => connect(cluster.hubUrl, '/server', { token: mintServerToken(SECRET, `fuzz-${fuzzId++}`, Date.now()) }),
      batches(unregistered, BATCH),
      tally,
    );
    // One connection at a time for the registered rogue: a closed one is replaced (re-registered).
    await runAll(
      async () => {
        if (!rogue.connected) {
          await waitFor('the old rogue gone', async () => !(await cluster.state()).servers.some((s) => s.id === 'rogue-fuzz'), 10_000);
          rogue = await openRogue();
        }
        return rogue;
      },
      batches(registered, BATCH),
      tally,
      1,
    );
    const elapsedMs = performance.now() - t0;
    await sleep(2 * HEARTBEAT_MS);

    everyoneAlive();
    expect((await fetch(`${cluster.hubUrl}/healthz`)).status).toBe(200);
    expect(tally.delivered).toBeGreaterThanOrEqual(10_000);
    expect(tally.unanswered).toBe(0);
    expect(tally.malformedAcks).toEqual([]);
    expect(tableShape(await cluster.state())).toEqual(before);
    // The rogue's own row stayed as it registered: none of its bad reports got in, on any of its connections.
    // First the positive signal that the feed saw the rogue at all: each of its registrations.
    const joins = () => deltas.filter((vd) => vd.d.type === 'server-joined' && vd.d.server.id === 'rogue-fuzz').length;
    await waitFor(`the feed to show ${rogueSeq} rogue registrations`, () => joins() >= rogueSeq);
    expect(joins()).toBe(rogueSeq);
    const CONTENT = new Set(['cache-add', 'cache-remove', 'storage-add', 'storage-remove', 'live', 'live-remove']);
    expect(deltas.filter((vd) => CONTENT.has(vd.d.type) && 'id' in vd.d && vd.d.id === 'rogue-fuzz')).toEqual([]);
    if (rogue.connected)
      expect((await cluster.state()).servers.find((s) => s.id === 'rogue-fuzz')).toMatchObject({ cache: [], storageCount: 0, live: [] });
    rogue.close();
    feed.close();

    recordFigure('hostile_input.socketio_inputs_delivered', tally.delivered);
    recordFigure('hostile_input.socketio_acks', tally.answered);
    recordFigure('hostile_input.socketio_acks_cut_by_close', tally.closedPending);
    recordFigure('hostile_input.socketio_error_events', tally.errorEvents);
    recordFigure('hostile_input.socketio_connections_closed', tally.closedByHub);
    recordFigure('hostile_input.socketio_inputs_per_s', tally.delivered / (elapsedMs / 1000));
    recordFigure('hostile_input.rogue_reconnects', rogueSeq - 1);
  }, 180_000);

  it('row 6: a burst of joins on one WebSocket makes one /client socket, and joining again refills no rate bucket', async () => {
    // A raw engine.io WebSocket: socket.io-client cannot put many joins in one TCP write, an attacker can.
    const ws = new WebSocket(`${cluster.hubUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const packets: string[] = [];
    ws.on('message', (m) => {
      const t = m.toString();
      if (t === '2') ws.send('3');
      else packets.push(t);
    });
    await waitFor('engine.io open', () => packets.some((p) => p.startsWith('0{')), 10_000);
    const inOneWrite = (frames: string[]) => {
      const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
      raw.cork();
      for (const f of frames) ws.send(f);
      raw.uncork();
    };
    const joins = () => packets.filter((p) => p.startsWith('40/client,')).length;
    const refusals = () => packets.filter((p) => p.startsWith('44/client,')).length;
    try {
      // 200 joins before the hub recorded the first: one socket (before: 200, each with its own bucket, unbounded).
      inOneWrite(Array.from({ length: 200 }, () => '40/client,'));
      await waitFor('every join answered', () => joins() + refusals() >= 200, 10_000);
      expect([joins(), refusals()]).toEqual([1, 199]);
      // The rate bucket belongs to the connection: spend it, leave, join again, ask again.
      let id = 0;
      const ask = (n: number) => inOneWrite(Array.from({ length: n }, () => `42/client,${id++}["places",{"q":"be"}]`));
      const acked = (from: number) => packets.filter((p) => p.startsWith('43/client,') && Number(/^43\/client,(\d+)/.exec(p)![1]) >= from);
      ask(60);
      await waitFor('the burst spent', () => acked(0).length >= 60, 10_000);
      expect(acked(0).some((p) => p.includes('rate-limited'))).toBe(true);
      const t0 = performance.now();
      // (In one write, socket.io itself closes the connection: the join is read before the leave is applied.)
      ws.send('41/client,');
      await sleep(50);
      ws.send('40/client,');
      await waitFor('joined again', () => joins() === 2, 10_000);
      const from = id;
      ask(40);
      await waitFor('answered', () => acked(from).length >= 40, 10_000);
      const answered = acked(from).filter((p) => p.includes('"ok":true')).length;
      // What the bucket refilled meanwhile (20/s), not a new burst of 40.
      const refilled = Math.ceil((20 * (performance.now() - t0)) / 1000) + 2;
      expect(answered).toBeLessThanOrEqual(Math.min(refilled, 39));
      everyoneAlive();
    } finally {
      ws.close();
    }
  });

  it('row 6: malformed data-channel frames get error frames, then a closed channel; the server lives on', async () => {
    const before = tableShape(await cluster.state(), false);
    const frames = badFrames(FRAME_SESSIONS * FRAMES_PER_SESSION, SEED + 3);
    let errorFrames = 0;
    let closedChannels = 0;
    for (let i = 0; i < FRAME_SESSIONS; i++) {
      const socket = await connect(cluster.hubUrl);
      const w = await ask(socket, 'watch', { assetId: 'demo-smpte' });
      expect(w.ok).toBe(true);
      const peer = createPeer({ initiator: true });
      const errors: string[] = [];
      let closed = false;
      peer.on('signal', (data: unknown) => socket.emit('signal', { sessionId: w.sessionId, data }));
      socket.on('signal', (m: { sessionId: string; data: unknown }) => m.sessionId === w.sessionId && peer.signal(m.data as never));
      peer.on('data', (d: unknown) => {
        if (typeof d === 'string' && JSON.parse(d).t === 'error') errors.push(d);
      });
      peer.on('error', () => undefined);
      peer.on('close', () => (closed = true));
      await new Promise<void>((done, fail) => {
        const t = setTimeout(() => fail(new Error('peer did not connect')), 15_000);
        peer.once('connect', () => {
          clearTimeout(t);
          done();
        });
      });
      const [first, ...rest] = frames.slice(i * FRAMES_PER_SESSION, (i + 1) * FRAMES_PER_SESSION);
      // One bad frame: an error frame back, and the session goes on.
      peer.send(first!);
      await waitFor('an error frame', () => errors.length === 1, 10_000);
      expect(closed).toBe(false);
      // Past the limit: the server closes the channel (error frames still queued behind media may be cut).
      for (const f of rest) if (!closed) peer.send(f);
      await waitFor('the server to close the channel', () => closed, 10_000);
      errorFrames += errors.length;
      closedChannels++;
      peer.destroy();
      socket.close();
    }
    everyoneAlive();
    expect(tableShape(await cluster.state(), false)).toEqual(before);
    recordFigure('hostile_input.datachannel_frames', frames.length);
    recordFigure('hostile_input.datachannel_error_frames', errorFrames);
    recordFigure('hostile_input.datachannel_channels_closed', closedChannels);
  }, 120_000);

  it('row 8: hostile asset ids through the hub are refused like unknown ids; nothing outside the root is read or created', async () => {
    const fra = cluster.servers.get('fra-1')!;
    const root = dirname(fra.storage);
    const canary = join(root, 'canary.webm');
    const canaryBytes = readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'));
    copyFileSync(join(MEDIA_DIR, 'demo-smpte.webm'), canary);
    utimesSync(canary, OLD, OLD);
    // A link planted inside the root that points at the canary; and a marker to know a rescan ran.
    symlinkSync(canary, join(fra.storage, 'planted.webm'));
    copyFileSync(join(MEDIA_DIR, 'demo-smpte.webm'), join(fra.storage, 'marker.webm'));
    await waitFor(
      'fra-1 rescanned its storage',
      async () => (await getJson<{ assets: { id: string }[] }>(`${cluster.hubUrl}/api/catalog`)).assets.some((a) => a.id === 'marker'),
      10_000,
    );
    const atimeWorks = readsAreVisible(root);
    const listing = () => ({
      root: readdirSync(root).sort(),
      parent: readdirSync(dirname(root))
        .filter((n) => n.startsWith('pwned'))
        .sort(),
    });
    const filesBefore = listing();

    const c = await connect(cluster.hubUrl);
    expect(await ask(c, 'watch', { assetId: 'no-such-clip' })).toMatchObject({ ok: false, code: 'unknown-asset' });
    const ids = [
      ...HOSTILE_IDS,
      '../canary',
      '..%2fcanary',
      '%2e%2e%2fcanary',
      '..\\canary',
      join(root, 'canary'),
      `${join(root, 'canary')}\0`,
      'canary',
      'planted',
    ];
    const codes = new Map<string, string>();
    for (const assetId of ids) {
      // A connection per id: the hub's per-connection rate limit is not what this row tests.
      const c = await connect(cluster.hubUrl);
      const r = await ask(c, 'watch', { assetId });
      expect(r.ok, assetId).toBe(false);
      codes.set(assetId, r.code);
      // Well-formed ids get exactly the unknown-id answer; the rest fail the id rule first.
      expect(r.code, assetId).toBe(isAssetId(assetId) ? 'unknown-asset' : 'bad-request');
      // As a stream id (well-formed ids would be fine to publish: they stay inside the root).
      if (r.code === 'bad-request')
        expect(
          await ask(c, 'publish', { streamKey: 'test-key', location: 'Berlin', streamId: assetId }),
          `publish ${assetId}`,
        ).toMatchObject({ ok: false, code: 'bad-request' });
      c.close();
    }
    for (const streamId of ['../pwned', '../../pwned', '/tmp/pwned', '..\\pwned', 'pwned\0']) {
      expect(await ask(c, 'publish', { streamKey: 'test-key', location: 'Berlin', streamId }), streamId).toMatchObject({
        ok: false,
        code: 'bad-request',
      });
    }
    c.close();

    expect(listing()).toEqual(filesBefore);
    // Not read (its access time is still the old one; checked before reading it here), not changed.
    if (atimeWorks) expect(statSync(canary).atimeMs).toBe(OLD.getTime());
    expect(readFileSync(canary).equals(canaryBytes)).toBe(true);
    everyoneAlive();
    recordFigure('hostile_input.path_ids_refused', codes.size);
    recordFigure('hostile_input.canary_read_detectable', atimeWorks ? 1 : 0);
  });
});

/**
 * Whether reading a file with an old access time updates it on this filesystem (relatime
 * does; noatime does not): if so, an unchanged atime proves the canary was never read.
 */
function readsAreVisible(dir: string): boolean {
  const probe = join(dir, 'atime-probe');
  copyFileSync(join(MEDIA_DIR, 'demo-smpte.webm'), probe);
  utimesSync(probe, OLD, OLD);
  readFileSync(probe);
  return statSync(probe).atimeMs !== OLD.getTime();
}
