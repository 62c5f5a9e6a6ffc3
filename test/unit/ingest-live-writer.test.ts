// The LiveWriter: acks only what is fsynced, idempotent duplicates, gaps, quotas, a full disk, and finalization.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebmHeadCheck } from '../../node-app/ingest/webm-head-check.js';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { nodeWriterIo, type WriterIo } from '../../node-app/ingest/writer-io.js';
import { createLiveSource } from '../../node-app/ingest/live-source.js';
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import { RtpToWebm } from '../../node-app/whip/rtp-to-webm.js';
import { MEDIA_DIR } from '../helpers/cluster.js';
import { videoStream } from '../helpers/rtp-fixtures.js';
import { indexInChunks } from '../helpers/ebml-build.js';

const roomy: IngestLimits = Object.freeze({ maxBitrateBps: 1e9, burstBytes: 1e9, maxBytes: 1e9 });
const dirs: string[] = [];
const writers: LiveWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'baton-writer-'));
  dirs.push(d);
  return d;
}

async function writer(
  opts: {
    limits?: IngestLimits;
    io?: WriterIo;
    now?: () => number;
    fsyncIntervalMs?: number;
    tailBytes?: number;
    headCheck?: WebmHeadCheck;
  } = {},
): Promise<LiveWriter> {
  const w = await LiveWriter.create({
    streamId: 'live-t',
    finalPath: join(tmp(), 'live-t.webm'),
    mime: 'video/webm',
    limits: opts.limits ?? roomy,
    fsyncIntervalMs: opts.fsyncIntervalMs ?? 10_000,
    io: opts.io,
    now: opts.now,
    tailBytes: opts.tailBytes,
    headCheck: opts.headCheck,
  });
  writers.push(w);
  return w;
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The demo clip, a writer that took it whole (its index), and its init segment. */
async function smpteHead(): Promise<{ src: Uint8Array; probe: LiveWriter; head: Uint8Array }> {
  const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm')));
  const probe = await writer();
  probe.append(0, 0, src);
  return { src, probe, head: src.subarray(0, probe.index.initBytes!) };
}

/** A real disk whose fsyncs wait until the test releases them. */
function gatedIo(): WriterIo & { release(): void; syncs: number } {
  const waiting: Array<() => void> = [];
  const io = {
    syncs: 0,
    release: () => waiting.splice(0).forEach((r) => r()),
    async create(path: string) {
      const f = await nodeWriterIo.create(path);
      return {
        ...f,
        sync: async () => {
          io.syncs++;
          await new Promise<void>((r) => waiting.push(r));
          await f.sync();
        },
      };
    },
    rename: nodeWriterIo.rename,
    unlink: nodeWriterIo.unlink,
    syncDir: nodeWriterIo.syncDir,
  };
  return io;
}

describe('LiveWriter', () => {
  it('announces a sequence number durable only after its fsync returns', async () => {
    const io = gatedIo();
    const w = await writer({ io });
    const durable: number[] = [];
    w.on('durable', (seq) => durable.push(seq));
    expect(w.append(0, 0, bytes(100, 1))).toEqual({ kind: 'stored' });
    expect(w.append(1, 100, bytes(50, 2))).toEqual({ kind: 'stored' });
    const flushing = w.flush();
    // Wait for the positive signal (the fsync started and is held by the gate), not a fixed sleep:
    // on a loaded machine the write before it can take longer than any sleep.
    await expect.poll(() => io.syncs).toBeGreaterThan(0);
    expect(durable).toEqual([]);
    expect(w.durableSeq).toBe(-1);
    io.release();
    await flushing;
    expect(durable).toEqual([1]);
    expect(w.durableBytes).toBe(150);
  });

  it('re-acks duplicates without writing them again, and reports gaps', async () => {
    const w = await writer();
    w.append(0, 0, bytes(10, 1));
    w.append(1, 10, bytes(10, 2));
    expect(w.append(1, 10, bytes(10, 2))).toEqual({ kind: 'duplicate', durable: false });
    await w.flush();
    expect(w.append(0, 0, bytes(10, 1))).toEqual({ kind: 'duplicate', durable: true });
    expect(w.append(5, 50, bytes(10, 3))).toEqual({ kind: 'gap', expected: 2 });
    expect(w.append(2, 999, bytes(10, 3))).toMatchObject({ kind: 'refused', fatal: false });
    expect(w.bytes).toBe(20);
    const done = await w.end(20);
    expect(readFileSync(done.path)).toEqual(Buffer.concat([bytes(10, 1), bytes(10, 2)]));
  });

  it('finalizes byte-identical to a demo clip, renaming .part away', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm')));
    const w = await writer({ fsyncIntervalMs: 20 });
    let seq = 0;
    for (let at = 0; at < src.byteLength; at += 60_000) w.append(seq++, at, src.subarray(at, Math.min(src.byteLength, at + 60_000)));
    expect(existsSync(w.partPath)).toBe(true);
    expect(existsSync(w.finalPath)).toBe(false);
    const info = await w.end(src.byteLength, sha(src));
    expect(info.sha256).toBe(sha(src));
    expect(sha(readFileSync(w.finalPath))).toBe(sha(src));
    expect(existsSync(w.partPath)).toBe(false);
    expect(w.durableSeq).toBe(seq - 1);
    expect(w.index.initBytes).toBeGreaterThan(0);
    expect(w.index.clusterCount).toBeGreaterThan(20);
  });

  it('reopens a stream it finalized, goes on from its end, and finalizes the whole (its hash carried across)', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm')));
    const half = Math.floor(src.byteLength / 2);
    const w = await writer({ fsyncIntervalMs: 20 });
    w.append(0, 0, src.subarray(0, half));
    expect((await w.end(half)).sha256).toBe(sha(src.subarray(0, half)));
    const clusters = w.index.clusterCount;
    await w.reopen();
    expect(w.state).toBe('open');
    expect(existsSync(w.finalPath)).toBe(false);
    expect(existsSync(w.partPath)).toBe(true);
    expect(w.append(1, half, src.subarray(half)).kind).toBe('stored');
    expect(w.index.clusterCount).toBeGreaterThan(clusters);
    const info = await w.end(src.byteLength, sha(src));
    expect(info.sha256).toBe(sha(src));
    expect(sha(readFileSync(w.finalPath))).toBe(sha(src));
    expect(existsSync(w.partPath)).toBe(false);
  });

  it('refuses to reopen a stream not finalized, or whose file was replaced since', async () => {
    const w = await writer({ fsyncIntervalMs: 20 });
    w.append(0, 0, bytes(100, 1));
    await expect(w.reopen()).rejects.toMatchObject({ code: 'cannot-resume', message: /its copy is open/ });
    await w.end(100);
    // An operator copied another file over the recording.
    rmSync(w.finalPath);
    writeFileSync(w.finalPath, bytes(100, 2));
    await expect(w.reopen()).rejects.toMatchObject({ code: 'cannot-resume', message: /no longer the file written here/ });
    expect(readFileSync(w.finalPath)).toEqual(Buffer.from(bytes(100, 2)));
    expect(existsSync(w.partPath)).toBe(false);
  });

  it('refuses to reopen a stream whose file was truncated or rewritten in place since (same inode)', async () => {
    for (const change of ['truncate', 'rewrite'] as const) {
      const w = await writer({ fsyncIntervalMs: 20 });
      w.append(0, 0, bytes(100, 1));
      await w.end(100);
      const ino = statSync(w.finalPath).ino;
      // `truncate -s 0`, or `cp` of another file over it: the inode stays, its bytes are no longer the stream's.
      if (change === 'truncate') truncateSync(w.finalPath, 0);
      else writeFileSync(w.finalPath, bytes(100, 2));
      expect(statSync(w.finalPath).ino).toBe(ino);
      const now = readFileSync(w.finalPath);
      await expect(w.reopen()).rejects.toMatchObject({ code: 'cannot-resume', message: /changed since it was finalized here/ });
      expect(readFileSync(w.finalPath)).toEqual(now);
      expect(existsSync(w.partPath)).toBe(false);
    }
  });

  it('refuses to finalize a WebM that ended with its Tracks and no frame, and keeps nothing', async () => {
    const { src, probe, head } = await smpteHead();
    const w = await writer({ headCheck: new WebmHeadCheck() });
    expect(w.append(0, 0, head)).toMatchObject({ kind: 'stored' });
    await expect(w.end(head.byteLength)).rejects.toMatchObject({ code: 'unsupported-media', message: /without a media frame/ });
    await w.close();
    expect(existsSync(w.partPath)).toBe(false);
    expect(existsSync(w.finalPath)).toBe(false);
    // The same writer with one Cluster more finalizes.
    const one = await writer({ headCheck: new WebmHeadCheck() });
    const upTo = probe.index.recentClusters()[1]!;
    one.append(0, 0, src.subarray(0, upTo));
    await expect(one.end(upTo)).resolves.toMatchObject({ bytes: upTo });
  });

  it('refuses a stream of empty Clusters as unsupported-media at its chunk, and keeps nothing', async () => {
    const { head } = await smpteHead();
    const flood = new Uint8Array(64 * 1024 - ((64 * 1024) % 5));
    for (let at = 0; at < flood.byteLength; at += 5) flood.set([0x1f, 0x43, 0xb6, 0x75, 0x80], at);
    const w = await writer({ headCheck: new WebmHeadCheck() });
    expect(w.append(0, 0, head)).toMatchObject({ kind: 'stored' });
    expect(w.append(1, head.byteLength, flood)).toMatchObject({
      kind: 'refused',
      fatal: true,
      error: { code: 'unsupported-media', message: /not media: 32 Clusters in a row hold no frame/ },
    });
    expect(w.state).toBe('failed');
    await w.close();
    expect(existsSync(w.partPath)).toBe(false);
    expect(existsSync(w.finalPath)).toBe(false);
  });

  it('does not salvage a cut-off stream whose Clusters hold no frame', async () => {
    const { src, probe, head } = await smpteHead();
    const w = await writer({ headCheck: new WebmHeadCheck() });
    w.append(0, 0, head);
    // Under the run that is refused: stored, then the publisher is gone.
    for (let i = 1; i <= 10; i++)
      expect(w.append(i, head.byteLength + (i - 1) * 5, new Uint8Array([0x1f, 0x43, 0xb6, 0x75, 0x80])).kind).toBe('stored');
    await w.flush();
    await w.abandon('gone');
    expect(w.salvagedBytes).toBeUndefined();
    expect(existsSync(w.finalPath)).toBe(false);
    expect(existsSync(w.partPath)).toBe(false);
    // One frame in: the cut keeps it.
    const real = await writer();
    const upTo = probe.index.recentClusters()[1]!;
    real.append(0, 0, src.subarray(0, upTo));
    await real.flush();
    await real.abandon('gone');
    expect(real.salvagedBytes).toBe(upTo);
  });

  it('refuses a wrong sha256 at the end and leaves no finalized file', async () => {
    const w = await writer();
    w.append(0, 0, bytes(10, 1));
    await expect(w.end(10, '0'.repeat(64))).rejects.toMatchObject({ code: 'mismatch' });
    await w.close();
    expect(existsSync(w.finalPath)).toBe(false);
    expect(existsSync(w.partPath)).toBe(false);
  });

  it('an early end (bytes still missing) is refused without harm', async () => {
    const w = await writer();
    w.append(0, 0, bytes(10, 1));
    await expect(w.end(20)).rejects.toMatchObject({ code: 'mismatch' });
    expect(w.state).toBe('open');
    w.append(1, 10, bytes(10, 1));
    await expect(w.end(20)).resolves.toMatchObject({ bytes: 20 });
  });

  it('a full disk fails the stream with disk-full and removes the partial copy', async () => {
    let written = 0;
    const io: WriterIo = {
      ...nodeWriterIo,
      async create(path) {
        const f = await nodeWriterIo.create(path);
        return {
          ...f,
          write: async (buf, pos) => {
            if (written + buf.byteLength > 25) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
            written += buf.byteLength;
            return f.write(buf, pos);
          },
        };
      },
    };
    const w = await writer({ io });
    const failed = new Promise((r) => w.once('failed', r));
    w.append(0, 0, bytes(10, 1));
    w.append(1, 10, bytes(10, 1));
    w.append(2, 20, bytes(10, 1));
    await expect(failed).resolves.toMatchObject({ code: 'disk-full' });
    expect(w.append(3, 30, bytes(1, 1))).toMatchObject({ kind: 'refused', fatal: true });
    await expect(w.end(30)).rejects.toMatchObject({ code: 'disk-full' });
    await w.close();
    expect(existsSync(w.partPath)).toBe(false);
    expect(existsSync(w.finalPath)).toBe(false);
  });

  it('enforces the size quota and the average-bitrate quota (with its burst)', async () => {
    const small = await writer({ limits: { ...roomy, maxBytes: 25 } });
    small.append(0, 0, bytes(20, 1));
    expect(small.append(1, 20, bytes(10, 1))).toMatchObject({ kind: 'refused', fatal: true, error: { code: 'too-large' } });
    let t = 1_000_000;
    const paced = await writer({ limits: { maxBitrateBps: 8_000, burstBytes: 1_000, maxBytes: 1e9 }, now: () => t });
    expect(paced.append(0, 0, bytes(1_000, 1)).kind).toBe('stored');
    t += 1_000; // one second: 1 000 more bytes at 8 kbit/s
    expect(paced.append(1, 1_000, bytes(900, 1)).kind).toBe('stored');
    expect(paced.append(2, 1_900, bytes(200, 1))).toMatchObject({ kind: 'refused', error: { code: 'rate-limited' } });
  });

  it('salvages whole Clusters of a known-size Cluster clip when the publisher is gone', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const w = await writer();
    const half = Math.floor(src.byteLength / 2);
    w.append(0, 0, src.subarray(0, half));
    await w.flush();
    await w.abandon('gone');
    const cut = w.salvagedBytes!;
    expect(cut).toBe(w.index.latestCut(half));
    expect(statSync(w.finalPath).size).toBe(cut);
    expect(sha(readFileSync(w.finalPath))).toBe(sha(src.subarray(0, cut)));
    expect(existsSync(w.partPath)).toBe(false);
  });

  it('salvages every whole block of a stream that is one long Cluster (a WHIP keyframe interval)', async () => {
    // The WHIP muxer's output, chunk per write as the relay sends it: one keyframe, then 89 delta frames in one Cluster.
    const chunks: Uint8Array[] = [];
    const mux = new RtpToWebm({ audio: false, onBytes: (b) => chunks.push(b.slice()), onNeedKeyframe: () => undefined });
    for (const f of videoStream(90, 1000, 2_000)) for (const p of f) mux.push('video', p);
    const w = await writer();
    let at = 0;
    const blockStarts: number[] = [];
    // Stop in the middle of the 61st block (chunk 0 is the init segment, 1 the Cluster head).
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      if (i >= 2) blockStarts.push(at);
      const part = blockStarts.length === 61 ? c.subarray(0, c.byteLength >> 1) : c;
      w.append(i, at, part);
      at += part.byteLength;
      if (part !== c) break;
    }
    expect(w.index.clusterCount).toBe(1);
    await w.flush();
    await w.abandon('the primary died');
    // Everything up to the torn block: 60 whole frames, not the zero a cut at the Cluster start kept.
    expect(w.salvagedBytes).toBe(blockStarts[60]);
    const stored = new Uint8Array(readFileSync(w.finalPath));
    const input = new Input({ source: new BufferSource(stored), formats: ALL_FORMATS });
    const track = (await input.getPrimaryVideoTrack())!;
    let frames = 0;
    for await (const _ of new EncodedPacketSink(track).packets()) frames++;
    expect(frames).toBe(60);
  });

  it('serves reads from the in-memory tail and from disk alike', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const w = await writer({ tailBytes: 100_000, fsyncIntervalMs: 20 });
    let seq = 0;
    for (let at = 0; at < src.byteLength; at += 50_000) w.append(seq++, at, src.subarray(at, Math.min(src.byteLength, at + 50_000)));
    await w.flush();
    for (const [at, n] of [
      [0, 1000],
      [123_456, 70_000],
      [src.byteLength - 10_000, 20_000],
    ] as const) {
      const out: Uint8Array[] = [];
      for (let p = at; p < Math.min(src.byteLength, at + n); ) {
        const b = await w.read(p, at + n - p);
        if (b.byteLength === 0) break;
        out.push(b);
        p += b.byteLength;
      }
      expect(Buffer.concat(out).equals(Buffer.from(src.subarray(at, at + n)))).toBe(true);
    }
  });
});

