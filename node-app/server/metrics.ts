// Prometheus metrics of one media server (prom-client), on a registry of its own.
// Names follow Prometheus practice: one `baton_server_` prefix, base units as the
// last word, `_total` on counters (figures that only grow since start).
import { Counter, Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../signaling/process-metrics.js';
import type { BlockCache } from '../cache/index.js';

/** What the metrics read when scraped (the media server satisfies it; no import of it here, so no circle). */
export interface MetricsSource {
  readonly sessionCount: number;
  readonly store: { readonly bytesRead: number };
  readonly cache: BlockCache;
  readonly ingestBytes: number;
  readonly ingestSessionCount: number;
  readonly table: { readonly version: number };
}

/** A counter read from a running total when scraped. */
function totalCounter(name: string, help: string, registers: Registry[], read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createServerMetrics(server: MetricsSource) {
  const registry = new Registry();
  collectProcessMetrics(registry, 'baton_server_');
  const registers = [registry];
  new Gauge({
    name: 'baton_server_sessions',
    help: 'Open viewer sessions',
    registers,
    collect() {
      this.set(server.sessionCount);
    },
  });
  totalCounter(
    'baton_server_storage_read_bytes_total',
    'Bytes read from disk storage since start (a range read once for every reader waiting on it at the same moment)',
    registers,
    () => server.store.bytesRead,
  );
  new Gauge({
    name: 'baton_server_cache_used_bytes',
    help: 'Bytes held by the cache',
    registers,
    collect() {
      this.set(server.cache.usedBytes);
    },
  });
  new Gauge({
    name: 'baton_server_cache_budget_bytes',
    help: 'Cache byte budget',
    registers,
    collect() {
      this.set(server.cache.budgetBytes);
    },
  });
  new Gauge({
    name: 'baton_server_cache_assets',
    help: 'Assets with at least one block in the cache',
    registers,
    collect() {
      this.set(server.cache.assets().length);
    },
  });
  new Counter({
    name: 'baton_server_cache_lookups_total',
    help: 'Cache block lookups since start, by result',
    labelNames: ['result'],
    registers,
    collect() {
      const s = server.cache.stats();
      this.reset();
      this.inc({ result: 'hit' }, s.hits);
      this.inc({ result: 'miss' }, s.misses);
    },
  });
  new Counter({
    name: 'baton_server_cache_read_bytes_total',
    help: 'Bytes read through the cache since start, by where they came from (storage: missed the cache; several sessions missing one block at once share one disk read)',
    labelNames: ['source'],
    registers,
    collect() {
      const s = server.cache.stats();
      this.reset();
      this.inc({ source: 'cache' }, s.hitBytes);
      this.inc({ source: 'storage' }, s.missBytes);
    },
  });
  totalCounter('baton_server_ingest_bytes_total', 'Broadcast bytes received since start', registers, () => server.ingestBytes);
  new Gauge({
    name: 'baton_server_ingest_sessions',
    help: 'Open broadcaster (ingest) sessions',
    registers,
    collect() {
      this.set(server.ingestSessionCount);
    },
  });
  new Gauge({
    name: 'baton_server_table_version',
    help: 'Version of the local state-table replica',
    registers,
    collect() {
      this.set(server.table.version);
    },
  });
  const whepFeedback = new Counter({
    name: 'baton_server_whep_feedback_total',
    help: 'RTCP feedback messages from WHEP players, by kind (pli: a keyframe asked for; nack: lost packets asked back)',
    labelNames: ['kind'],
    registers,
  });
  const whepNackedPackets = new Counter({
    name: 'baton_server_whep_nacked_packets_total',
    help: 'RTP packets WHEP players asked back, by result (resent; unavailable: older than the kept history; refused: over the resend or lookup bounds, not resent or not read)',
    labelNames: ['result'],
    registers,
  });
  // Zero series from the start, so a dashboard's rate() has a baseline before the first player asks.
  for (const kind of ['pli', 'nack']) whepFeedback.inc({ kind }, 0);
  for (const result of ['resent', 'unavailable', 'refused']) whepNackedPackets.inc({ result }, 0);
  return {
    registry,
    whepFeedback,
    whepNackedPackets,
    isDirector: new Gauge({ name: 'baton_server_is_director', help: '1 while this server holds the director role', registers }),
    egressBytes: new Counter({ name: 'baton_server_egress_bytes_total', help: 'Media bytes sent to viewers', registers }),
    decisions: new Counter({
      name: 'baton_server_director_decisions_total',
      help: 'Selections made as director, by result',
      labelNames: ['result'],
      registers,
    }),
    iceDropped: new Counter({
      name: 'baton_server_ice_candidates_dropped_total',
      help: 'Remote ICE candidates not probed (hostname, restricted address, malformed), by reason',
      labelNames: ['reason'],
      registers,
    }),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
