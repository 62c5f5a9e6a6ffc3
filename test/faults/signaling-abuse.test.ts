// Fault rows 7, 11 and 12: forged, expired and replayed server tokens; a relay that alters the DTLS
// fingerprint; and clients or servers signalling into a session they are not part of.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { Cluster, MEDIA_DIR, SECRET, waitFor, waitForOutput } from '../helpers/cluster.js';
import { mintServerToken, mintWithServerKey, serverKeyFor } from '../../signaling/auth.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import type { ServeStats } from '../../node-app/delivery/serve-options.js';
import type { VersionedDelta } from '../../signaling/protocol/index.js';
import { recordFigure } from './helpers/figures.js';
import { ask, connect, connectServer, getJson, serverUrl, sleep } from './helpers/net.js';
import { openRawViewer } from './helpers/raw-viewer.js';

const HEARTBEAT_MS = 1_000; // Baton's default: a shorter one removes servers merely starved on 2 busy cores
/** How long a viewer behind a fingerprint-altering relay is watched for any connection or byte. */
const MITM_WATCH_MS = 3_000;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

/** Connects to /server with `token`; resolves with the hub's refusal, or null if it let us in. */
async function refusal(hubUrl: string, token: unknown): Promise<string | null> {
  try {
    const s = await connect(hubUrl, '/server', token === undefined ? undefined : { token });
    s.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Flips one hex digit of the DTLS fingerprint in an offer or answer. */
function alterFingerprint(data: unknown): unknown {
  const d = data as { type?: string; sdp?: string };
  if (typeof d?.sdp !== 'string') return data;
  const sdp = d.sdp.replace(/(a=fingerprint:sha-256 )([0-9A-F])/, (_m, head: string, digit: string) => head + (digit === 'A' ? 'B' : 'A'));
  if (sdp === d.sdp) throw new Error('no fingerprint to alter');
  return { ...d, sdp };
}

describe('signaling abuse', () => {
  const cluster = new Cluster({
    heartbeatMs: HEARTBEAT_MS,
    rotationMs: 0,
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68 },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45 },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(() => cluster.stop());

  it('row 7: forged, expired and replayed server tokens are refused before anything enters the table', async () => {
    const ids = async () => (await cluster.state()).servers.map((s) => s.id).sort();
    const before = await ids();
    const dashboard = await connect(cluster.hubUrl, '/dashboard');
    const joined: string[] = [];
    dashboard.on('deltas', (batch: VersionedDelta[]) => {
      for (const { d } of batch) if (d.type === 'server-joined') joined.push(d.server.id);
    });
    const failuresBefore = await metric(cluster.hubUrl, 'baton_hub_auth_failures_total');
    const now = Date.now();
    const good = mintServerToken(SECRET, 'replay-1', now);
    const [head, id, exp, nonce, mac] = good.split('.');
    const attempts: [string, unknown, RegExp][] = [
      ['no token', undefined, /missing/],
      ['garbage', 'let me in', /malformed/],
      ['oversized', 'x'.repeat(600), /missing/],
      ['wrong secret', mintServerToken('not-the-secret', 'forger-1', now), /signature/],
      ['id swapped under a valid signature', [head, 'fra-2', exp, nonce, mac].join('.'), /signature/],
      ['expiry pushed out under a valid signature', [head, id, String(now + 60_000), nonce, mac].join('.'), /signature/],
      ['other version', ['baton3', id, exp, nonce, mac].join('.'), /malformed/],
      ["one server's key signing for another", mintWithServerKey(serverKeyFor(SECRET, 'fra-1'), 'fra-2', now), /signature/],
      ['expired', mintServerToken(SECRET, 'late-1', now - 60_000), /expired/],
      ['expiry too far out', mintServerToken(SECRET, 'early-1', now, 60 * 60_000), /too far/],
      ['invalid id under a valid signature', mintServerToken(SECRET, 'hub/admin', now), /invalid server id/],
    ];
    for (const [what, token, reason] of attempts) {
      const r = await refusal(cluster.hubUrl, token);
      expect(r, what).toMatch(/^unauthorized: /);
      expect(r, what).toMatch(reason);
    }
    // Replayed: once accepted (and registered), the same token never works again, connected or not.
    const first = await connect(cluster.hubUrl, '/server', { token: good });
    expect(await refusal(cluster.hubUrl, good)).toMatch(/replayed/);
    first.close();
    expect(await refusal(cluster.hubUrl, good)).toMatch(/replayed/);
    // And the real thing: a `baton server` with the wrong secret gives up and exits.
    const forger = await cluster.startServer(
      { id: 'forger-1', region: 'x', lat: 0, lon: 0, assets: [] },
      { secret: 'wrong-cluster-secret', waitRegistered: false },
    );
    await waitForOutput(forger, /unauthorized/);
    expect(await forger.exited).not.toBe(0);
    cluster.servers.delete('forger-1');

    await sleep(2 * HEARTBEAT_MS);
    dashboard.close();
    expect(joined).toEqual([]);
    expect(await ids()).toEqual(before);
    const refused = (await metric(cluster.hubUrl, 'baton_hub_auth_failures_total')) - failuresBefore;
    expect(refused).toBeGreaterThanOrEqual(attempts.length + 3);
    recordFigure('server_auth.refused_attempts', refused);
    recordFigure('server_auth.table_entries_from_refused', joined.length);
  }, 60_000);

  it('row 7: bad tokens tried over and over on one connection: one warning, and the connection closed at the third', async () => {
    const warnings = () =>
      cluster
        .hub!.output()
        .split('\n')
        .filter((l) => l.includes('"server refused"') && /"level":40/.test(l)).length;
    const before = warnings();
    const ws = new WebSocket(`${cluster.hubUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    ws.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    let sent = 0;
    let open = true;
    void closed.then(() => (open = false));
    while (open && sent < 5_000) {
      ws.send('40/server,{"token":"x"}');
      sent++;
      if (sent % 50 === 0) await sleep(1);
    }
    await closed;
    await sleep(200);
    expect(warnings() - before).toBe(1);
    recordFigure('server_auth.bad_tokens_sent_before_close', sent);
  }, 30_000);

  it('row 11, control: the same relay passing signals unaltered connects and delivers', async () => {
    const v = await openRawViewer(cluster.hubUrl, 'demo-smpte', { toServer: (d) => d, toViewer: (d) => d });
    try {
      await waitFor('bytes through an honest relay', () => v.bytes > 0, 10_000);
    } finally {
      await v.close();
    }
  });

  for (const side of ['offer', 'answer'] as const) {
    it(`row 11: an altered DTLS fingerprint in the relayed ${side} means no connection and no bytes`, async () => {
      const v = await openRawViewer(
        cluster.hubUrl,
        'demo-smpte',
        side === 'offer' ? { toServer: alterFingerprint } : { toViewer: alterFingerprint },
      );
      try {
        const url = await serverUrl(cluster, v.server);
        const stats = async () =>
          (await getJson<{ sessionStats: (ServeStats & { sessionId: string })[] }>(`${url}/api/status`)).sessionStats.find(
            (s) => s.sessionId === v.sessionId,
          );
        // A clean connection on loopback takes well under a second; watch several times that long.
        let maxSent = 0;
        let serverState = 'connecting';
        for (let i = 0; i < MITM_WATCH_MS / 100; i++) {
          const s = await stats();
          if (s) maxSent = Math.max(maxSent, s.bytesSent);
          serverState = s?.state ?? 'closed';
          await sleep(100);
        }
        expect(v.connected).toBe(false);
        expect(v.bytes).toBe(0);
        expect(maxSent).toBe(0);
        expect(['connecting', 'closed']).toContain(serverState);
        // One side may already have given up; the other would at its connect timeout.
        recordFigure(`dtls_mitm.${side}.bytes_delivered`, Math.max(maxSent, v.bytes));
        recordFigure(`dtls_mitm.${side}.server_gave_up_within_watch`, serverState === 'closed' ? 1 : 0);
        recordFigure(`dtls_mitm.${side}.viewer_gave_up_within_watch`, v.closed ? 1 : 0);
      } finally {
        await v.close();
      }
    }, 20_000);
  }

  it('row 12: signaling for a session one is not part of is ignored and logged; that session is unaffected', async () => {
    const source = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
    const rejectedBefore = await metric(cluster.hubUrl, 'baton_hub_rejected_messages_total{code="not-party"}');
    const outputBefore = cluster.hub!.output().length;
    const intruder = await connect(cluster.hubUrl);
    const rogue: Socket = await connectServer(cluster.hubUrl, 'rogue-sig');
    let attacked: Promise<void> | undefined;
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-testsrc', timeoutMs: 60_000 }, (_b, viewer) => {
      const sessionId = viewer.session?.sessionId;
      if (attacked || !sessionId) return;
      attacked = (async () => {
        intruder.emit('signal', { sessionId, data: { type: 'offer', sdp: 'v=0\r\n' } });
        intruder.emit('signal', {
          sessionId,
          data: { type: 'candidate', candidate: { candidate: 'a=candidate:1 1 UDP 1 10.9.9.9 9 typ host', sdpMid: '0' } },
        });
        intruder.emit('leave', { sessionId });
        rogue.emit('signal', { sessionId, data: { type: 'answer', sdp: 'v=0\r\n' } });
        rogue.emit('session-close', { sessionId });
      })();
    });
    await attacked;
    expect(r.failovers).toEqual([]);
    expect(r.bytes).toBe(source.length);
    expect(r.sha256).toBe(sha256(source));
    // Another client's own session still works.
    const own = await ask(intruder, 'watch', { assetId: 'demo-smpte' });
    expect(own).toMatchObject({ ok: true });
    intruder.emit('leave', { sessionId: own.sessionId });
    intruder.close();
    rogue.close();

    const rejected = (await metric(cluster.hubUrl, 'baton_hub_rejected_messages_total{code="not-party"}')) - rejectedBefore;
    expect(rejected).toBeGreaterThanOrEqual(5);
    const log = cluster.hub!.output().slice(outputBefore);
    expect(log).toMatch(/signal for a session this client is not part of/);
    expect(log).toMatch(/leave for a session this client is not part of/);
    expect(log).toMatch(/signal for session .* ignored: not a party/);
    expect(log).toMatch(/session-close for .* ignored: not a party/);
    recordFigure('signal_hijack.ignored_messages', rejected);
  });
});
