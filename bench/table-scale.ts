// The shared state table at scale: 1,000 → 10,000 servers holding 1,000,000 assets. What each change
// costs every hub (and every replica) to apply, and what it costs on the wire, must stay flat as the
// cluster grows — the property that lets several hubs share one table through Redis (issue 16).
import { StateTable } from '../signaling/protocol/state-table.js';
import type { AssetInfo, Delta, ServerEntry, ServerLoad, VersionedDelta } from '../signaling/protocol/types.js';
import { seededRng } from '../test/helpers/seeded-rng.js';

/** Copies of each asset in storage (a recording lives on its primary and backup, plus one replica). */
const STORAGE_COPIES = 3;
/** Assets each server holds in its cache (a 64-MiB cache of 8-MiB blocks holds a handful of hot assets). */
const CACHED_PER_SERVER = 20;
/** Changes timed per cluster size, in the mix a running cluster sends (mostly load reports). */
const CHANGES_FULL = 200_000;
const CHANGES_QUICK = 50_000;

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function asset(i: number): AssetInfo {
  return {
    id: `a${i}`,
    bytes: 50_000_000 + (i % 1000) * 10_000,
    mime: 'video/webm; codecs="vp8, opus"',
    durationMs: 600_000,
    bitrateBps: 1_000_000,
  };
}

const idleLoad = (): ServerLoad => ({ sessions: 0, egressMbps: 0, cpu: 0 });

/** A table of `servers` servers over `assets` assets, built through the reducer as a hub builds it. */
function buildTable(servers: number, assets: number, rand: () => number): StateTable {
  const storage: AssetInfo[][] = Array.from({ length: servers }, () => []);
  for (let a = 0; a < assets; a++) for (let c = 0; c < STORAGE_COPIES; c++) storage[(a * STORAGE_COPIES + c) % servers]!.push(asset(a));
  const table = new StateTable();
  for (let s = 0; s < servers; s++) {
    const entry: ServerEntry = {
      id: `s${s}`,
      region: `r${s % 20}`,
      lat: rand() * 140 - 70,
      lon: rand() * 360 - 180,
      roles: ['edge', 'ingest'],
      maxSessions: 500,
      uplinkMbps: 10_000,
      load: idleLoad(),
      cache: Array.from({ length: CACHED_PER_SERVER }, () => `a${Math.floor(rand() * assets)}`),
      storage: storage[s]!,
      live: [],
      joinedAtMs: 0,
    };
    table.commit({ type: 'server-joined', server: entry });
  }
  return table;
}

/** The changes a running cluster sends, by share: load reports dominate, then cache churn, then storage and live. */
function changes(n: number, servers: number, assets: number, rand: () => number): Delta[] {
  const out: Delta[] = [];
  for (let i = 0; i < n; i++) {
    const id = `s${Math.floor(rand() * servers)}`;
    const a = `a${Math.floor(rand() * assets)}`;
    const r = rand();
    if (r < 0.7) out.push({ type: 'load', id, load: { sessions: Math.floor(rand() * 500), egressMbps: rand() * 5000, cpu: rand() } });
    else if (r < 0.8) out.push({ type: 'cache-add', id, assets: [a] });
    else if (r < 0.9) out.push({ type: 'cache-remove', id, assets: [a] });
    else if (r < 0.95) out.push({ type: 'storage-add', id, assets: [asset(Math.floor(rand() * assets))] });
    else
      out.push({
        type: 'live',
        id,
        stream: { id: `live-${i}`, bytes: i * 1000, live: true, mime: 'video/webm; codecs="vp8, opus"', startedAtMs: 0 },
      });
  }
  return out;
}

export async function benchTableScale(opts: { quick: boolean }): Promise<Record<string, number>> {
  const assets = opts.quick ? 100_000 : 1_000_000;
  const sizes = opts.quick ? [1_000, 10_000] : [1_000, 3_000, 10_000];
  const n = opts.quick ? CHANGES_QUICK : CHANGES_FULL;
  const figures: Record<string, number> = { 'sim.table.assets': assets };
  for (const servers of sizes) {
    const rand = seededRng(servers);
    const t0 = performance.now();
    const table = buildTable(servers, assets, rand);
    const buildS = (performance.now() - t0) / 1000;
    const deltas = changes(n, servers, assets, rand);
    // Encode as the hub sends them (versioned, JSON), decode and offer as every replica does.
    let bytes = 0;
    const replica = StateTable.fromSnapshot(table.snapshot());
    const wire: string[] = [];
    for (const d of deltas) {
      const vd: VersionedDelta = table.commit(d);
      const s = JSON.stringify(vd);
      bytes += Buffer.byteLength(s);
      wire.push(s);
    }
    const t1 = performance.now();
    for (const s of wire) replica.offer(JSON.parse(s) as VersionedDelta);
    const applyUs = ((performance.now() - t1) * 1000) / n;
    if (replica.version !== table.version) throw new Error(`replica at ${replica.version}, table at ${table.version}`);
    figures[`sim.table.apply_us_per_delta.${servers}`] = round(applyUs);
    figures[`sim.table.delta_bytes_mean.${servers}`] = round(bytes / n, 1);
    figures[`sim.table.build_s.${servers}`] = round(buildS, 1);
  }
  const lo = figures[`sim.table.apply_us_per_delta.${sizes[0]}`]!;
  const hi = figures[`sim.table.apply_us_per_delta.${sizes.at(-1)}`]!;
  figures['sim.table.apply_ratio_10000_vs_1000'] = round(hi / lo);
  figures['sim.table.delta_bytes_ratio_10000_vs_1000'] = round(
    figures[`sim.table.delta_bytes_mean.${sizes.at(-1)}`]! / figures[`sim.table.delta_bytes_mean.${sizes[0]}`]!,
  );
  return figures;
}