describe('live source', () => {
  it('says when media time 0 was from the Clusters as they arrive (earliest arrival minus Timecode), not the publish start', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    let clock = 50_000;
    const w = await writer({ now: () => clock });
    const source = createLiveSource(w, { offset: 0 });
    expect(source.startedAtMs).toBe(50_000); // no Cluster yet: the publish's start
    const part = Math.floor(src.byteLength * 0.5);
    const firstTimes: number[] = [];
    indexInChunks(
      src.subarray(0, part),
      () => part,
      (t) => firstTimes.push(t),
    );
    // The first half arrives at 100 s in one burst: its newest Cluster bounds media time 0 best.
    clock = 100_000;
    w.append(0, 0, src.subarray(0, part));
    expect(firstTimes.length).toBeGreaterThan(2);
    expect(w.mediaZeroAtMs).toBe(100_000 - Math.max(...firstTimes));
    expect(source.startedAtMs).toBe(100_000 - Math.max(...firstTimes));
    // The rest arrives late (a stall): later arrivals never move time 0 later.
    clock = 400_000;
    w.append(1, part, src.subarray(part));
    expect(source.startedAtMs).toBe(100_000 - Math.max(...firstTimes));
    await w.end(src.byteLength);
  });

  it('a late joiner gets the init segment, then the latest Cluster onwards', async () => {
    const src = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const w = await writer();
    const part = Math.floor(src.byteLength * 0.6);
    w.append(0, 0, src.subarray(0, part));
    const early = createLiveSource(w, { offset: 0 });
    const s = createLiveSource(w, { offset: 0 });
    // The demo clip has a keyframe in every Cluster: the newest Cluster is the newest keyframe Cluster.
    expect(w.index.recentKeyClusters().at(-1)).toBe(w.index.latestCluster());
    const init = w.index.initBytes!;
    const edge = w.index.latestCluster()!;
    expect(s.joinedAt).toBe(edge);
    expect(s.size()).toBe(init + part - edge);
    expect(s.isLive()).toBe(true);
    expect(Buffer.from(await s.read(0, 100_000)).equals(Buffer.from(src.subarray(0, init)))).toBe(true);
    expect([...(await s.read(init, 4))]).toEqual([0x1f, 0x43, 0xb6, 0x75]);
    w.append(1, part, src.subarray(part));
    expect(s.size()).toBe(init + src.byteLength - edge);
    const resumed = createLiveSource(w, { offset: 5_000 });
    expect(resumed.skipBytes).toBe(0);
    expect(resumed.size()).toBe(src.byteLength);
    await w.end(src.byteLength);
    expect(s.isLive()).toBe(false);
    // The join point is chosen at the first read: this one read only after the stream ended (from its start).
    expect(early.joinedAt).toBe(0);
    s.close();
    expect(s.size()).toBe(0);
  });
});

