// Benchmark: one director decision (selectServer) on a 1,000-server × 100,000-asset state table.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { selectServer } from '../node-app/director/select.js';
import { DEFAULT_LOAD_WEIGHTS } from '../signaling/protocol/load-factor.js';
import { StateTable } from '../signaling/protocol/state-table.js';
import type { AssetInfo, ServerEntry } from '../signaling/protocol/types.js';
import { seededRng } from '../test/helpers/seeded-rng.js';

const SERVERS = 1_000;
const ASSETS = 100_000;
/** Each asset is on this many servers' disks. */
const STORAGE_REPLICAS = 3;
/** Share of assets that are in some cache, and how many caches hold each of those. */
const CACHED_SHARE = 0.2;
const MAX_CACHE_HOLDERS = 4;
/** Share of requests for an asset nobody has, and of requests that exclude a server. */
const UNKNOWN_SHARE = 0.01;
const EXCLUDE_SHARE = 0.05;
const WARMUP_DECISIONS = 20_000;

const serverId = (i: number) => `srv-${String(i).padStart(4, '0')}`;
const assetId = (i: number) => `asset-${String(i).padStart(6, '0')}`;

/** The cluster: every asset on a few disks, a fifth of them in a few caches, loads all over the range. */
export function buildTable(random: () => number): StateTable {
  const entries: ServerEntry[] = Array.from({ length: SERVERS }, (_, i) => ({
    id: serverId(i),
    region: `r${i % 8}`,
    lat: random() * 140 - 70,
    lon: random() * 360 - 180,
    roles: i % 10 === 0 ? ['edge', 'ingest'] : ['edge'],
    maxSessions: 200,
    uplinkMbps: 10_000,
    joinedAtMs: 0,
    load: { sessions: Math.floor(random() * 200), egressMbps: random() * 10_000, cpu: random() },
    cache: [],
    storage: [] as AssetInfo[],
    live: [],
  }));
  for (let a = 0; a < ASSETS; a++) {
    const info: AssetInfo = { id: assetId(a), bytes: 50_000_000, mime: 'video/webm; codecs="vp8, opus"' };
    for (let r = 0; r < STORAGE_REPLICAS; r++) entries[Math.floor(random() * SERVERS)]!.storage.push(info);
    if (random() < CACHED_SHARE) {
      const holders = 1 + Math.floor(random() * MAX_CACHE_HOLDERS);
      for (let c = 0; c < holders; c++) entries[Math.floor(random() * SERVERS)]!.cache.push(info.id);
    }
  }
  const table = new StateTable();
  for (const e of entries) table.commit({ type: 'server-joined', server: e });
  table.commit({ type: 'director', director: { id: serverId(0), epoch: 1, sinceMs: 0 } });
  return table;
}

/**
 * Time single `selectServer` calls over random requests (some for unknown
 * assets, some with an excluded server) and report percentiles in µs.
 * `quick` takes 20,000 samples instead of 200,000; the table is full size either way.
 */
export async function benchDirectorDecision(opts: { quick: boolean }): Promise<Record<string, number>> {
  const random = seededRng(0xba70);
  const table = buildTable(random);
  const self = serverId(0);
  const options = { weights: DEFAULT_LOAD_WEIGHTS };
  const samples = opts.quick ? 20_000 : 200_000;

  const requests = Array.from({ length: WARMUP_DECISIONS + samples }, () => {
    const unknown = random() < UNKNOWN_SHARE;
    const id = unknown ? `missing-${Math.floor(random() * 1000)}` : assetId(Math.floor(random() * ASSETS));
    const exclude = random() < EXCLUDE_SHARE ? [serverId(Math.floor(random() * SERVERS))] : undefined;
    return { assetId: id, exclude };
  });

  let sink = 0;
  for (let i = 0; i < WARMUP_DECISIONS; i++) {
    const r = selectServer(table, requests[i]!, self, options);
    if (r.ok) sink += r.loadFactor;
  }
  const us = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const req = requests[WARMUP_DECISIONS + i]!;
    const t0 = process.hrtime.bigint();
    const r = selectServer(table, req, self, options);
    const t1 = process.hrtime.bigint();
    us[i] = Number(t1 - t0) / 1000;
    if (r.ok) sink += r.loadFactor;
  }
  if (!Number.isFinite(sink)) throw new Error('unreachable: keeps the decisions observable');
  us.sort();
  const pct = (p: number) => round3(us[Math.min(samples - 1, Math.floor(p * samples))]!);
  return { 'director.decision_us_p50': pct(0.5), 'director.decision_us_p99': pct(0.99) };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const invokedAs = process.argv[1];
if (invokedAs && import.meta.url === pathToFileURL(resolve(invokedAs)).href) {
  const quick = process.argv.includes('--quick');
  console.log(JSON.stringify(await benchDirectorDecision({ quick }), null, 2));
}
