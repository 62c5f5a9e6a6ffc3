// Delivery end to end on loopback: ServeSession over a DiskStore, the Viewer, real node-datachannel peers,
// and an in-test relay that speaks the hub's watch/signal/session-close contract.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { appendFileSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { rescanStill } from '../helpers/rescan-still.js';
import { createStoreSource } from '../../node-app/delivery/store-source.js';
import { ServeSession } from '../../node-app/delivery/serve-session.js';
import { MAX_QUEUED_BYTES, type ServeSessionOptions } from '../../node-app/delivery/serve-options.js';
import { createPeer, nodeWrtc, SimplePeer, type Peer } from '../../node-app/webrtc/peer.js';
import { spawnIpcPeer, type ChildToParent, type IpcPeer } from '../../node-app/webrtc/ipc-peer.js';
import { Viewer, type DataInfo, type FailoverInfo, type SeekedInfo } from '../../client-sdk/viewer.js';
import { TestHub, until, type TestServer } from '../helpers/viewer-hub.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { decodeServerFrame, encodeControl, encodeMedia, MEDIA_HEADER_BYTES, type ServerControl } from '../../signaling/protocol/frames.js';

const MEDIA_DIR = resolve(import.meta.dirname, '../../var/media');
const BULK_ID = 'bulk-random';
const BULK_BYTES = 48 * 1024 * 1024;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Connect timeout for sessions whose viewer is a child process started a moment before: booting it
 * takes seconds on a loaded machine, while in a cluster the viewer exists before its session opens.
 */
const CHILD_PEER_CONNECT_MS = 30_000;

