// Fault row 20: one anonymous connection opening sessions it never connects cannot take the servers' slots; unconnected
// sessions expire in seconds; a client IP is capped across its connections; viewers filling every watch slot leave
// broadcasters their ingest slots. Real hub and servers, a real `baton watch` and `baton publish`, real WebRTC on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { BATON, Cluster, publishArgs, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import type { Ack, WatchReply } from '../../signaling/protocol/index.js';
import { DEFAULT_SESSION_LIMITS } from '../../signaling/core/session-registry.js';
import { UNCONNECTED_SESSION_MS } from '../../node-app/slot-defaults.js';
import { recordFigure } from './helpers/figures.js';
import { ask, connect, sleep } from './helpers/net.js';
import { spawnSwarm } from './helpers/viewer-swarm.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const HEARTBEAT_MS = 1_000; // Baton's default: a shorter one removes servers merely starved on 2 busy cores
/** The attacker: a watch every 52 ms, just under the hub's 20 requests/s per connection. */
const ATTACK_EVERY_MS = 52;
/** Longer than the unconnected-session expiry, so the attacker also re-opens what expired. */
const ATTACK_MS = UNCONNECTED_SESSION_MS + 3_000;
/** More than one IP's unconnected cap, so that the cap, not the servers' room, is what refuses. */
const VIEWER_SLOTS = 24;
const ASSETS = ['demo-smpte', 'demo-testsrc'];
/** What the hub's table may lag behind a server: a heartbeat or two, and the HTTP poll. */
const TABLE_LAG_MS = 3 * HEARTBEAT_MS + 500;
const CAP = DEFAULT_SESSION_LIMITS;

type State = { servers: { id: string; sessions: number; maxSessions: number; ingestSessions: number; maxIngestSessions: number }[] };
const state = async (c: Cluster) => (await c.state()) as unknown as State;
const totalSessions = async (c: Cluster) => (await state(c)).servers.reduce((a, s) => a + s.sessions, 0);

/** Where each server's output stands now, to read only what it logs after. */
const logMarks = (c: Cluster) => new Map([...c.servers].map(([id, p]) => [id, p.output().length]));

/**
 * The most viewer sessions the servers held at once since `marks`, from their own logs of each session's open and end
 * (one clock: every process runs on this machine). A slot is given back before the hub hears of it, so an end logged
 * in the same millisecond as an open elsewhere is counted first. Sums of `/api/state` readings cannot say this: each
 * server's count there is its last heartbeat, so one reading can hold a session that has just ended and its successor.
 */
function peakConcurrentSessions(c: Cluster, marks: Map<string, number>): { peak: number; opened: number; ended: number } {
  const events: { t: number; d: 1 | -1 }[] = [];
  for (const [id, p] of c.servers)
    for (const line of p
      .output()
      .slice(marks.get(id) ?? 0)
      .split('\n')) {
      if (!line.includes('"watch session ')) continue;
      const rec = JSON.parse(line) as { time: number; msg: string };
      if (rec.msg === 'watch session opened') events.push({ t: rec.time, d: 1 });
      else if (rec.msg === 'watch session ended') events.push({ t: rec.time, d: -1 });
    }
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let peak = 0;
  for (const e of events) peak = Math.max(peak, (open += e.d));
  return { peak, opened: events.filter((e) => e.d === 1).length, ended: events.filter((e) => e.d === -1).length };
}

