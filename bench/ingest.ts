// Ingest benchmarks on a real 3-server cluster: dual-upload overhead, live transport latency
// (Node publisher → Node viewer; no camera, encoder or browser), live failover stall.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, type ServerSpec } from '../test/helpers/cluster.js';
import { publishFile } from '../node-app/ingest/node-publisher.js';
import { watchStream } from '../node-app/delivery/node-viewer.js';
import type { Viewer } from '../client-sdk/viewer.js';

const SERVERS: ServerSpec[] = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: [] },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: [] },
  { id: 'sin-1', region: 'ap-southeast', lat: 1.29, lon: 103.85, ingest: true, assets: [] },
];

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Pushed {
  end: number;
  atMs: number;
}

/**
 * A paced broadcast of `clip` with one live viewer joined right after the first
 * chunk. Returns when both are done; `kill` (if given) picks a moment to SIGKILL
 * the viewer's server, and the stall is measured from there to the first bytes
 * that come from another server (bytes already in flight from the killed one do not count).
 */
async function liveRun(cluster: Cluster, clip: string, streamId: string, speed: number, killAtFraction?: number) {
  const src = readFileSync(join(MEDIA_DIR, `${clip}.webm`));
  const pushed: Pushed[] = [];
  const received: Pushed[] = [];
  let killedAt: number | undefined;
  let victim: string | undefined;
  let firstAfterKill: number | undefined;
  let killing: Promise<unknown> | undefined;
  let viewerStarted: Promise<Awaited<ReturnType<typeof watchStream>>> | undefined;
  const pub = publishFile({
    hubUrl: cluster.hubUrl,
    file: join(MEDIA_DIR, `${clip}.webm`),
    location: 'Lisbon',
    streamKey: 'test-key',
    streamId,
    speed,
    onChunk: (offset, n, atMs) => pushed.push({ end: offset + n, atMs }),
  });
  // The director routes viewers of a live stream to its live holders only.
  for (let i = 0; i < 100 && !viewerStarted; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const s = await cluster.state();
    // As soon as it is live, before its second Cluster: the viewer's offsets are then the file's.
    if (!s.servers.some((x) => (x.live as Array<{ id: string }>).some((l) => l.id === streamId))) continue;
    let received0 = 0;
    viewerStarted = watchStream({ hubUrl: cluster.hubUrl, assetId: streamId, timeoutMs: 120_000 }, (bytes: Uint8Array, viewer: Viewer) => {
      const t = performance.now();
      received0 += bytes.byteLength;
      received.push({ end: viewer.offset, atMs: t });
      if (killedAt !== undefined && firstAfterKill === undefined && viewer.session != null && viewer.session.server.id !== victim)
        firstAfterKill = t;
      if (killAtFraction !== undefined && !killing && received0 > src.length * killAtFraction) {
        victim = viewer.session!.server.id;
        killedAt = performance.now();
        killing = cluster.kill(victim, 'SIGKILL');
      }
    });
  }
  if (!viewerStarted) throw new Error(`${streamId} was never reported live`);
  const [p, w] = await Promise.all([pub, viewerStarted]);
  await killing;
  return {
    src,
    p,
    w,
    pushed,
    received,
    stallMs: killedAt !== undefined && firstAfterKill !== undefined ? firstAfterKill - killedAt : undefined,
  };
}

/**
 * Live transport: for every chunk pushed after the viewer joined, the time from
 * the Node publisher reading it from the file to the Node viewer's callback
 * holding its last byte (both in this process; hub and servers are child processes). The viewer joins at offset 0
 * before a second Cluster exists, so its offsets are the file's.
 */
function transportTimes(pushed: Pushed[], received: Pushed[]): number[] {
  const out: number[] = [];
  let j = 0;
  const start = received[0]?.atMs ?? Infinity;
  for (const c of pushed) {
    while (j < received.length && received[j]!.end < c.end) j++;
    if (j >= received.length) break;
    if (c.atMs >= start) out.push(received[j]!.atMs - c.atMs);
  }
  return out;
}

export async function benchIngest(opts: { quick: boolean }): Promise<Record<string, number>> {
  const cluster = await new Cluster({ heartbeatMs: 300, rotationMs: 0, servers: SERVERS }).start();
  try {
    const out: Record<string, number> = {};
    // 1. Dual upload as fast as the quotas allow: what the wire carries per stream byte.
    const fast = await publishFile({
      hubUrl: cluster.hubUrl,
      file: join(MEDIA_DIR, 'demo-mandelbrot.webm'),
      location: 'Lisbon',
      streamKey: 'test-key',
      streamId: 'bench-fast',
      fast: true,
    });
    out['ingest.upload_overhead_ratio_fast'] = round(fast.wireBytes / fast.bytes, 4);
    out['ingest.fast_upload_mbps'] = round((fast.bytes * 8) / (fast.elapsedMs * 1000), 1);

    // 2. A live broadcast at its bitrate (100 ms chunks, like MediaRecorder) with a live viewer.
    const speed = opts.quick ? 2 : 1;
    const live = await liveRun(cluster, 'demo-testsrc', 'bench-live', speed);
    if (live.w.sha256 === undefined || live.w.bytes !== live.src.length)
      throw new Error(`live viewer got ${live.w.bytes} of ${live.src.length} bytes`);
    const transport = transportTimes(live.pushed, live.received);
    out['ingest.upload_overhead_ratio'] = round(live.p.wireBytes / live.p.bytes, 4);
    out['live.publish_speed'] = speed;
    out['live.transport_ms_p50'] = round(percentile(transport, 50), 1);
    out['live.transport_ms_p95'] = round(percentile(transport, 95), 1);

    // 3. The live viewer's server is SIGKILLed: how long until bytes flow again from another server.
    const failover = await liveRun(cluster, 'demo-testsrc', 'bench-failover', speed, 0.4);
    if (failover.stallMs !== undefined) out['ingest.failover_stall_ms'] = round(failover.stallMs, 1);
    out['ingest.failover_viewer_complete'] = failover.w.bytes === failover.src.length && failover.w.failovers.length > 0 ? 1 : 0;
    return out;
  } finally {
    await cluster.stop();
  }
}

// Runnable on its own: `node bin/run-ts.js bench/ingest.ts [--quick]`.
if (process.argv[1]?.endsWith('bench/ingest.ts')) {
  benchIngest({ quick: process.argv.includes('--quick') }).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}