describe('delivery over real WebRTC (node-datachannel on loopback)', () => {
  let root: string;
  let store: DiskStore;
  const sessions: ServeSession[] = [];
  const viewers: Viewer[] = [];
  const peers: Peer[] = [];
  const children: IpcPeer[] = [];

  /** A server whose sessions are real ServeSessions over the shared store. */
  function storeServer(id: string, extra: Partial<ServeSessionOptions> = {}): TestServer {
    return {
      id,
      region: `region-${id}`,
      serve: (sessionId, assetId, offset, toViewer) => {
        // Viewers here ask for `fast` to test unpaced delivery: the operator setting that allows it.
        const s = new ServeSession({
          sessionId,
          source: createStoreSource(store, assetId),
          offset,
          signal: toViewer,
          wrtc: nodeWrtc,
          allowFast: true,
          seekIndex: () => store.seekIndex(assetId),
          ...extra,
        });
        sessions.push(s);
        return s;
      },
    };
  }

  function watch(hub: TestHub, assetId: string, extra: { offset?: number; fast?: boolean; startTimeMs?: number } = {}) {
    const v = new Viewer({ socket: hub.socket, assetId, SimplePeer, wrtc: nodeWrtc, ...extra });
    viewers.push(v);
    const chunks: DataInfo[] = [];
    const warnings: string[] = [];
    const failovers: FailoverInfo[] = [];
    const errors: string[] = [];
    const seeks: SeekedInfo[] = [];
    let mime = '';
    v.addEventListener('seeked', (e) => seeks.push(e.detail));
    v.addEventListener('data', (e) => chunks.push(e.detail));
    v.addEventListener('meta', (e) => (mime = e.detail.mime));
    v.addEventListener('warning', (e) => warnings.push(e.detail.code));
    v.addEventListener('failover', (e) => failovers.push(e.detail));
    v.addEventListener('error', (e) => errors.push(`${e.detail.code}: ${e.detail.message}`));
    const ended = new Promise<void>((done, fail) => {
      v.addEventListener('end', () => done());
      v.addEventListener('error', (e) => fail(new Error(`${e.detail.code}: ${e.detail.message}`)));
    });
    v.start();
    const bytes = () => Buffer.concat(chunks.map((c) => c.bytes));
    return { v, chunks, warnings, failovers, errors, seeks, ended, bytes, mime: () => mime };
  }

  beforeAll(async () => {
    await ensureDemoMedia(MEDIA_DIR);
    root = mkdtempSync(join(tmpdir(), 'baton-delivery-'));
    for (const id of ['demo-testsrc', 'demo-mandelbrot', 'demo-smpte']) linkSync(join(MEDIA_DIR, `${id}.webm`), join(root, `${id}.webm`));
    // Random bytes: big enough that a stalled reader is caught mid-transfer.
    const bulk = new Uint8Array(BULK_BYTES);
    for (let i = 0; i < BULK_BYTES; i += 65_536) crypto.getRandomValues(bulk.subarray(i, i + 65_536));
    // Behind a real WebM head (EBML header, Info, Tracks): the store lists only files that start as media.
    bulk.set(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')).subarray(0, 4096));
    writeFileSync(join(root, `${BULK_ID}.webm`), bulk);
    store = await DiskStore.open(root);
  });

  afterEach(async () => {
    for (const v of viewers.splice(0)) v.close();
    for (const s of sessions.splice(0)) s.close();
    for (const p of peers.splice(0)) p.destroy();
    await Promise.all(children.splice(0).map((c) => c.kill()));
  });

  afterAll(() => {
    store?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const file = (id: string) => readFileSync(join(root, `${id}.webm`));
  /** A demo clip in about a second: a seek sent at its first bytes reaches the server mid-stream. */
  const SLOW_PACING = { bitrateBps: 4_000_000, burstBytes: 64 * 1024, factor: 1.5, leadBytes: 64 * 1024 };

  it('delivers a whole asset: same sha256 as the file, meta carries the codecs', async () => {
    const hub = new TestHub([storeServer('a')]);
    const w = watch(hub, 'demo-mandelbrot', { fast: true });
    await w.ended;
    const want = file('demo-mandelbrot');
    expect(w.bytes().byteLength).toBe(want.byteLength);
    expect(sha256(w.bytes())).toBe(sha256(want));
    expect(w.mime()).toBe('video/webm; codecs="vp9, opus"');
    // In order, no gaps, no overlaps.
    let at = 0;
    for (const c of w.chunks) {
      expect(c.offset).toBe(at);
      at += c.bytes.byteLength;
    }
    expect(w.warnings).toEqual([]);
  });

  it('sends the meta once per watch: at connect, not again for the first play that confirms the same place', async () => {
    const hub = new TestHub([storeServer('a')]);
    let metas = 0;
    /** Counts the meta frames the server sends this viewer. */
    class CountingPeer extends SimplePeer {
      constructor(opts: ConstructorParameters<typeof SimplePeer>[0]) {
        super(opts);
        this.on('data', (data: unknown) => {
          const r = decodeServerFrame(data);
          if (r.ok && r.frame.kind === 'control' && r.frame.msg.t === 'meta') metas++;
        });
      }
    }
    const v = new Viewer({ socket: hub.socket, assetId: 'demo-mandelbrot', SimplePeer: CountingPeer, wrtc: nodeWrtc, fast: true });
    viewers.push(v);
    const ended = new Promise<void>((done) => v.addEventListener('end', () => done()));
    v.start();
    await ended;
    expect(metas).toBe(1);
  });

  it('resumes from a byte offset: exactly the tail of the file', async () => {
    const hub = new TestHub([storeServer('a')]);
    const offset = 1_000_003;
    const w = watch(hub, 'demo-testsrc', { offset, fast: true });
    await w.ended;
    const tail = file('demo-testsrc').subarray(offset);
    expect(w.chunks[0]!.offset).toBe(offset);
    expect(sha256(w.bytes())).toBe(sha256(tail));
    expect(w.v.bytesReceived).toBe(tail.byteLength);
  });

  it("seeks by time: continues from the keyframe Cluster before it, with the file's bytes from there", async () => {
    // The 0.8-MB clip is smaller than the default fast-start burst (1 MiB): paced to about a second, so the seek
    // reaches the server while the stream is still before 12.5 s (it raced the end before: 2 of 10 runs here).
    const hub = new TestHub([storeServer('a', { pacing: SLOW_PACING })]);
    const w = watch(hub, 'demo-smpte');
    await until('the first bytes', () => w.v.bytesReceived > 0);
    w.v.seekTime(12_500);
    await w.ended;
    const point = (await store.seekIndex('demo-smpte'))!.points.filter((p) => p.timeMs <= 12_500).at(-1)!;
    expect(point.timeMs).toBeGreaterThan(11_000);
    expect(w.seeks).toEqual([{ seekMs: 12_500, timeMs: point.timeMs, offset: point.offset }]);
    // Before the seek: the head of the file in order; after it: the file from the Cluster on, nothing else.
    const i = w.chunks.findIndex((c) => c.offset === point.offset);
    expect(i).toBeGreaterThan(0);
    const after = Buffer.concat(w.chunks.slice(i).map((c) => c.bytes));
    expect(sha256(after)).toBe(sha256(file('demo-smpte').subarray(point.offset)));
    expect(w.warnings).toEqual([]);
  });

  it('starts at a time (a resumed position): the init segment, then the stream from its Cluster', async () => {
    const hub = new TestHub([storeServer('a')]);
    const w = watch(hub, 'demo-testsrc', { startTimeMs: 15_000, fast: true });
    await w.ended;
    const idx = (await store.seekIndex('demo-testsrc'))!;
    const point = idx.points.filter((p) => p.timeMs <= 15_000).at(-1)!;
    expect(hub.watches[0]).toEqual({ assetId: 'demo-testsrc', offset: 0, offer: expect.objectContaining({ type: 'offer' }) });
    expect(w.seeks.map((x) => x.offset)).toEqual([point.offset]);
    // The init segment first (a player needs it before any Cluster), then the file from the Cluster on.
    expect(w.chunks[0]!.offset).toBe(0);
    const i = w.chunks.findIndex((c) => c.offset === point.offset);
    expect(w.chunks.slice(0, i).reduce((n, c) => n + c.bytes.byteLength, 0)).toBe(idx.initBytes);
    const f = file('demo-testsrc');
    expect(sha256(w.bytes())).toBe(sha256(Buffer.concat([f.subarray(0, idx.initBytes), f.subarray(point.offset)])));
  });

  it('a seek by time the server cannot resolve is refused, and the stream carries on where it was', async () => {
    // Paced: unpaced, the whole clip could cross loopback before the seek reached the server.
    const hub = new TestHub([storeServer('a', { seekIndex: undefined, pacing: SLOW_PACING })]);
    const w = watch(hub, 'demo-smpte');
    await until('the first bytes', () => w.v.bytesReceived > 0);
    w.v.seekTime(5_000);
    await w.ended;
    expect(w.warnings).toContain('not-seekable');
    expect(w.seeks).toEqual([]);
    expect(sha256(w.bytes())).toBe(sha256(file('demo-smpte')));
  });

  it('fails over to another server at the same byte when the hub closes the session', async () => {
    // Server a sends only its fast-start burst (its clock never moves), then dies.
    const frozen = () => 0;
    const burst = 300_000;
    const hub = new TestHub([
      storeServer('a', { now: frozen, pacing: { bitrateBps: 400_000, burstBytes: burst, leadBytes: burst } }),
      storeServer('b', { pacing: false }),
    ]);
    const w = watch(hub, 'demo-testsrc');
    await until('the burst from a', () => w.v.bytesReceived > burst - 65_536);
    const before = w.v.bytesReceived;
    hub.kill('a');
    await w.ended;
    const want = file('demo-testsrc');
    expect(w.failovers).toEqual([{ from: 'a', to: 'b', offset: before }]);
    expect(hub.watches[1]).toMatchObject({ assetId: 'demo-testsrc', offset: before, exclude: ['a'] });
    expect(w.bytes().byteLength).toBe(want.byteLength);
    expect(sha256(w.bytes())).toBe(sha256(want));
  });

  it('fails over when only the peer connection dies (no word from the hub)', async () => {
    const frozen = () => 0;
    const hub = new TestHub([
      storeServer('a', { now: frozen, pacing: { bitrateBps: 400_000, burstBytes: 200_000, leadBytes: 200_000 } }),
      storeServer('b', { pacing: false }),
    ]);
    const w = watch(hub, 'demo-smpte');
    await until('some bytes from a', () => w.v.bytesReceived > 100_000);
    hub.kill('a', false);
    await w.ended;
    expect(w.failovers.map((f) => [f.from, f.to])).toEqual([['a', 'b']]);
    expect(sha256(w.bytes())).toBe(sha256(file('demo-smpte')));
  });

  it('paces: sends the burst, then only what the clock allows', async () => {
    let clock = 0;
    const cfg = { bitrateBps: 800_000, burstBytes: 200_000, leadBytes: 400_000 };
    const hub = new TestHub([storeServer('a', { now: () => clock, pacing: cfg })]);
    const w = watch(hub, 'demo-testsrc');
    const session = () => sessions[0]!;
    // The session opens once the viewer's offer is made (it travels with the watch request).
    await until('the burst', () => (sessions[0]?.stats().bytesSent ?? 0) > cfg.burstBytes - 65_536);
    await new Promise((r) => setTimeout(r, 300));
    expect(session().stats().bytesSent).toBeLessThanOrEqual(cfg.burstBytes);
    // One second of playing time at 1.5× 100 kB/s allows 150 kB more.
    clock = 1_000;
    await until('the next second', () => session().stats().bytesSent > 350_000 - 65_536);
    await new Promise((r) => setTimeout(r, 300));
    expect(session().stats().bytesSent).toBeLessThanOrEqual(350_000);
    expect(w.v.bytesReceived).toBeLessThanOrEqual(350_000);
  });

  it("a watch's delivery limit (session-open `limitBps`) paces from the first byte, before any `limit` frame", async () => {
    // The session sends from the moment its channel opens; a page's player may take the peer over (and send its
    // `limit` frame) hundreds of ms later, after the fast-start burst went out unlimited.
    let clock = 0;
    const hub = new TestHub([storeServer('a', { now: () => clock, limitBps: 400_000 })]);
    watch(hub, 'demo-testsrc');
    const sent = () => sessions[0]?.stats().bytesSent ?? 0;
    await until('the first frame', () => sent() > 0);
    await new Promise((r) => setTimeout(r, 300));
    // One 64-KiB frame books the 400-kbit/s link for 1.31 s of the session's clock.
    expect(sent()).toBeLessThanOrEqual(65_536);
    clock = 1_400;
    await until('the next frame', () => sent() > 65_536);
    await new Promise((r) => setTimeout(r, 300));
    expect(sent()).toBeLessThanOrEqual(2 * 65_536);
  });

  it('follows a live (growing) asset until it stops being live', async () => {
    const path = join(root, 'live-growing.webm');
    const full = file('demo-testsrc');
    writeFileSync(path, full.subarray(0, 100_000));
    await rescanStill(store);
    let live = true;
    const liveServer: TestServer = {
      id: 'ingest-1',
      region: 'test',
      serve: (sessionId, assetId, offset, toViewer) => {
        const s = new ServeSession({
          sessionId,
          source: createStoreSource(store, assetId, { isLive: () => live }),
          offset,
          signal: toViewer,
        });
        sessions.push(s);
        return s;
      },
    };
    const w = watch(new TestHub([liveServer]), 'live-growing');
    let isLive: boolean | undefined;
    w.v.addEventListener('meta', (e) => (isLive = e.detail.live));
    try {
      for (let at = 100_000; at < full.byteLength; at += 150_000) {
        await until('the viewer to catch up with the live edge', () => w.v.bytesReceived === at);
        appendFileSync(path, full.subarray(at, at + 150_000));
      }
      await until('everything so far', () => w.v.bytesReceived === full.byteLength);
      expect(w.v.ended).toBe(false);
      live = false;
      await w.ended;
    } finally {
      rmSync(path, { force: true });
      await store.refresh();
    }
    expect(isLive).toBe(true);
    expect(sha256(w.bytes())).toBe(sha256(full));
  });

  it('answers malformed control frames with errors and keeps streaming', async () => {
    const s = new ServeSession({
      sessionId: 'raw-client-1',
      source: createStoreSource(store, 'demo-smpte'),
      offset: 0,
      signal: (d) => setImmediate(() => client.signal(d as never)),
      pacing: false,
    });
    sessions.push(s);
    const client = createPeer({ initiator: true });
    peers.push(client);
    client.on('signal', (d: unknown) => setImmediate(() => s.signal(d)));
    const controls: ServerControl[] = [];
    const media: Uint8Array[] = [];
    client.on('data', (d: unknown) => {
      const r = decodeServerFrame(d);
      if (!r.ok) throw new Error(r.message);
      if (r.frame.kind === 'control') controls.push(r.frame.msg);
      else media.push(Buffer.from(r.frame.payload));
    });
    client.on('connect', () => {
      for (const junk of [
        'not json',
        '{"t":"play","offset":-5}',
        '{"t":"warp"}',
        '{"t":"play","offset":0,"extra":1}',
        'x'.repeat(10_000),
        '[]',
        'null',
      ])
        client.send(junk);
      client.send(new Uint8Array([1, 2, 3]));
      client.send(encodeControl({ t: 'stats' }));
    });
    await until('end', () => controls.some((c) => c.t === 'end'));
    await until('stats reply', () => controls.some((c) => c.t === 'stats'));
    const errors = controls.filter((c) => c.t === 'error');
    expect(errors.length).toBe(8);
    expect(new Set(errors.map((e) => (e as { code: string }).code))).toEqual(new Set(['bad-frame', 'bad-request']));
    expect(sha256(Buffer.concat(media))).toBe(sha256(file('demo-smpte')));
    expect(s.state).toBe('ended');
  });

  it('a viewer survives malformed, repeated and overlapping frames from a server', async () => {
    const want = file('demo-smpte').subarray(0, 300_000);
    const rogue: TestServer = {
      id: 'rogue',
      region: 'nowhere',
      serve: (_sessionId, assetId, _offset, toViewer) => {
        const p = createPeer({ initiator: false });
        peers.push(p);
        p.on('signal', (d: unknown) => toViewer(d));
        p.on('connect', () => {
          p.send(
            encodeControl({ t: 'meta', assetId, mime: 'video/webm; codecs="vp8, opus"', bytes: want.byteLength, live: false, offset: 0 }),
          );
          p.send(new Uint8Array([0x07, 0, 0, 0, 0, 0, 0, 0, 0, 42]));
          p.send('{"t":"meta"');
          p.send(JSON.stringify({ t: 'end', bytes: -1 }));
          p.send(new Uint8Array(4));
          p.send(encodeMedia(0, want.subarray(0, 50_000)));
          p.send(encodeMedia(0, want.subarray(0, 50_000)));
          p.send(encodeMedia(40_000, want.subarray(40_000, 100_000)));
          p.send(encodeMedia(10_000, want.subarray(10_000, 20_000)));
          for (let at = 100_000; at < want.byteLength; at += 50_000) p.send(encodeMedia(at, want.subarray(at, at + 50_000)));
          p.send(encodeControl({ t: 'end', bytes: want.byteLength }));
        });
        return { signal: (d) => p.signal(d as never), close: () => p.destroy() };
      },
    };
    const w = watch(new TestHub([rogue]), 'demo-smpte');
    await w.ended;
    expect(w.errors).toEqual([]);
    expect(w.warnings.filter((c) => c === 'bad-frame').length).toBe(4);
    expect(sha256(w.bytes())).toBe(sha256(want));
  });

  it('backpressure: a stalled viewer in another process holds the server to a bounded queue, others stream on', async () => {
    const size = store.stat(BULK_ID)!.bytes;
    let session!: ServeSession;
    const slow = spawnIpcPeer({
      mode: 'sink',
      initiator: true,
      skipBytes: MEDIA_HEADER_BYTES,
      sendOnConnect: [encodeControl({ t: 'play', offset: 0, fast: true })],
    });
    children.push(slow);
    let received = 0;
    let childSha = '';
    const texts: string[] = [];
    slow.on((m: ChildToParent) => {
      if (m.type === 'signal') session.signal(m.data);
      if (m.type === 'progress') [received, childSha] = [m.bytes, m.sha256];
      if (m.type === 'text') texts.push(m.text);
    });
    session = new ServeSession({
      sessionId: 'slow-viewer-1',
      source: createStoreSource(store, BULK_ID),
      offset: 0,
      signal: (d) => slow.signal(d),
      pacing: false,
      timeouts: { connectMs: CHILD_PEER_CONNECT_MS },
    });
    sessions.push(session);
    let maxQueued = 0;
    const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, session.stats().queuedBytes)), 5);
    try {
      await until('the slow viewer to get going', () => received > 4 * 1024 * 1024);
      slow.child.kill('SIGSTOP');
      // Stopped: once the SCTP window and the 64 KiB channel queue are full, the server hands nothing more over.
      let last = -1;
      let stableSince = Date.now();
      await until('the server to stop sending', () => {
        const now = session.stats().bytesSent;
        if (now !== last) [last, stableSince] = [now, Date.now()];
        return Date.now() - stableSince > 400;
      });
      const sentWhileStopped = session.stats().bytesSent;
      expect(sentWhileStopped).toBeLessThan(size);
      // Meanwhile another viewer of the same server streams a whole asset.
      const hub = new TestHub([storeServer('a', { pacing: false })]);
      const other = watch(hub, 'demo-mandelbrot');
      await other.ended;
      expect(sha256(other.bytes())).toBe(sha256(file('demo-mandelbrot')));
      expect(session.stats().bytesSent).toBe(sentWhileStopped);
      expect(session.stats().queuedBytes).toBeGreaterThan(0);
      slow.child.kill('SIGCONT');
      await until('the slow viewer to finish', () => texts.some((t) => t.includes('"end"')), 60_000);
    } finally {
      clearInterval(sampler);
      slow.child.kill('SIGCONT');
    }
    expect(received).toBe(size);
    expect(childSha).toBe(sha256(file(BULK_ID)));
    expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    expect(session.stats().maxQueuedBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
  });

  it('closes a viewer that stops reading for longer than the stall timeout', async () => {
    let session!: ServeSession;
    const slow = spawnIpcPeer({
      mode: 'sink',
      initiator: true,
      skipBytes: MEDIA_HEADER_BYTES,
      sendOnConnect: [encodeControl({ t: 'play', offset: 0, fast: true })],
    });
    children.push(slow);
    let received = 0;
    slow.on((m) => {
      if (m.type === 'signal') session.signal(m.data);
      if (m.type === 'progress') received = m.bytes;
    });
    session = new ServeSession({
      sessionId: 'stalled-viewer-1',
      source: createStoreSource(store, BULK_ID),
      offset: 0,
      signal: (d) => slow.signal(d),
      pacing: false,
      timeouts: { stallMs: 1_500, connectMs: CHILD_PEER_CONNECT_MS },
    });
    sessions.push(session);
    const closed = new Promise<string>((r) => session.once('closed', (reason) => r(reason)));
    await until('bytes flowing', () => received > 1024 * 1024);
    slow.child.kill('SIGSTOP');
    expect(await closed).toBe('stalled');
    expect(session.state).toBe('closed');
  });
});
