// Fault rows 4 and 13: the primary entry server SIGKILLed mid-upload, and an entry server whose disk fills up, on real clusters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BATON, Cluster, MEDIA_DIR, ROOT, THREE_SERVERS, waitFor, type ServerSpec } from '../helpers/cluster.js';
import type { Publisher, UploadInfo } from '../../client-sdk/publisher.js';
import { recordFigure } from './helpers/figures.js';
import { longestGapAfter, startLiveViewer, type LiveViewer } from './helpers/live-viewer.js';
import { pacedPublish } from './helpers/paced-publish.js';
import { mountTmpfs, type Tmpfs } from './helpers/tmpfs.js';
import { sleep } from './helpers/net.js';

const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const clip = (id: string) => readFileSync(join(MEDIA_DIR, `${id}.webm`));

/** Source bytes a copy does not hold as they are: everything past the first difference, plus any surplus. */
function bytesLost(src: Buffer, copy: Buffer): number {
  const n = Math.min(src.length, copy.length);
  let same = 0;
  while (same < n && src[same] === copy[same]) same++;
  return src.length - same + Math.max(0, copy.length - src.length);
}

function clusterStarts(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = b.indexOf(CLUSTER_ID); i >= 0; i = b.indexOf(CLUSTER_ID, i + 1)) out.push(i);
  return out;
}

const liveOn = async (cluster: Cluster, streamId: string) =>
  (await cluster.state()).servers
    .filter((s) => (s.live as Array<{ id: string; live: boolean }>).some((l) => l.id === streamId && l.live))
    .map((s) => s.id);

