// Delivery throughput between processes: the raw simple-peer channel, one ServeSession, one server to 8 viewers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createPeer } from '../node-app/webrtc/peer.js';
import { spawnIpcPeer, type IpcPeer } from '../node-app/webrtc/ipc-peer.js';
import { DiskStore } from '../node-app/storage/disk-store.js';
import { createStoreSource } from '../node-app/delivery/store-source.js';
import { ServeSession } from '../node-app/delivery/serve-session.js';
import { MAX_MEDIA_PAYLOAD_BYTES, MEDIA_HEADER_BYTES, encodeControl } from '../signaling/protocol/frames.js';

const MB = 1024 * 1024;
const RUN_TIMEOUT_MS = 120_000;

const mbps = (bytes: number, ms: number) => (bytes * 8) / 1e6 / (ms / 1000);

/** `delivery.*` figures: raw channel, one unpaced ServeSession, and one server feeding 8 viewer processes. */
export async function benchDelivery(opts: { quick: boolean }): Promise<Record<string, number>> {
  const rawBytes = (opts.quick ? 48 : 192) * MB;
  const assetBytes = (opts.quick ? 48 : 192) * MB;
  const viewers = 8;
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-delivery-'));
  const store = new DiskStore(dir);
  try {
    writeFileSync(join(dir, 'bench-bulk.webm'), randomBytes(assetBytes));
    await store.refresh();
    const raw = await rawChannel(rawBytes);
    const one = await serveToChildren(store, 'bench-bulk', 1);
    // Each of the 8 viewers gets the whole asset: 8× the bytes through one server process.
    const many = await serveToChildren(store, 'bench-bulk', viewers);
    return {
      'delivery.raw_channel_mbps': round(raw),
      'delivery.serve_session_mbps': round(one),
      [`delivery.egress_mbps_${viewers}_viewers`]: round(many),
      // 8 sessions' total egress ÷ ONE raw channel: how far one server's fan-out goes beyond a single channel, not a like-for-like ratio.
      [`delivery.egress_${viewers}_viewers_vs_one_raw_channel`]: round(many / raw, 3),
      // Like for like: one ServeSession vs one raw channel, same processes and frame size.
      'delivery.session_ratio_vs_raw_channel': round(one / raw, 3),
    };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Mbit/s of simple-peer over node-datachannel, the way a ServeSession sends (this
 * process writes, one write outstanding, to a viewer process), without reading or framing.
 */
async function rawChannel(totalBytes: number): Promise<number> {
  const frameBytes = MAX_MEDIA_PAYLOAD_BYTES + MEDIA_HEADER_BYTES;
  const child = spawnIpcPeer({ mode: 'sink', initiator: true, hash: false });
  const source = createPeer({ initiator: false });
  try {
    source.on('signal', (d: unknown) => child.signal(d));
    const finished = new Promise<number>((done) =>
      child.on((m) => {
        if (m.type === 'signal') source.signal(m.data as never);
        else if (m.type === 'text' && m.text === 'done') done(performance.now());
      }),
    );
    await withTimeout(new Promise<void>((done, fail) => (source.once('connect', () => done()), source.once('error', fail))), 'raw connect');
    const frame = new Uint8Array(frameBytes).fill(0x5a);
    const t0 = performance.now();
    for (let sent = 0; sent < totalBytes; sent += frameBytes) {
      await new Promise<void>((done, fail) => source.write(frame, (err?: Error | null) => (err ? fail(err) : done())));
    }
    source.send('done');
    const t1 = await withTimeout(finished, 'raw channel');
    return mbps(Math.ceil(totalBytes / frameBytes) * frameBytes, t1 - t0);
  } finally {
    source.destroy();
    await child.kill();
  }
}

/** Aggregate Mbit/s of unpaced ServeSessions in this process, each to a viewer in its own process. */
async function serveToChildren(store: DiskStore, assetId: string, count: number): Promise<number> {
  const size = store.stat(assetId)!.bytes;
  const children: IpcPeer[] = [];
  const sessions: ServeSession[] = [];
  try {
    const runs = Array.from({ length: count }, (_, i) => {
      const child = spawnIpcPeer({
        mode: 'sink',
        initiator: true,
        skipBytes: MEDIA_HEADER_BYTES,
        hash: false,
        sendOnConnect: [encodeControl({ t: 'play', offset: 0, fast: true })],
      });
      children.push(child);
      const session = new ServeSession({
        sessionId: `bench-session-${i}`,
        source: createStoreSource(store, assetId),
        offset: 0,
        signal: (d) => child.signal(d),
        pacing: false,
      });
      sessions.push(session);
      return new Promise<{ first: number; last: number; bytes: number }>((done, fail) => {
        let first = 0;
        let bytes = 0;
        session.on('sent', () => {
          if (!first) first = performance.now();
        });
        session.once('closed', (reason, err) => fail(new Error(`session closed early: ${reason} ${err?.message ?? ''}`)));
        child.on((m) => {
          if (m.type === 'signal') session.signal(m.data);
          else if (m.type === 'progress') bytes = m.bytes;
          else if (m.type === 'text' && m.text.includes('"end"')) done({ first, last: performance.now(), bytes });
        });
      });
    });
    const results = await withTimeout(Promise.all(runs), `${count} viewers`);
    for (const r of results) if (r.bytes !== size) throw new Error(`a viewer got ${r.bytes} of ${size} bytes`);
    const first = Math.min(...results.map((r) => r.first));
    const last = Math.max(...results.map((r) => r.last));
    return mbps(size * count, last - first);
  } finally {
    for (const s of sessions) s.close();
    await Promise.all(children.map((c) => c.kill()));
  }
}

export interface EgressOptions {
  /** Hub base URL, e.g. `http://127.0.0.1:8080`. */
  hubUrl: string;
  /** Bigger is better: small clips measure process start-up, not egress. */
  assetId: string;
  viewers: number;
}

/**
 * Aggregate egress through a real hub: `viewers` headless viewer processes watch
 * `assetId` unpaced at once (each runs node-app/delivery/node-viewer.ts); the
 * servers must run with `--allow-fast`, or the viewers are paced.
 */
export async function benchEgress(o: EgressOptions): Promise<Record<string, number>> {
  const script = resolve(import.meta.dirname, '../node-app/delivery/node-viewer.ts');
  const runs = Array.from(
    { length: o.viewers },
    () =>
      new Promise<{ bytes: number; firstAt: number; endAt: number; ttfbMs: number }>((done, fail) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, '--hub', o.hubUrl, '--asset', o.assetId, '--fast'], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.once('error', fail);
        child.once('close', () => {
          try {
            const r = JSON.parse(out.trim().split('\n').pop() ?? '{}');
            if (!r.ok) return fail(new Error(`viewer failed: ${r.code}: ${r.message}`));
            done({ bytes: r.bytes, firstAt: r.firstByteAtMs, endAt: r.endAtMs, ttfbMs: r.ttfbMs });
          } catch (err) {
            fail(err as Error);
          }
        });
      }),
  );
  const results = await withTimeout(Promise.all(runs), `${o.viewers} hub viewers`);
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  const ms = Math.max(...results.map((r) => r.endAt)) - Math.min(...results.map((r) => r.firstAt));
  const ttfb = results.map((r) => r.ttfbMs).sort((a, b) => a - b);
  return {
    [`delivery.hub_egress_mbps_${o.viewers}_viewers`]: round(mbps(bytes, ms)),
    'delivery.hub_ttfb_ms_p50': ttfb[Math.floor(ttfb.length / 2)]!,
  };
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
  return out;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not finish within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// `node bin/run-ts.js bench/delivery-throughput.ts [--quick]`
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  benchDelivery({ quick: process.argv.includes('--quick') }).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