/** A /client connection that says it comes from `ip` (honoured because the hub trusts loopback as a proxy). */
function connectAs(hubUrl: string, ip: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${hubUrl}/client`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { 'x-forwarded-for': ip },
    });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** Watches on `s` until the hub refuses one; the accepted session ids (and when each was answered) and the refusal's code. */
async function watchUntilRefused(s: Socket, max = 64): Promise<{ ids: string[]; openedAt: Map<string, number>; code: string }> {
  const ids: string[] = [];
  const openedAt = new Map<string, number>();
  for (let i = 0; i < max; i++) {
    const r: Ack<WatchReply> = await ask(s, 'watch', { assetId: ASSETS[i % ASSETS.length] });
    if (!r.ok) return { ids, openedAt, code: r.code };
    ids.push(r.sessionId);
    openedAt.set(r.sessionId, performance.now());
  }
  return { ids, openedAt, code: 'never refused' };
}

describe('row 20: session caps and unconnected-session expiry', () => {
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    // Loopback is the trusted proxy, so a test connection can say which client IP it stands for.
    hubArgs: ['--trusted-proxies', 'loopback'],
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ASSETS, maxSessions: VIEWER_SLOTS / 2 },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: ASSETS, maxSessions: VIEWER_SLOTS / 2 },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());
  const idle = () =>
    waitFor('every slot free again', async () => (await totalSessions(cluster)) === 0, UNCONNECTED_SESSION_MS + TABLE_LAG_MS + 5_000, 100);

  it(`one connection watching every ${ATTACK_EVERY_MS} ms without signalling holds at most ${CAP.unconnectedPerConn} slots; a real viewer still plays`, async () => {
    const attacker = await connect(cluster.hubUrl);
    const replies = { sent: 0, ok: 0, tooMany: 0, limited: 0, other: [] as string[] };
    let open = 0;
    let peakOpen = 0;
    attacker.on('session-close', () => open--);
    let i = 0;
    const attackStart = performance.now();
    const tick = setInterval(() => {
      replies.sent++;
      attacker.emit('watch', { assetId: ASSETS[i++ % ASSETS.length] }, (r: Ack<WatchReply>) => {
        if (r.ok) {
          replies.ok++;
          peakOpen = Math.max(peakOpen, ++open);
        } else if (r.code === 'too-many-sessions') replies.tooMany++;
        else if (r.code === 'rate-limited') replies.limited++;
        else replies.other.push(r.code);
      });
    }, ATTACK_EVERY_MS);
    // What the servers report, all through the attack.
    const marks = logMarks(cluster);
    let peakPerServer = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await state(cluster);
        peakPerServer = Math.max(peakPerServer, ...s.servers.map((x) => x.sessions));
        await sleep(100);
      }
    })();
    try {
      // 40 answered watches (≈ 2 s): without the caps, every one of the 24 slots would be taken by now.
      await waitFor('the attack under way', () => replies.ok + replies.tooMany + replies.limited + replies.other.length >= 40, 10_000, 20);
      const out = join(mkdtempSync(join(tmpdir(), 'baton-caps-')), 'smpte.webm');
      const { stdout } = await run(
        process.execPath,
        [BATON, 'watch', '--hub', cluster.hubUrl, '--asset', 'demo-smpte', '--out', out, '--json', '--fast'],
        { timeout: 60_000 },
      );
      const r = JSON.parse(stdout) as { server: string; sha256: string; bytes: number };
      expect(r.sha256).toBe(sha256(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'))));
      const left = ATTACK_MS - (performance.now() - attackStart);
      if (left > 0) await sleep(left);
      recordFigure('session_caps.viewer_ok', 1);
    } finally {
      clearInterval(tick);
      sampling = false;
      await sampler;
    }
    await waitFor(
      'the attack answered',
      () => replies.ok + replies.tooMany + replies.limited + replies.other.length === replies.sent,
      10_000,
    );
    expect(replies.other).toEqual([]);
    // Sessions it held at once: never more than its cap (each expired and was re-opened).
    expect(peakOpen).toBeLessThanOrEqual(CAP.unconnectedPerConn);
    expect(replies.ok).toBeGreaterThan(CAP.unconnectedPerConn); // expired sessions made room again
    expect(peakPerServer).toBeLessThanOrEqual(VIEWER_SLOTS / 2);
    attacker.close();
    await idle();
    // The servers agree: at no moment did they hold more than the attacker's share plus the one real viewer.
    const held = peakConcurrentSessions(cluster, marks);
    expect(held.opened).toBeGreaterThanOrEqual(replies.ok + 1); // every accepted watch, and the real viewer
    expect(held.ended).toBe(held.opened);
    const peakTotal = held.peak;
    expect(peakTotal).toBeLessThanOrEqual(CAP.unconnectedPerConn + 1);
    recordFigure('session_caps.attacker_watches', replies.sent);
    recordFigure('session_caps.attacker_accepted', replies.ok);
    recordFigure('session_caps.attacker_refused_too_many_sessions', replies.tooMany);
    recordFigure('session_caps.attacker_peak_open_sessions', peakOpen);
    recordFigure('session_caps.peak_sessions_per_server', peakPerServer);
    recordFigure('session_caps.peak_sessions_total', peakTotal);
    recordFigure('session_caps.viewer_slots_total', VIEWER_SLOTS);
  }, 90_000);

  it('a burst of unconnected sessions is expired within the expiry time: slots freed, clients told', async () => {
    const sockets = await Promise.all([connect(cluster.hubUrl), connect(cluster.hubUrl)]);
    const closes: { sessionId: string; reason: string; atMs: number }[] = [];
    for (const s of sockets)
      s.on('session-close', (m: { sessionId: string; reason: string }) => closes.push({ ...m, atMs: performance.now() }));
    try {
      const opened = await Promise.all(sockets.map((s) => watchUntilRefused(s)));
      const openedAt = performance.now();
      const ids = opened.flatMap((o) => o.ids);
      expect(opened.map((o) => o.code)).toEqual(['too-many-sessions', 'too-many-sessions']);
      expect(ids).toHaveLength(2 * CAP.unconnectedPerConn);
      await waitFor('the burst in the table', async () => (await totalSessions(cluster)) === ids.length, TABLE_LAG_MS + 2_000, 50);
      // The positive signal: every slot free in /api/state, every client told.
      // Room for a loaded machine, yet well short of the 20 s a session used to hold its slot.
      await waitFor('slots freed', async () => (await totalSessions(cluster)) === 0, 2 * UNCONNECTED_SESSION_MS, 50);
      const freedMs = performance.now() - openedAt;
      await waitFor('clients told', () => closes.length === ids.length, 2_000, 20);
      expect(new Set(closes.map((c) => c.sessionId))).toEqual(new Set(ids));
      expect(new Set(closes.map((c) => c.reason))).toEqual(new Set(['closed-by-server']));
      // Each session's life, from the hub's answer to the client hearing it closed.
      const lifeMs = Math.max(...closes.map((c) => c.atMs - opened.find((o) => o.openedAt.has(c.sessionId))!.openedAt.get(c.sessionId)!));
      // And the hub counted them out: the same connections may open as many again.
      const again = await watchUntilRefused(sockets[0]!);
      expect(again.ids).toHaveLength(CAP.unconnectedPerConn);
      recordFigure('session_caps.burst_sessions', ids.length);
      recordFigure('session_caps.burst_freed_in_table_ms', freedMs);
      recordFigure('session_caps.burst_longest_session_life_ms', lifeMs);
      recordFigure('session_caps.unconnected_expiry_ms', UNCONNECTED_SESSION_MS);
    } finally {
      for (const s of sockets) s.close();
    }
    await idle();
  }, 60_000);

  it(`one client IP holds at most ${CAP.unconnectedPerIp} unconnected sessions across its connections; another IP is unaffected`, async () => {
    expect(VIEWER_SLOTS).toBeGreaterThan(CAP.unconnectedPerIp);
    const ip = '203.0.113.50';
    const conns = await Promise.all(
      Array.from({ length: CAP.unconnectedPerIp / CAP.unconnectedPerConn + 1 }, () => connectAs(cluster.hubUrl, ip)),
    );
    const other = await connectAs(cluster.hubUrl, '198.51.100.20');
    try {
      const perConn: number[] = [];
      const codes: string[] = [];
      for (const c of conns) {
        const r = await watchUntilRefused(c);
        perConn.push(r.ids.length);
        codes.push(r.code);
      }
      // Four connections of four, then nothing for a fifth: the IP is full, not the connection.
      expect(perConn).toEqual([...Array(CAP.unconnectedPerIp / CAP.unconnectedPerConn).fill(CAP.unconnectedPerConn), 0]);
      expect(new Set(codes)).toEqual(new Set(['too-many-sessions']));
      const refusal: Ack<WatchReply> = await ask(conns.at(-1)!, 'watch', { assetId: ASSETS[0] });
      expect(refusal).toMatchObject({ ok: false, code: 'too-many-sessions', message: expect.stringContaining('your address') });
      await waitFor(
        "the IP's sessions in the table",
        async () => (await totalSessions(cluster)) === CAP.unconnectedPerIp,
        TABLE_LAG_MS + 2_000,
        50,
      );
      // Another address still gets a session on the same servers.
      expect(await ask(other, 'watch', { assetId: ASSETS[0] })).toMatchObject({ ok: true });
      recordFigure(
        'session_caps.ip_unconnected_accepted',
        perConn.reduce((a, b) => a + b, 0),
      );
    } finally {
      for (const c of [...conns, other]) c.close();
    }
    await idle();
  }, 60_000);
});

describe('row 20: viewers filling every watch slot leave broadcasters their ingest slots', () => {
  const WATCH_SLOTS_PER_SERVER = 2;
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    servers: [
      {
        id: 'fra-1',
        region: 'eu-central',
        lat: 50.11,
        lon: 8.68,
        assets: ['demo-mandelbrot'],
        maxSessions: WATCH_SLOTS_PER_SERVER,
        ingest: true,
      },
      {
        id: 'iad-1',
        region: 'us-east',
        lat: 38.95,
        lon: -77.45,
        assets: ['demo-mandelbrot'],
        maxSessions: WATCH_SLOTS_PER_SERVER,
        ingest: true,
      },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('with every watch slot taken by a playing viewer, a broadcast still gets a primary and a backup', async () => {
    const viewers = 2 * WATCH_SLOTS_PER_SERVER;
    const swarm = spawnSwarm({ hubUrl: cluster.hubUrl, assetId: 'demo-mandelbrot', count: viewers });
    try {
      await waitFor('every viewer playing', () => swarm.bytes.every((b) => b > 0), 30_000, 50);
      await waitFor(
        'every watch slot taken in the table',
        async () => (await state(cluster)).servers.every((s) => s.sessions === WATCH_SLOTS_PER_SERVER),
        TABLE_LAG_MS + 2_000,
        50,
      );
      // The watch slots really are full: one more viewer is refused.
      const c = await connect(cluster.hubUrl);
      expect(await ask(c, 'watch', { assetId: 'demo-mandelbrot' })).toMatchObject({ ok: false, code: 'no-capacity' });
      c.close();

      const { stdout } = await run(
        process.execPath,
        publishArgs(cluster.hubUrl, join(MEDIA_DIR, 'demo-smpte.webm'), 'caps-live', ['--fast', '--json']),
        { timeout: 60_000, env: { ...process.env, BATON_LOG_LEVEL: 'warn' } },
      );
      const r = JSON.parse(stdout) as { primary: string; backup: string | null; sha256: string; stored: string[] };
      expect(r.sha256).toBe(sha256(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'))));
      expect(new Set(r.stored)).toEqual(new Set(['fra-1', 'iad-1']));
      // The viewers were playing all along: none ended or was moved while the broadcast took its slots.
      expect(swarm.events.filter((e) => e.type === 'end' || e.type === 'error' || e.type === 'hub-session-close')).toEqual([]);
      const s = await state(cluster);
      recordFigure('session_caps.ingest_with_watch_slots_full_ok', 1);
      recordFigure(
        'session_caps.watch_slots_taken',
        s.servers.reduce((a, x) => a + x.sessions, 0),
      );
      recordFigure('session_caps.ingest_slots_per_server', s.servers[0]!.maxIngestSessions);
    } finally {
      await swarm.kill();
    }
  }, 90_000);
});
