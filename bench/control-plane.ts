// Control-plane benchmarks: watch round trip through hub and director, and
// state-table replication to 100 replicas, each against a baseline from the same run.
import { io, type Socket } from 'socket.io-client';
import { Hub } from '../signaling/hub.js';
import { mintServerToken } from '../signaling/auth.js';
import { StateTable, type ServerDescriptor, type TableSnapshot, type VersionedDelta } from '../signaling/protocol/index.js';
import { Cluster } from '../test/helpers/cluster.js';

const SECRET = 'bench-secret';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function connect(url: string, ns: string, auth?: object): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${url}${ns}`, { transports: ['websocket'], reconnection: false, auth });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** `watch` → reply through hub and director (real processes), vs a plain socket.io round trip to the hub. */
export async function benchWatchRtt(opts: { quick: boolean }): Promise<Record<string, number>> {
  const cluster = await new Cluster({ heartbeatMs: 1000, rotationMs: 0 }).start();
  try {
    const c = await connect(cluster.hubUrl, '/client');
    const n = opts.quick ? 100 : 500;
    const watch: number[] = [];
    const echo: number[] = [];
    for (let i = 0; i < n; i++) {
      let t = performance.now();
      await c.emitWithAck('catalog');
      echo.push(performance.now() - t);
      t = performance.now();
      const r = await c.emitWithAck('watch', { assetId: 'demo-testsrc' });
      watch.push(performance.now() - t);
      if (!r.ok) throw new Error(`watch failed: ${r.message}`);
      c.emit('leave', { sessionId: r.sessionId });
      // Two requests per round: stay under the per-connection rate limit (20/s) the hub enforces.
      await new Promise((res) => setTimeout(res, 110));
    }
    c.close();
    const p50 = percentile(watch, 50);
    return {
      'director.watch_rtt_ms_p50': round(p50),
      'director.watch_rtt_ms_p99': round(percentile(watch, 99)),
      'director.socketio_echo_rtt_ms_p50': round(percentile(echo, 50)),
      'director.watch_rtt_ratio_vs_socketio_echo_p50': round(p50 / percentile(echo, 50), 2),
    };
  } finally {
    await cluster.stop();
  }
}

function descriptor(id: string, assets: number): ServerDescriptor {
  return {
    id,
    region: `r${id.length % 5}`,
    lat: 0,
    lon: 0,
    roles: ['edge'],
    maxSessions: 100,
    uplinkMbps: 1000,
    load: { sessions: 0, egressMbps: 0, cpu: 0 },
    cache: [],
    storage: Array.from({ length: assets }, (_, i) => ({ id: `asset-${i}`, bytes: 1_000_000 + i, mime: 'video/webm; codecs="vp8, opus"' })),
    live: [],
  };
}

/** One delta reaching 100 replicas (socket.io clients holding StateTable replicas), and delta vs snapshot size. */
export async function benchReplication(opts: { quick: boolean }): Promise<Record<string, number>> {
  const hub = new Hub({ port: 0, clusterSecret: SECRET, heartbeatMs: 60_000, rotationMs: 0, clientRatePerS: 1e6, clientBurst: 1e6 });
  const url = await hub.start();
  const replicas: { socket: Socket; table: StateTable; onApplied?: () => void }[] = [];
  try {
    const N = 100;
    for (let i = 0; i < N; i++) {
      const id = `srv-${String(i).padStart(3, '0')}`;
      const socket = await connect(url, '/server', { token: mintServerToken(SECRET, id, Date.now()) });
      const r = replicas[replicas.push({ socket, table: new StateTable() }) - 1]!;
      socket.on('deltas', (batch: VersionedDelta[]) => {
        for (const vd of batch) r.table.offer(vd);
        r.onApplied?.();
      });
      const ack = await socket.emitWithAck('register', descriptor(id, opts.quick ? 1000 : 10_000));
      if (!ack.ok) throw new Error(ack.message);
      r.table.load(ack.snapshot as TableSnapshot);
    }
    const rounds = opts.quick ? 100 : 300;
    const lat: number[] = [];
    for (let k = 0; k < rounds; k++) {
      const asset = `asset-${k % 1000}`;
      const reporter = replicas[k % N]!;
      const target = hub.table.version + 1;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        let pending = N;
        for (const r of replicas) {
          const check = () => {
            if (r.table.version >= target) {
              r.onApplied = undefined;
              if (--pending === 0) resolve();
              return true;
            }
            return false;
          };
          if (!check()) r.onApplied = check;
        }
        reporter.socket.emit('report', [{ type: 'cache-add', assets: [asset] }], () => {});
      });
      lat.push(performance.now() - t0);
    }
    // Size at the scale: 100 servers × 10,000 assets (in quick mode, scaled from 1,000).
    const snapshotBytes = JSON.stringify(hub.table.snapshot()).length * (opts.quick ? 10 : 1);
    const oneDelta = JSON.stringify([{ v: 1, d: { type: 'cache-add', id: 'srv-000', assets: ['asset-1'] } }]).length;
    return {
      'replication.p50_ms_100_servers': round(percentile(lat, 50)),
      'replication.p99_ms_100_servers': round(percentile(lat, 99)),
      'replication.delta_bytes': oneDelta,
      'replication.snapshot_bytes_100x10000': snapshotBytes,
      'replication.delta_to_snapshot_bytes_ratio': oneDelta / snapshotBytes,
    };
  } finally {
    for (const r of replicas) r.socket.close();
    await hub.close();
  }
}
