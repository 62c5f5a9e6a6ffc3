// Control-plane benchmarks: watch round trip through hub and director, and
// state-table replication to 100 replicas, each against a baseline from the same run.
import { io, type Socket } from 'socket.io-client';
import { Hub } from '../signaling/hub.js';
import { mintServerToken } from '../signaling/auth.js';
import { StateTable, type ServerDescriptor, type TableSnapshot, type VersionedDelta } from '../signaling/protocol/index.js';
import { Cluster } from '../test/helpers/cluster.js';

const SECRET = 'bench-secret';
/** The replicas heartbeat like real servers, so that a slow (loaded) set-up does not get them expired by the hub. */
const REPLICA_HEARTBEAT_MS = 10_000;
/** A delta that has not reached every replica by then is lost: fail rather than wait forever. */
const ROUND_TIMEOUT_MS = 60_000;

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

/**
 * `watch` → reply through hub and director (real processes), vs `catalog` → reply, a request the hub
 * answers alone from its table (no director, no media server): the same socket, alternating.
 */
export async function benchWatchRtt(opts: { quick: boolean }): Promise<Record<string, number>> {
  const cluster = await new Cluster({ heartbeatMs: 1000, rotationMs: 0 }).start();
  try {
    const c = await connect(cluster.hubUrl, '/client');
    const n = opts.quick ? 100 : 500;
    const watch: number[] = [];
    const catalog: number[] = [];
    for (let i = 0; i < n; i++) {
      let t = performance.now();
      await c.emitWithAck('catalog');
      catalog.push(performance.now() - t);
      t = performance.now();
      const r = await c.emitWithAck('watch', { assetId: 'demo-testsrc' });
      watch.push(performance.now() - t);
      if (!r.ok) throw new Error(`watch failed: ${r.message}`);
      c.emit('leave', { sessionId: r.sessionId });
      // Three requests per round (catalog, watch, leave): stay under the per-connection rate limit
      // (20/s) the hub enforces; a leave it drops would keep the session counted against the
      // connection's cap of unconnected sessions.
      await new Promise((res) => setTimeout(res, 160));
    }
    c.close();
    const p50 = percentile(watch, 50);
    return {
      'director.watch_rtt_ms_p50': round(p50),
      'director.watch_rtt_ms_p99': round(percentile(watch, 99)),
      'director.catalog_rtt_ms_p50': round(percentile(catalog, 50)),
      'director.watch_rtt_ratio_vs_catalog_p50': round(p50 / percentile(catalog, 50), 2),
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

/** The table the hub would hold with `servers` servers of `assets` stored assets each, built by the production reducer. */
function tableAt(servers: number, assets: number): StateTable {
  const table = new StateTable();
  for (let i = 0; i < servers; i++)
    table.commit({ type: 'server-joined', server: { ...descriptor(`srv-${String(i).padStart(3, '0')}`, assets), joinedAtMs: Date.now() } });
  return table;
}

/**
 * One delta reaching 100 replicas: the hub and 100 socket.io clients holding StateTable replicas,
 * all in this one process (so the figure includes no cross-process scheduling); and the size of the
 * delta batches the replicas received, against a snapshot at 100 servers × 10,000 assets.
 */
export async function benchReplication(opts: { quick: boolean }): Promise<Record<string, number>> {
  const hub = new Hub({ port: 0, clusterSecret: SECRET, heartbeatMs: 60_000, rotationMs: 0, clientRatePerS: 1e6, clientBurst: 1e6 });
  const url = await hub.start();
  const replicas: { socket: Socket; table: StateTable; onApplied?: () => void }[] = [];
  const beat = setInterval(() => {
    for (const r of replicas) r.socket.emit('heartbeat', {});
  }, REPLICA_HEARTBEAT_MS);
  /** Why replicas lost their connection (on a loaded machine: socket.io ping timeouts while this one process is busy). */
  const disconnects: string[] = [];
  /** Serialised size of each `deltas` batch replica 0 received during the timed rounds. */
  const batchBytes: number[] = [];
  let timing = false;
  try {
    const N = 100;
    for (let i = 0; i < N; i++) {
      const id = `srv-${String(i).padStart(3, '0')}`;
      const socket = await connect(url, '/server', { token: mintServerToken(SECRET, id, Date.now()) });
      const r = replicas[replicas.push({ socket, table: new StateTable() }) - 1]!;
      socket.on('disconnect', (reason) => disconnects.push(`${id}: ${reason}`));
      socket.on('deltas', (batch: VersionedDelta[]) => {
        if (timing && i === 0) batchBytes.push(JSON.stringify(batch).length);
        for (const vd of batch) r.table.offer(vd);
        r.onApplied?.();
      });
      const ack = await socket.emitWithAck('register', descriptor(id, opts.quick ? 1000 : 10_000));
      if (!ack.ok) throw new Error(ack.message);
      r.table.load(ack.snapshot as TableSnapshot);
    }
    const rounds = opts.quick ? 100 : 300;
    const lat: number[] = [];
    timing = true;
    for (let k = 0; k < rounds; k++) {
      const asset = `asset-${k % 1000}`;
      const reporter = replicas[k % N]!;
      const target = hub.table.version + 1;
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        let pending = N;
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `round ${k}: ${pending} of ${N} replicas never reached version ${target}; ${disconnects.length} disconnected (${disconnects.slice(0, 3).join(', ')})`,
              ),
            ),
          ROUND_TIMEOUT_MS,
        );
        for (const r of replicas) {
          const check = () => {
            if (r.table.version >= target) {
              r.onApplied = undefined;
              if (--pending === 0) {
                clearTimeout(timer);
                resolve();
              }
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
    timing = false;
    if (batchBytes.length === 0) throw new Error('no delta batch reached replica 0');
    // The snapshot a server joining a 100 × 10,000 cluster is sent, measured at that scale in both modes.
    const snapshotBytes = JSON.stringify(tableAt(N, 10_000).snapshot()).length;
    const deltaBytes = percentile(batchBytes, 50);
    return {
      'replication.p50_ms_100_replicas_one_process': round(percentile(lat, 50)),
      'replication.p99_ms_100_replicas_one_process': round(percentile(lat, 99)),
      'replication.delta_bytes': deltaBytes,
      'replication.delta_bytes_max': Math.max(...batchBytes),
      'replication.snapshot_bytes_100x10000': snapshotBytes,
      'replication.delta_to_snapshot_bytes_ratio': deltaBytes / snapshotBytes,
    };
  } finally {
    clearInterval(beat);
    for (const r of replicas) r.socket.close();
    await hub.close();
  }
}