describe('row 4: SIGKILL the primary entry server mid-upload', () => {
  const CLIP = 'demo-testsrc';
  const STREAM = 'fault-ingest-kill';
  /** Twice the media bitrate: the 20 s clip in about 10 s. */
  const SPEED = 2;
  /** The entry server nearest Lisbon, where the broadcaster is: the primary, and the server that dies. */
  const PRIMARY = 'fra-1';
  /** Viewers started until one of each kind watches from the primary. */
  const MAX_VIEWERS_PER_KIND = 6;
  const HEARTBEAT_MS = 1_000; // Baton's default: a shorter one removes servers merely starved on 2 busy cores
  // The other servers take few sessions: each viewer weighs on their load factor, so the hub sends
  // live viewers to the primary soon (and must, once they are full); the dead primary's viewers still fit.
  const servers = THREE_SERVERS.map((s): ServerSpec => ({ ...s, assets: [], maxSessions: s.id === PRIMARY ? 100 : 8 }));
  const cluster = new Cluster({ heartbeatMs: HEARTBEAT_MS, rotationMs: 0, servers });
  const storageOf = (id: string) => cluster.servers.get(id)!.storage;
  const fileOf = (server: string) => readFileSync(join(storageOf(server), `${STREAM}.webm`));
  beforeAll(async () => {
    await cluster.start();
    // The director decides from its own replica: wait until every replica holds all three
    // servers, or a broadcast placed at once may not see the primary yet.
    for (const s of (await cluster.state()).servers) {
      await waitFor(
        `${s.id}'s replica holds every server`,
        async () => {
          const t = (await (await fetch(`${s.httpUrl}/api/table`)).json()) as { servers: unknown[] };
          return t.servers.length === servers.length;
        },
        20_000,
        50,
      );
    }
  }, 120_000);
  afterAll(() => cluster.stop());

  it('0 bytes lost on the backup; a replacement is filled; live viewers (from the start and mid-upload) continue', async () => {
    const src = clip(CLIP);
    const clusters = clusterStarts(src);
    const init = clusters[0]!;
    let publisher: Publisher | undefined;
    const failovers: { from: string; to: string; atMs: number }[] = [];
    let fromStartJoined!: () => void;
    const holdUntil = new Promise<void>((r) => (fromStartJoined = r));
    const pub = pacedPublish({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, `${CLIP}.webm`),
      streamId: STREAM,
      bytesPerSecond: (SPEED * src.length) / 20,
      // Nothing past the first Cluster until the from-start viewers are in: they read the file's own offsets.
      holds: [{ at: clusters[1]!, until: holdUntil }],
      onPublisher: (p) => {
        publisher = p;
        p.addEventListener('failover', (e) => failovers.push({ ...e.detail, atMs: performance.now() }));
      },
    });
    pub.result.catch(() => undefined);
    const reply = await pub.assigned;
    const primary = reply.primary.serverId;
    const backup = reply.backup?.serverId;
    expect(primary, 'the primary for a broadcaster in Lisbon').toBe(PRIMARY);
    expect(backup, 'the hub gave a backup').toBeDefined();
    // On the primary: the first viewers pass over every other server, and a watch the hub refuses (no-capacity: the
    // only holder it knew was the excluded backup) is final since the viewer no longer repeats a routed refusal.
    await waitFor(`${STREAM} live on ${primary}`, async () => (await liveOn(cluster, STREAM)).includes(primary), 20_000, 20);

    /** Starts viewers until one gets its first bytes from `server`; keeps them all. */
    const viewers: LiveViewer[] = [];
    const startUntilOn = async (server: string, kind: string): Promise<LiveViewer[]> => {
      const mine: LiveViewer[] = [];
      for (let i = 0; i < MAX_VIEWERS_PER_KIND; i++) {
        // Which live holder the director prefers depends on CPU noise; the row needs viewers on the
        // primary, so their first request passes over the others (failover still goes anywhere).
        const others = servers.map((s) => s.id).filter((id) => id !== server);
        const v = startLiveViewer(cluster.hubUrl, STREAM, `${kind}-${i}`, 120_000, others);
        mine.push(v);
        viewers.push(v);
        await v.firstData;
        if (v.servers[0] === server) return mine;
        // Let the hub see that server's new session before asking again.
        await sleep(2 * HEARTBEAT_MS);
      }
      throw new Error(
        `no ${kind} viewer was served by ${server} in ${MAX_VIEWERS_PER_KIND} tries (${mine.map((v) => v.servers[0]).join(', ')})`,
      );
    };
    let fromStart: LiveViewer[];
    try {
      fromStart = await startUntilOn(primary, 'from-start');
    } finally {
      fromStartJoined();
    }

    // Mid-upload viewers join at the live edge once the primary holds a third of the stream.
    const part = join(storageOf(primary), `${STREAM}.webm.part`);
    const partBytes = () => (existsSync(part) ? statSync(part).size : 0);
    await waitFor('a third of the stream on the primary', () => partBytes() > src.length / 3, 30_000, 20);
    const midUpload = await startUntilOn(primary, 'mid-upload');
    await waitFor('45% of the stream on the primary', () => partBytes() > src.length * 0.45, 30_000, 20);

    const pushedAtKill = pub.pushed();
    const killedAt = performance.now();
    const onPrimary = viewers.filter((v) => v.servers.at(-1) === primary);
    let replacement: UploadInfo | undefined;
    let filledAt: number | undefined;
    const sampler = setInterval(() => {
      replacement = publisher?.uploads().find((u) => u.serverId !== primary && u.serverId !== backup) ?? replacement;
      if (replacement && filledAt === undefined && replacement.ackedBytes >= pushedAtKill) filledAt = performance.now();
    }, 10);
    await cluster.kill(primary, 'SIGKILL');
    const result = await pub.result.finally(() => clearInterval(sampler));
    const watched = await Promise.all(viewers.map((v) => v.done));

    // The kill landed mid-upload, and a third server took the dead one's place.
    expect(pushedAtKill).toBeLessThan(src.length);
    expect(replacement, 'a replacement upload').toBeDefined();
    expect(result.sha256).toBe(sha256(src));
    expect(result.failovers).toEqual([{ from: primary, to: replacement!.serverId, role: 'primary' }]);
    expect(result.stored.sort()).toEqual([backup, replacement!.serverId].sort());

    // 0 bytes lost on the backup, and the replacement filled from chunk 0: both copies are the source.
    const lost = bytesLost(src, fileOf(backup!));
    expect(lost).toBe(0);
    expect(sha256(fileOf(backup!))).toBe(sha256(src));
    expect(sha256(fileOf(replacement!.serverId))).toBe(sha256(src));
    expect(filledAt, 'the replacement acknowledged every byte pushed before the kill').toBeDefined();
    // The dead primary never finalized anything.
    expect(readdirSync(storageOf(primary)).filter((f) => f === `${STREAM}.webm`)).toEqual([]);

    // Every viewer went on to the end of the stream; those on the primary through a failover.
    for (const [i, v] of viewers.entries()) expect(watched[i]!.reason, v.label).toBe('live');
    expect(onPrimary.length).toBeGreaterThanOrEqual(2);
    for (const v of onPrimary) {
      const w = watched[viewers.indexOf(v)]!;
      expect(w.failovers.length, `${v.label} failed over`).toBeGreaterThanOrEqual(1);
      expect(w.failovers[0]!.from, v.label).toBe(primary);
      expect(v.servers.at(-1), `${v.label} ended elsewhere`).not.toBe(primary);
    }
    // From the start: the source, byte for byte.
    for (const v of fromStart) expect(v.received().equals(src), `${v.label} received the source`).toBe(true);
    // Mid-upload: the init segment, then the Cluster at the live edge when it joined, then every byte from there to the end.
    for (const v of midUpload) {
      const got = v.received();
      expect(got.subarray(0, init).equals(src.subarray(0, init)), `${v.label}: init segment`).toBe(true);
      expect(got.subarray(init, init + 4).equals(CLUSTER_ID), `${v.label}: a Cluster after the init segment`).toBe(true);
      const joinedAt = src.indexOf(got.subarray(init, init + 256));
      // At the live edge: the latest Cluster when it joined, with a third of the stream on the primary.
      expect(joinedAt, `${v.label}: joined at the live edge`).toBeGreaterThan(src.length / 4);
      expect(got.length, `${v.label}: bytes received (the init segment, then the stream from where it joined)`).toBe(
        init + src.length - joinedAt,
      );
      expect(got.subarray(init).equals(src.subarray(joinedAt)), `${v.label}: the stream from where it joined to the end`).toBe(true);
    }

    const stalls = onPrimary.map((v) => longestGapAfter(v, killedAt));
    recordFigure('ingest_primary_kill.bytes_lost', lost);
    recordFigure('ingest_primary_kill.killed_at_bytes', pushedAtKill);
    recordFigure('ingest_primary_kill.replacement_fill_ms', filledAt! - killedAt);
    recordFigure('ingest_primary_kill.failover_ms', failovers[0]!.atMs - killedAt);
    recordFigure('ingest_primary_kill.viewer_stall_ms', Math.max(...stalls));
    recordFigure('ingest_primary_kill.viewers', viewers.length);
    recordFigure('ingest_primary_kill.viewers_failed_over', onPrimary.length);
  }, 180_000);
});