describe('a reader at the live edge', () => {
  it('is woken by the next chunk, not by its timeout, and at once once the stream is over', async () => {
    const w = await writer();
    const src = createLiveSource(w, { offset: 0 });
    const order: string[] = [];
    // A timeout far past the test's own: only the chunk can end this wait in time.
    const waiting = src.grown!(600_000).then(() => order.push('woken'));
    await Promise.resolve();
    expect(order).toEqual([]);
    w.append(0, 0, bytes(100, 1));
    order.push('appended');
    await waiting;
    expect(order).toEqual(['appended', 'woken']);
    expect(src.size()).toBe(100);
    // Many readers of one stream wait on the same writer; every one is woken, none is left registered.
    const many = Array.from({ length: 50 }, () => src.grown!(600_000));
    w.append(1, 100, bytes(100, 2));
    await Promise.all(many);
    await w.end(200);
    await src.grown!(600_000);
    src.close();
    await src.grown!(600_000);
  });
});

describe('LiveWriter coalescing', () => {
  it('bytes being written are readable from memory meanwhile, and 10,000 tiny chunks take one write', async () => {
    const writes: number[] = [];
    let releaseWrite!: () => void;
    const gate = new Promise<void>((r) => (releaseWrite = r));
    const io: WriterIo = {
      ...nodeWriterIo,
      async create(path) {
        const f = await nodeWriterIo.create(path);
        return {
          ...f,
          write: async (buf, pos) => {
            writes.push(buf.byteLength);
            await gate;
            return f.write(buf, pos);
          },
        };
      },
    };
    const w = await writer({ io });
    for (let i = 0; i < 10_000; i++) w.append(i, i, bytes(1, i & 0xff));
    const flushing = w.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toEqual([10_000]);
    const during = await w.read(0, 10_000);
    expect([...during.subarray(250, 260)]).toEqual([...Array.from({ length: 10 }, (_, k) => (250 + k) & 0xff)]);
    releaseWrite();
    await flushing;
    expect(w.durableSeq).toBe(9_999);
  });
});
