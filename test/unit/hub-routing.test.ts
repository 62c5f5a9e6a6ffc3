// The hub core's routing against scripted server peers: one retry budget per watch, and director answers parsed by schema.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HubCore } from '../../signaling/core/hub-core.js';
import { NODE_CLOCK, type HubLink, type ServerPeer } from '../../signaling/core/link.js';
import { DIRECTOR_ASKS_PER_REQUEST } from '../../signaling/core/routing-budget.js';
import type { ServerDescriptor } from '../../signaling/protocol/types.js';

const log = pino({ level: 'silent' });
const link: HubLink = { publishDeltas: () => {}, publishDecision: () => {}, toClient: () => {} };
const DIRECTOR_TIMEOUT_MS = 20;

const descriptor = (id: string): ServerDescriptor => ({
  id,
  region: 'r',
  lat: 0,
  lon: 0,
  roles: ['edge'],
  maxSessions: 10,
  uplinkMbps: 100,
  load: { sessions: 0, egressMbps: 0, cpu: 0 },
  cache: [],
  storage: [{ id: 'clip', bytes: 1_000, mime: 'video/webm' }],
  live: [],
});

/** What a peer does with each `select`: time out, or answer (given the epoch it was asked for). */
type SelectStep = 'silent' | ((epoch: number) => unknown);

/**
 * Three registered servers whose answers follow one shared script, in the order they are asked. With
 * `along`, each is a director on another hub whose hub offers the session to the chosen server (`selectThenOpen`).
 */
function cluster(script: SelectStep[], sessionOpen: () => unknown, along = false, ids = ['a', 'b', 'c']) {
  const asked: { event: string; server: string }[] = [];
  /** How long the hub let each select wait, in order. */
  const waits: number[] = [];
  const peers = new Map<string, ServerPeer>();
  const sent: { event: string; server: string; sessionId: string }[] = [];
  const registeredWhenOpened: (string | undefined)[] = [];
  const opens: unknown[] = [];
  const core = new HubCore({
    link,
    clock: NODE_CLOCK,
    log,
    heartbeatMs: 60_000,
    rotationMs: 0,
    directorTimeoutMs: DIRECTOR_TIMEOUT_MS,
    publish: { streamKeys: [], streamKeySecret: undefined, resolveLocation: () => null, ipPlace: () => null },
  });
  for (const id of ids) {
    const peer: ServerPeer = {
      connected: true,
      send: (event, msg) => void sent.push({ event, server: id, sessionId: (msg as { sessionId: string }).sessionId }),
      disconnect: () => {},
      ask: (event, msg, timeoutMs) => {
        asked.push({ event, server: id });
        if (event === 'select') waits.push(timeoutMs);
        if (event === 'session-open') opens.push(msg);
        const step = event === 'select' ? (script.shift() ?? 'silent') : () => sessionOpen();
        if (step === 'silent') return new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs));
        return Promise.resolve(step((msg as { epoch: number }).epoch));
      },
    };
    if (along)
      peer.selectThenOpen = async (msg, timeoutMs, open, _openTimeoutMs, opened) => {
        asked.push({ event: 'select', server: id });
        waits.push(timeoutMs);
        const step = script.shift() ?? 'silent';
        if (step === 'silent') throw new Error('timeout');
        const select = step((msg as { epoch: number }).epoch) as { ok: boolean; serverId: string };
        if (!select.ok) return { select };
        asked.push({ event: 'session-open (along)', server: select.serverId });
        opened(select);
        registeredWhenOpened.push(core.relay.sessions.get(open.sessionId)?.serverId);
        return { select, open: { ok: true, value: sessionOpen() } };
      };
    peers.set(id, peer);
    expect(core.register(peer, descriptor(id), log)).toMatchObject({ ok: true });
  }
  return { core, asked, waits, peers, sent, registeredWhenOpened, opens };
}

const pick = (serverId: string) => (epoch: number) => ({ ok: true, serverId, reason: 'storage', loadFactor: 0.1, epoch });