describe('row 13: disk full during ingest', () => {
  const CLIP = 'demo-mandelbrot';
  /** Smaller than the clip (4.5 MB): the full server runs out half way. */
  const DISK_BYTES = 2 * 1024 * 1024;
  const FULL = 'fra-1';
  const OTHER = 'iad-1';
  let disk: Tmpfs | undefined;
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    // Fails the row (not skips it) when this is not root: CI runs as root.
    disk = mountTmpfs(DISK_BYTES);
    cluster = new Cluster({
      heartbeatMs: 300,
      rotationMs: 0,
      servers: [
        { id: FULL, region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [], storageDir: disk.dir },
        { id: OTHER, region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: [] },
      ],
    });
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      disk?.unmount();
    }
  });

  /** The full server keeps no trace of the stream: no finalized file, and its `.part` gone. */
  const assertNoCopyOnFull = async (streamId: string) => {
    await waitFor(`${streamId}.webm.part removed on ${FULL}`, () => !existsSync(join(disk!.dir, `${streamId}.webm.part`)), 10_000);
    expect(readdirSync(disk!.dir).filter((f) => f.startsWith(streamId))).toEqual([]);
    expect(cluster!.servers.get(FULL)!.child.exitCode, `${FULL} is still running`).toBeNull();
  };
  const otherCopy = (streamId: string) => readFileSync(join(cluster!.servers.get(OTHER)!.storage, `${streamId}.webm`));

  it('the Publisher is told disk-full by that server; nothing is finalized there; the other server stores the source', async () => {
    const c = cluster!;
    const src = clip(CLIP);
    const STREAM = 'fault-disk-full';
    const failures: (UploadInfo & { atWallMs: number })[] = [];
    const fatal: string[] = [];
    const pub = pacedPublish({
      hubUrl: c.hubUrl,
      file: join(MEDIA_DIR, `${CLIP}.webm`),
      streamId: STREAM,
      // 4× the media bitrate: 20 s of media in about 5 s.
      bytesPerSecond: (4 * src.length) / 20,
      onPublisher: (p) => {
        p.addEventListener('health', (e) => e.detail.state === 'failed' && failures.push({ ...e.detail, atWallMs: Date.now() }));
        p.addEventListener('error', (e) => fatal.push(`${e.detail.code}: ${e.detail.message}`));
      },
    });
    const reply = await pub.assigned;
    expect([reply.primary.serverId, reply.backup?.serverId].sort()).toEqual([FULL, OTHER]);
    const result = await pub.result;

    // Told: the full server's upload failed with disk-full, naming the server; the broadcast itself went on.
    expect(fatal).toEqual([]);
    expect(failures.map((f) => ({ serverId: f.serverId, code: f.error?.code }))).toEqual([{ serverId: FULL, code: 'disk-full' }]);
    expect(failures[0]!.error!.message).toMatch(new RegExp(`^${FULL}: .*disk is full`));
    // It had stored part of the stream, never all of it.
    expect(failures[0]!.ackedBytes).toBeLessThan(src.length);

    // The other entry server continued: its finalized copy is the source.
    expect(result).toMatchObject({ streamId: STREAM, bytes: src.length, sha256: sha256(src), stored: [OTHER] });
    const lost = bytesLost(src, otherCopy(STREAM));
    expect(lost).toBe(0);
    await assertNoCopyOnFull(STREAM);
    // The hub's table agrees: the stream is stored on the other server only, and live nowhere.
    await waitFor(`${STREAM} stored on ${OTHER} only`, async () => {
      const s = await c.state();
      return (
        (await liveOn(c, STREAM)).length === 0 &&
        s.servers.find((x) => x.id === OTHER)!.storageCount >= 1 &&
        s.servers.find((x) => x.id === FULL)!.storageCount === 0
      );
    });

    // How long from the server's failure (its log) to the broadcaster hearing of it.
    const failedLog = c.servers
      .get(FULL)!
      .output()
      .split('\n')
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { time?: number; msg?: string; stream?: string; code?: string }) : {}))
      .find((l) => l.msg === 'stream failed on this server' && l.stream === STREAM);
    expect(failedLog?.code).toBe('disk-full');
    recordFigure('ingest_disk_full.told_ms', Math.max(0, failures[0]!.atWallMs - failedLog!.time!));
    recordFigure('ingest_disk_full.full_server_acked_bytes', failures[0]!.ackedBytes);
    recordFigure('ingest_disk_full.disk_bytes', DISK_BYTES);
    recordFigure('ingest_disk_full.other_copy_bytes_lost', lost);
  }, 120_000);

  it('`baton publish --json` names the disk-full failure on that server and exits 0 with the other copy stored', async () => {
    const c = cluster!;
    const src = clip(CLIP);
    const STREAM = 'fault-disk-full-cli';
    // The first stream's copy was removed: the full server has its space back (its next storage check says so to
    // the director), and fills up again.
    await waitFor(
      `${FULL} reports room for a broadcast again`,
      async () => (await c.state()).servers.find((s) => s.id === FULL)?.storageWritable === true,
      15_000,
    );
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          BATON,
          'publish',
          '--hub',
          c.hubUrl,
          '--file',
          join(MEDIA_DIR, `${CLIP}.webm`),
          '--location',
          'Lisbon',
          '--stream-key',
          'test-key',
          '--stream-id',
          STREAM,
          '--speed',
          '4',
          '--json',
        ],
        {
          cwd: ROOT,
          env: { ...process.env, BATON_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(run.code, run.stderr).toBe(0);
    const line = run.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1);
    const out = JSON.parse(line ?? '{}');
    expect(out).toMatchObject({ streamId: STREAM, bytes: src.length, sha256: sha256(src), stored: [OTHER], failovers: [] });
    expect(out.failed).toEqual([
      {
        serverId: FULL,
        role: expect.stringMatching(/^(primary|backup)$/),
        code: 'disk-full',
        message: expect.stringMatching(/disk is full/),
      },
    ]);
    expect(sha256(otherCopy(STREAM))).toBe(sha256(src));
    await assertNoCopyOnFull(STREAM);
  }, 120_000);
});
