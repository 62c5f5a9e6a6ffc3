// Broadcasting end to end: `baton publish` and the Publisher against a real hub and real servers, over real WebRTC on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { BATON, Cluster, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { publishFile } from '../../node-app/ingest/node-publisher.js';
import { SimplePeer, nodeWrtc } from '../../node-app/webrtc/peer.js';
import { mintStreamKey } from '../../signaling/policies/stream-key.js';
import {
  decodeIngestServerFrame,
  encodeChunk,
  encodeIngestControl,
  type IngestServerControl,
} from '../../signaling/protocol/ingest-frames.js';

const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
// The hub (a child process) inherits this: signed stream keys are accepted besides `test-key`.
const KEY_SECRET = 'broadcast-test-key-secret';
process.env.BATON_STREAM_KEY_SECRET = KEY_SECRET;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const clip = (id: string) => readFileSync(join(MEDIA_DIR, `${id}.webm`));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `baton publish …` as a child process; `during` runs while it uploads; `stdin` is piped to it (`--file -`). */
function publishCli(
  args: string[],
  during?: () => Promise<void>,
  stdin?: NodeJS.ReadableStream,
  started?: (child: ChildProcess) => void,
): Promise<Run> {
  const child = spawn(process.execPath, [BATON, 'publish', ...args], {
    cwd: ROOT,
    env: { ...process.env, BATON_LOG_LEVEL: 'warn' },
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (stdin) stdin.pipe(child.stdin!);
  started?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<Run>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return during ? during().then(() => exited) : exited;
}

function lastJson(s: string): any {
  const line = s
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  return line ? JSON.parse(line) : undefined;
}

function client(hubUrl: string, forwardedFor?: string): Promise<Socket> {
  const s = io(`${hubUrl}/client`, {
    transports: ['websocket'],
    reconnection: false,
    ...(forwardedFor ? { extraHeaders: { 'x-forwarded-for': forwardedFor } } : {}),
  });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

describe('broadcast: publish to a primary and a backup entry server', () => {
  const cluster = new Cluster({ rotationMs: 0, hubArgs: ['--trusted-proxies', '127.0.0.1'] });
  const storageOf = (id: string) => cluster.servers.get(id)!.storage;
  const fileSha = (server: string, id: string) => sha256(readFileSync(join(storageOf(server), `${id}.webm`)));

  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('`baton publish --fast --json` lands byte-identical copies of the clip on both entry servers', async () => {
    const src = clip('demo-smpte');
    const r = await publishCli([
      '--hub',
      cluster.hubUrl,
      '--file',
      join(MEDIA_DIR, 'demo-smpte.webm'),
      '--location',
      'Lisbon',
      '--stream-key',
      'test-key',
      '--stream-id',
      'bc-fast',
      '--fast',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({
      streamId: 'bc-fast',
      primary: 'fra-1',
      backup: 'iad-1',
      bytes: src.length,
      sha256: sha256(src),
      failovers: [],
    });
    expect(out.stored.sort()).toEqual(['fra-1', 'iad-1']);
    // Both copies carry the stream and its framing: a little over 2× the stream's bytes.
    expect(out.wireBytes / src.length).toBeLessThan(2.05);
    for (const server of ['fra-1', 'iad-1']) expect(fileSha(server, 'bc-fast')).toBe(sha256(src));
    expect(existsSync(join(storageOf('sin-1'), 'bc-fast.webm'))).toBe(false);
    // In the catalog on both, and no longer live anywhere.
    await waitFor('bc-fast in the catalog of both servers', async () => {
      const c = await client(cluster.hubUrl);
      try {
        const r2 = await c.timeout(5_000).emitWithAck('catalog');
        const e = r2.assets.find((a: { id: string }) => a.id === 'bc-fast');
        return e && !e.live && e.holders.length === 2 && e.bytes === src.length;
      } finally {
        c.close();
      }
    });
  }, 60_000);

  it('`baton publish --file -`: a live encoder piped in (ffmpeg -re) is sent as it comes, watched live, stored byte-identical on both', async () => {
    // 4 s of the clip, remuxed live: ffmpeg writes each block when its time comes, as OBS or GStreamer would.
    const ffmpeg = spawn('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-t', '4', '-i', join(MEDIA_DIR, 'demo-smpte.webm')],
      ...['-c', 'copy', '-f', 'webm', '-live', '1', '-flush_packets', '1', 'pipe:1'],
    ]);
    const sent = createHash('sha256');
    let sentBytes = 0;
    ffmpeg.stdout.on('data', (b: Buffer) => {
      sent.update(b);
      sentBytes += b.length;
    });
    // The encoder's output reaches the publisher as it comes; its end is held until a viewer got live bytes (at
    // most 30 s), so "watched live" does not depend on a loaded machine joining within the clip's 4 s.
    const input = new PassThrough();
    ffmpeg.stdout.pipe(input, { end: false });
    let inputEnded = false;
    let firstLive!: () => void;
    const gotFirstLive = new Promise<void>((r) => (firstLive = r));
    ffmpeg.stdout.on('end', () => {
      void Promise.race([gotFirstLive, delay(30_000, undefined, { ref: false })]).then(() => {
        inputEnded = true;
        input.end();
      });
    });
    let publisher: ChildProcess | undefined;
    const exited = publishCli(
      ['--hub', cluster.hubUrl, '--file', '-', '--location', 'Lisbon', '--stream-key', 'test-key', '--stream-id', 'bc-pipe'],
      undefined,
      input,
      (c) => (publisher = c),
    );
    // A viewer joins while the encoder is still writing.
    const streamId = 'bc-pipe';
    await waitFor('the piped stream live', async () => {
      const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: { id: string; live: boolean }[] };
      return assets.some((a) => a.live && a.id === streamId);
    });
    let liveBytes = 0;
    let gotWhileLive = false;
    const watched = watchStream({ hubUrl: cluster.hubUrl, assetId: streamId, timeoutMs: 30_000 }, (b) => {
      liveBytes += b.byteLength;
      if (!inputEnded) gotWhileLive = true;
      firstLive();
    });
    // Ctrl-C (the encoder here does not get it): the publisher says so and sends on until the input ends.
    publisher!.kill('SIGINT');
    const { code, stdout, stderr } = await exited;
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/interrupted; the broadcast ends and is finalized when the input ends/);
    const digest = sent.digest('hex');
    expect(stdout).toContain(`published ${streamId}: ${sentBytes} bytes, sha256 ${digest}, stored on`);
    for (const server of ['fra-1', 'iad-1']) expect(fileSha(server, streamId)).toBe(digest);
    await watched;
    expect(gotWhileLive).toBe(true);
    expect(liveBytes).toBeGreaterThan(0);
  }, 60_000);

  it('`baton publish --file -`: a second Ctrl-C quits at once, and says what happens to what was sent', async () => {
    const ffmpeg = spawn('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', join(MEDIA_DIR, 'demo-smpte.webm')],
      ...['-c', 'copy', '-f', 'webm', '-live', '1', '-flush_packets', '1', 'pipe:1'],
    ]);
    try {
      let publisher: ChildProcess | undefined;
      let said = '';
      const exited = publishCli(
        ['--hub', cluster.hubUrl, '--file', '-', '--location', 'Lisbon', '--stream-key', 'test-key', '--stream-id', 'bc-quit'],
        undefined,
        ffmpeg.stdout,
        (c) => {
          publisher = c;
          c.stderr!.on('data', (b: Buffer) => (said += b.toString()));
        },
      );
      await waitFor('the piped stream live', async () => {
        const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: { id: string; live: boolean }[] };
        return assets.some((a) => a.live && a.id === 'bc-quit');
      });
      // As a user presses Ctrl-C after seeing where the stream went: the catalog shows it live once an entry server
      // holds it, which can come before the CLI's own line (printed once an upload streams), and that line would
      // then fall between the two answers this test reads.
      await waitFor('the CLI saying where the stream went', () => said.includes('stream bc-quit:'));
      publisher!.kill('SIGINT');
      await waitFor('the first Ctrl-C acknowledged', () => said.includes('interrupted'));
      expect(publisher!.exitCode).toBeNull();
      publisher!.kill('SIGINT');
      const { code, stderr } = await exited;
      expect(code).toBe(130);
      expect(stderr).toMatch(/interrupted;[^\n]*\n[^\n]*quitting; the entry servers keep what arrived/);
    } finally {
      ffmpeg.kill('SIGKILL');
    }
  }, 60_000);

  it('`baton publish --file -`: a silent pipe says it is waiting for WebM; an empty one is refused', async () => {
    const input = new PassThrough();
    let said = '';
    const exited = publishCli(
      ['--hub', cluster.hubUrl, '--file', '-', '--location', 'Lisbon', '--stream-key', 'test-key', '--stream-id', 'bc-silent'],
      undefined,
      input,
      (c) => c.stderr!.on('data', (b: Buffer) => (said += b.toString())),
    );
    await waitFor('the waiting note', () => said.includes('waiting for WebM on standard input'), 15_000);
    input.end();
    const { code, stderr } = await exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(/bad-file: standard input is empty/);
  }, 60_000);

  it('primary near the typed place, backup near the IP place (different continents)', async () => {
    // Typed Tokyo → Singapore is closest; the IP is in Ashburn, Virginia → us-east.
    const c = await client(cluster.hubUrl, '3.80.0.1');
    try {
      const r = await c.timeout(5_000).emitWithAck('publish', { streamKey: 'test-key', location: 'Tokyo', streamId: 'bc-geo' });
      expect(r).toMatchObject({
        ok: true,
        ipUnknown: false,
        primary: { serverId: 'sin-1', from: { source: 'typed' } },
        backup: { serverId: 'iad-1', from: { source: 'ip', label: 'Ashburn, US' } },
      });
      c.emit('leave', { sessionId: r.primary.sessionId });
      c.emit('leave', { sessionId: r.backup.sessionId });
    } finally {
      c.close();
    }
    // The decision log shows the candidate step: the nearest servers to each place, and the pool chosen from.
    const { decisions } = (await (await fetch(`${cluster.hubUrl}/api/decisions`)).json()) as {
      decisions: { kind: string; streamId?: string; candidates?: unknown }[];
    };
    expect(decisions.find((d) => d.kind === 'publish' && d.streamId === 'bc-geo')?.candidates).toEqual({
      rule: 'nearest',
      nearestPerPlace: 3,
      nearest: ['fra-1', 'iad-1', 'sin-1'],
      pool: ['fra-1', 'iad-1', 'sin-1'],
    });
    // The same through `baton publish`: typed Berlin, IP in Singapore.
    const run = await publishCli([
      '--hub',
      cluster.hubUrl,
      '--file',
      join(MEDIA_DIR, 'demo-smpte.webm'),
      '--location',
      'Berlin',
      '--stream-key',
      'test-key',
      '--stream-id',
      'bc-geo2',
      '--fast',
      '--json',
      '--forwarded-for',
      '13.228.0.1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson(run.stdout)).toMatchObject({ primary: 'fra-1', backup: 'sin-1', ipUnknown: false });
  }, 60_000);

  it('refuses invalid and unknown keys, unknown places and bad stream ids; `baton publish` exits non-zero with the reason', async () => {
    const c = await client(cluster.hubUrl);
    try {
      const ask = (req: unknown) => c.timeout(5_000).emitWithAck('publish', req);
      expect(await ask({ streamKey: 'wrong-key', location: 'Lisbon' })).toMatchObject({ ok: false, code: 'unauthorized' });
      expect(await ask({ streamKey: '', location: 'Lisbon' })).toMatchObject({ ok: false, code: 'bad-request' });
      expect(await ask({ location: 'Lisbon' })).toMatchObject({ ok: false, code: 'bad-request' });
      expect(await ask({ streamKey: 'test-key', location: 'Xyzzy Nowhereville' })).toMatchObject({ ok: false, code: 'unknown-place' });
      expect(await ask({ streamKey: 'test-key', location: { lat: 95, lon: 0 } })).toMatchObject({ ok: false, code: 'bad-request' });
      expect(await ask({ streamKey: 'test-key', location: 'Lisbon', streamId: '../etc/passwd' })).toMatchObject({
        ok: false,
        code: 'bad-request',
      });
      // A rendition's name: a media server would delete the recording as a rendition without its source.
      expect(await ask({ streamKey: 'test-key', location: 'Lisbon', streamId: 'bc-talk__240p' })).toMatchObject({
        ok: false,
        code: 'bad-request',
        message: expect.stringMatching(/names a rendition/),
      });
      // A finished stream's id is taken.
      expect(await ask({ streamKey: 'test-key', location: 'Lisbon', streamId: 'bc-fast' })).toMatchObject({ ok: false, code: 'conflict' });
      // Signed keys: an expired one says so; one for another stream is refused; a valid one names the stream.
      const expired = mintStreamKey(KEY_SECRET, { expiresAtMs: Date.now() - 1000 });
      expect(await ask({ streamKey: expired, location: 'Lisbon' })).toMatchObject({
        ok: false,
        code: 'unauthorized',
        message: expect.stringMatching(/expired/),
      });
      const forShow = mintStreamKey(KEY_SECRET, { expiresAtMs: Date.now() + 60_000, streamId: 'bc-show' });
      expect(await ask({ streamKey: forShow, location: 'Lisbon', streamId: 'bc-other' })).toMatchObject({
        ok: false,
        code: 'unauthorized',
      });
      expect(
        await ask({ streamKey: mintStreamKey('wrong-secret', { expiresAtMs: Date.now() + 60_000 }), location: 'Lisbon' }),
      ).toMatchObject({ ok: false, code: 'unauthorized' });
      const signed = await ask({ streamKey: forShow, location: 'Lisbon' });
      expect(signed).toMatchObject({ ok: true, streamId: 'bc-show' });
      c.emit('leave', { sessionId: signed.primary.sessionId });
      c.emit('leave', { sessionId: signed.backup.sessionId });
    } finally {
      c.close();
    }
    const bad = await publishCli([
      '--hub',
      cluster.hubUrl,
      '--file',
      join(MEDIA_DIR, 'demo-smpte.webm'),
      '--location',
      'Lisbon',
      '--stream-key',
      'nope',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unauthorized: unknown stream key\n {2}check --stream-key/);
    const nowhere = await publishCli([
      '--hub',
      cluster.hubUrl,
      '--file',
      join(MEDIA_DIR, 'demo-smpte.webm'),
      '--location',
      'Xyzzy Nowhereville',
      '--stream-key',
      'test-key',
      '--json',
    ]);
    expect(nowhere.code).not.toBe(0);
    expect(lastJson(nowhere.stdout)).toMatchObject({ ok: false, code: 'unknown-place' });
    expect(nowhere.stderr).toMatch(/unknown place: Xyzzy Nowhereville\n {2}give --location a city the hub knows .*38\.72,-9\.14/);
  }, 60_000);

  it('an entry server refuses oversized chunks, asks again after a gap, and re-acks duplicates', async () => {
    const c = await client(cluster.hubUrl);
    let peer: InstanceType<typeof SimplePeer> | undefined;
    try {
      const r = await c.timeout(5_000).emitWithAck('publish', { streamKey: 'test-key', location: 'Lisbon', streamId: 'bc-raw' });
      expect(r.ok).toBe(true);
      peer = new SimplePeer({ initiator: true, wrtc: nodeWrtc, objectMode: true, trickle: true, config: { iceServers: [] } });
      const sessionId: string = r.primary.sessionId;
      c.emit('leave', { sessionId: r.backup.sessionId });
      const inbox: IngestServerControl[] = [];
      const next = (t: string) => waitFor(`a ${t} frame`, () => inbox.find((m, i) => m.t === t && inbox.splice(i, 1)), 10_000, 10);
      peer.on('signal', (data) => c.emit('signal', { sessionId, data }));
      c.on('signal', (m: { sessionId: string; data: any }) => m.sessionId === sessionId && peer!.signal(m.data));
      peer.on('data', (d: unknown) => {
        const f = decodeIngestServerFrame(d);
        if (f.ok) inbox.push(f.frame.msg);
      });
      await new Promise<void>((resolve, reject) => {
        peer!.once('connect', () => resolve());
        peer!.once('error', reject);
      });
      peer.send(encodeIngestControl({ t: 'hello', streamId: 'bc-raw', mime: 'video/webm' }));
      expect(await next('ready')).toMatchObject({ nextSeq: 0, bytes: 0 });
      const oversized = new Uint8Array(100 * 1024);
      oversized[0] = 0x02;
      peer.send(oversized);
      expect(await next('error')).toMatchObject({ code: 'too-large', fatal: false });
      peer.send(encodeChunk(3, 30, new Uint8Array(10)));
      expect(await next('nack')).toMatchObject({ expected: 0 });
      // The first bytes of a real WebM: an entry server refuses a stream that does not start with an EBML header.
      const head = new Uint8Array(clip('demo-smpte').subarray(0, 10));
      peer.send(encodeChunk(0, 0, head));
      expect(await next('ack')).toMatchObject({ seq: 0, bytes: 10 });
      peer.send(encodeChunk(0, 0, head));
      expect(await next('ack')).toMatchObject({ seq: 0, bytes: 10 });
      // An end that disagrees with what was stored finalizes nothing.
      peer.send(encodeIngestControl({ t: 'end', bytes: 10, sha256: '0'.repeat(64) }));
      expect(await next('error')).toMatchObject({ code: 'mismatch', fatal: true });
      expect(existsSync(join(storageOf('fra-1'), 'bc-raw.webm'))).toBe(false);
    } finally {
      peer?.destroy();
      c.close();
    }
  }, 60_000);

  it('reports the live stream in the state table, and a live viewer that joins mid-upload gets the init segment, then a Cluster', async () => {
    const src = clip('demo-testsrc');
    const init = src.indexOf(CLUSTER_ID);
    const pub = publishFile({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, 'demo-testsrc.webm'),
      location: 'Lisbon',
      streamKey: 'test-key',
      streamId: 'bc-live',
      speed: 2,
    });
    pub.catch(() => undefined);
    const live = await waitFor(
      'bc-live live on both entry servers with a third of its bytes',
      async () => {
        const s = await cluster.state();
        const entries = s.servers.flatMap((x) =>
          (x.live as Array<{ id: string; live: boolean; bytes: number; peer?: string }>)
            .filter((l) => l.id === 'bc-live')
            .map((l) => ({ server: x.id, ...l })),
        );
        return entries.length === 2 && entries.every((e) => e.live && e.bytes > src.length / 3) && entries;
      },
      30_000,
      100,
    );
    expect(live.map((e) => `${e.server}→${e.peer}`).sort()).toEqual(['fra-1→iad-1', 'iad-1→fra-1']);
    const chunks: Buffer[] = [];
    const w = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'bc-live', timeoutMs: 60_000 }, (b) => chunks.push(Buffer.from(b)));
    const got = Buffer.concat(chunks);
    expect(w.reason).toBe('live');
    expect(['fra-1', 'iad-1']).toContain(w.server);
    // Joined at the live edge: the init segment, then a Cluster boundary, then everything to the end.
    expect(got.subarray(0, init).equals(src.subarray(0, init))).toBe(true);
    expect(got.subarray(init, init + 4).equals(CLUSTER_ID)).toBe(true);
    const joinedAt = src.indexOf(got.subarray(init, init + 256));
    expect(joinedAt).toBeGreaterThan(src.length / 3);
    expect(got.subarray(init).equals(src.subarray(joinedAt))).toBe(true);
    const r = await pub;
    expect(r.sha256).toBe(sha256(src));
    await waitFor('bc-live no longer live, stored on both', async () => {
      const s = await cluster.state();
      return s.servers.every((x) => !(x.live as Array<{ id: string }>).some((l) => l.id === 'bc-live'));
    });
    for (const server of ['fra-1', 'iad-1']) expect(fileSha(server, 'bc-live')).toBe(sha256(src));
  }, 90_000);

  it('SIGKILL of the primary mid-upload: the backup copy is complete and a replacement backup is filled', async () => {
    const src = clip('demo-testsrc');
    let killedAtBytes = 0;
    const r = await publishCli(
      [
        '--hub',
        cluster.hubUrl,
        '--file',
        join(MEDIA_DIR, 'demo-testsrc.webm'),
        '--location',
        'Lisbon',
        '--stream-key',
        'test-key',
        '--stream-id',
        'bc-kill',
        '--speed',
        '3',
        '--json',
      ],
      async () => {
        const part = join(storageOf('fra-1'), 'bc-kill.webm.part');
        killedAtBytes = await waitFor(
          'fra-1 holding a third of bc-kill',
          () => existsSync(part) && statSync(part).size > src.length / 3 && statSync(part).size,
          30_000,
          20,
        );
        await cluster.kill('fra-1', 'SIGKILL');
      },
    );
    expect(killedAtBytes).toBeLessThan(src.length);
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({ primary: 'fra-1', backup: 'iad-1', bytes: src.length, sha256: sha256(src) });
    expect(out.failovers).toEqual([{ from: 'fra-1', to: 'sin-1', role: 'primary' }]);
    expect(out.stored.sort()).toEqual(['iad-1', 'sin-1']);
    expect(fileSha('iad-1', 'bc-kill')).toBe(sha256(src));
    expect(fileSha('sin-1', 'bc-kill')).toBe(sha256(src));
    // The dead primary never got to finalize anything: no corrupt `bc-kill.webm` there.
    expect(readdirSync(storageOf('fra-1')).filter((f) => f === 'bc-kill.webm')).toEqual([]);
  }, 90_000);
});