describe('hub routing', () => {
  it('spends one budget of director asks per watch, failovers and second tries together', async () => {
    // Two directors silent, the third answers; the server refuses; then the same again.
    // Nested retries asked 6 times (2 placements × 3 directors); one budget stops at 3.
    const { core, asked } = cluster(['silent', 'silent', pick('c'), 'silent', 'silent', pick('a')], () => ({
      ok: false,
      code: 'no-capacity',
      message: 'full',
    }));
    const r = await core.watch('client-1', null, { assetId: 'clip' });
    expect(r).toMatchObject({ ok: false, code: 'no-capacity' });
    expect(asked.filter((a) => a.event === 'select')).toHaveLength(DIRECTOR_ASKS_PER_REQUEST);
    expect(asked.filter((a) => a.event === 'session-open')).toEqual([{ event: 'session-open', server: 'c' }]);
    expect(core.relay.sessions.size).toBe(0);
    expect(core.relay.sessions.tally('conn', 'client-1')).toEqual({ open: 0, unconnected: 0 });
  });

  it('waits twice as long for each director after a silent one: a starved cluster answers the later, longer ask', async () => {
    for (const along of [false, true]) {
      const { core, waits } = cluster(['silent', 'silent', pick('c')], () => ({ ok: true }), along);
      expect(await core.watch('client-1', null, { assetId: 'clip' })).toMatchObject({ ok: true, server: { id: 'c' } });
      expect(waits).toEqual([DIRECTOR_TIMEOUT_MS, 2 * DIRECTOR_TIMEOUT_MS, 4 * DIRECTOR_TIMEOUT_MS]);
    }
  });

  it('one server: a silent director is asked again, given twice as long, and keeps its epoch', async () => {
    // A flash crowd of 100 viewers on one server: a select queued past 500 ms was final (the one server "tried"), and
    // the rotation it caused named the same server with a new epoch, fencing the answers it was still giving.
    const { core, asked, waits } = cluster(['silent', pick('a')], () => ({ ok: true }), false, ['a']);
    const epoch = core.table.director!.epoch;
    expect(await core.watch('client-1', null, { assetId: 'clip' })).toMatchObject({ ok: true, server: { id: 'a' } });
    expect(asked.filter((x) => x.event === 'select')).toHaveLength(2);
    expect(waits).toEqual([DIRECTOR_TIMEOUT_MS, 2 * DIRECTOR_TIMEOUT_MS]);
    expect(core.table.director).toMatchObject({ id: 'a', epoch });
  });

  it('one server: an answer fenced for its epoch (a rotation overtook it) is asked again of the new director', async () => {
    const { core, asked } = cluster([(epoch) => pick('a')(epoch - 1), pick('a')], () => ({ ok: true }), false, ['a']);
    expect(await core.watch('client-1', null, { assetId: 'clip' })).toMatchObject({ ok: true, server: { id: 'a' } });
    expect(asked.filter((x) => x.event === 'select')).toHaveLength(2);
  });

  it("hands the watch's offer and delivery limit to the server in its session-open", async () => {
    const { core, opens } = cluster([pick('b')], () => ({ ok: true }));
    const offer = { type: 'offer', sdp: 'v=0' };
    expect(await core.watch('client-1', null, { assetId: 'clip', offer, limitBps: 400_000 })).toMatchObject({ ok: true });
    expect(opens).toEqual([expect.objectContaining({ kind: 'watch', assetId: 'clip', offset: 0, offer, limitBps: 400_000 })]);
  });

  it('when only servers this watch failed on are left, says why they failed, not that every holder is excluded', async () => {
    const excluded = () => ({
      ok: false,
      code: 'no-capacity',
      message: 'every server holding clip is excluded or over the load threshold',
    });
    const { core, asked } = cluster([pick('c'), excluded], () => ({
      ok: false,
      code: 'timeout',
      message: 'server c did not accept the session in time',
    }));
    const r = await core.watch('client-1', null, { assetId: 'clip' });
    expect(r).toMatchObject({ ok: false, code: 'timeout', message: 'server c did not accept the session in time' });
    expect(asked.map((a) => `${a.event}@${a.server}`)).toEqual(['select@a', 'session-open@c', 'select@a']);
    expect(core.relay.sessions.size).toBe(0);
  });

  it('refuses a malformed director answer with a clear error and opens no session', async () => {
    const { core, asked } = cluster([(epoch) => ({ ok: true, serverId: 42, reason: 'storage', loadFactor: 0.1, epoch })], () => ({
      ok: true,
    }));
    const r = await core.watch('client-1', null, { assetId: 'clip' });
    expect(r).toMatchObject({ ok: false, code: 'internal', message: expect.stringMatching(/malformed.*serverId/) });
    expect(asked.map((a) => a.event)).toEqual(['select']);
    expect(core.relay.sessions.size).toBe(0);
  });

  it('several hubs: the director’s hub offers the session along with its select, registered here before the server can speak of it', async () => {
    const { core, asked, registeredWhenOpened } = cluster([pick('b')], () => ({ ok: true, answer: { type: 'answer', sdp: 'v=0' } }), true);
    const r = await core.watch('client-1', null, { assetId: 'clip' });
    expect(r).toMatchObject({ ok: true, server: { id: 'b' }, reason: 'storage', answer: { type: 'answer', sdp: 'v=0' } });
    expect(asked.map((a) => `${a.event}@${a.server}`)).toEqual(['select@a', 'session-open (along)@b']);
    expect(registeredWhenOpened).toEqual(['b']);
    expect(core.relay.sessions.get((r as { sessionId: string }).sessionId)?.serverId).toBe('b');
    expect(core.relay.sessions.size).toBe(1);
  });

  it('several hubs: a fenced answer’s session offered along is ended, and the next placement offers a new session id', async () => {
    const stale = (epoch: number) => ({ ok: true, serverId: 'c', reason: 'storage', loadFactor: 0.1, epoch: epoch + 1 });
    const { core, asked, sent } = cluster([stale, pick('b')], () => ({ ok: true }), true);
    const r = await core.watch('client-1', null, { assetId: 'clip' });
    expect(r).toMatchObject({ ok: true, server: { id: 'b' } });
    // The fenced pick's session on c is closed; the second select is a plain one and the hub offers the session itself.
    expect(asked.map((a) => `${a.event}@${a.server}`)).toEqual(['select@a', 'session-open (along)@c', 'select@a', 'session-open@b']);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ event: 'session-close', server: 'c' });
    expect(sent[0]!.sessionId).not.toBe((r as { sessionId: string }).sessionId);
    expect([...core.relay.sessions.values()].map((x) => x.serverId)).toEqual(['b']);
  });

  it('several hubs: a server’s row read back as another process ends the old one’s sessions and tells the routes; the same process keeps them', async () => {
    const { core } = cluster([pick('b')], () => ({ ok: true }));
    const joined: [string, string | undefined][] = [];
    core.onServerJoined = (id, instance) => void joined.push([id, instance]);
    expect(await core.watch('client-1', null, { assetId: 'clip' })).toMatchObject({ ok: true, server: { id: 'b' } });
    // As the shared log delivers a registration made on another hub, with the row still in the table.
    const rejoin = (instance?: string) =>
      core.applyShared([
        {
          v: core.table.version + 1,
          d: { type: 'server-joined', server: { ...descriptor('b'), ...(instance ? { instance } : {}), joinedAtMs: 0 } },
        },
      ]);
    expect(rejoin()).toBe('applied');
    expect(core.relay.sessions.size).toBe(1);
    expect(rejoin('b-process-2')).toBe('applied');
    expect(core.relay.sessions.size).toBe(0);
    expect(core.table.get('b')?.instance).toBe('b-process-2');
    expect(joined).toEqual([
      ['b', undefined],
      ['b', 'b-process-2'],
    ]);
  });

  it('several hubs: a server registered here whose row another hub removed, or a snapshot lacks, is made to register again', () => {
    const { core, peers } = cluster([], () => ({ ok: true }));
    const closed: string[] = [];
    for (const [id, peer] of peers) peer.disconnect = () => void closed.push(id);
    // The lease holder's sweep on another hub, read back: b is still connected here, so it must come back.
    core.applyShared([{ v: core.table.version + 1, d: { type: 'server-left', id: 'b', reason: 'missed-heartbeats' } }]);
    expect(closed).toEqual(['b']);
    expect(core.members.get('b')).toBeUndefined();
    // A snapshot without c (the table jumped after a gap): c the same; a stays, its row is there.
    const snap = core.table.snapshot();
    core.loadShared({ ...snap, version: snap.version + 5, servers: snap.servers.filter((x) => x.id !== 'c') });
    expect(closed).toEqual(['b', 'c']);
    expect(core.members.ids()).toEqual(['a']);
  });

  it('places the watch when the director answers well, within the budget', async () => {
    const { core, asked } = cluster(['silent', pick('b')], () => ({ ok: true }));
    const r = await core.watch('client-1', null, { assetId: 'clip', offset: 10 });
    expect(r).toMatchObject({ ok: true, server: { id: 'b' }, reason: 'storage' });
    expect(asked.map((a) => `${a.event}@${a.server}`)).toEqual(['select@a', 'select@b', 'session-open@b']);
    expect(core.relay.sessions.size).toBe(1);
  });

  it('answers no-director only before a request asked any director: after an ask it answers why that ask failed', async () => {
    // The director goes silent and every server leaves while it is asked: none is left to rotate to.
    const gone: SelectStep = () => {
      for (const [id, peer] of peers) core.serverDisconnected(id, peer, 'gone');
      return new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), DIRECTOR_TIMEOUT_MS));
    };
    const { core, asked, peers } = cluster([gone], () => ({ ok: true }));
    expect(await core.watch('client-1', null, { assetId: 'clip' })).toMatchObject({ ok: false, code: 'timeout' });
    expect(asked.map((a) => a.event)).toEqual(['select']);
    // Nothing asked: the viewer may ask again at no cost to any director.
    expect(await core.watch('client-1', null, { assetId: 'clip' })).toMatchObject({ ok: false, code: 'no-director' });
    expect(asked).toHaveLength(1);
  });
});
