// Prometheus metrics of one media server (prom-client), on a registry of its own.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MediaServer } from './media-server.js';

export function createServerMetrics(server: MediaServer) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'baton_server_process_' });
  const registers = [registry];
  new Gauge({ name: 'baton_server_sessions', help: 'Open viewer sessions', registers, collect() { this.set(server.sessionCount); } });
  new Gauge({ name: 'baton_server_storage_read_bytes', help: 'Bytes read from disk storage since start', registers, collect() { this.set(server.store.bytesRead); } });
  new Gauge({ name: 'baton_server_cache_used_bytes', help: 'Bytes held by the cache', registers, collect() { this.set(server.cache.usedBytes); } });
  new Gauge({ name: 'baton_server_cache_budget_bytes', help: 'Cache byte budget', registers, collect() { this.set(server.cache.budgetBytes); } });
  new Gauge({ name: 'baton_server_cache_assets', help: 'Assets with at least one block in the cache', registers, collect() { this.set(server.cache.assets().length); } });
  new Gauge({
    name: 'baton_server_cache_requests',
    help: 'Cache block lookups since start, by result',
    labelNames: ['result'],
    registers,
    collect() {
      const s = server.cache.stats();
      this.set({ result: 'hit' }, s.hits);
      this.set({ result: 'miss' }, s.misses);
    },
  });
  new Gauge({
    name: 'baton_server_cache_bytes',
    help: 'Bytes served since start, by where they came from',
    labelNames: ['source'],
    registers,
    collect() {
      const s = server.cache.stats();
      this.set({ source: 'cache' }, s.hitBytes);
      this.set({ source: 'storage' }, s.missBytes);
    },
  });
  new Gauge({ name: 'baton_server_ingest_bytes', help: 'Broadcast bytes received since start', registers, collect() { this.set(server.ingestBytes); } });
  new Gauge({ name: 'baton_server_ingest_sessions', help: 'Open broadcaster (ingest) sessions', registers, collect() { this.set(server.ingestSessionCount); } });
  new Gauge({ name: 'baton_server_table_version', help: 'Version of the local state-table replica', registers, collect() { this.set(server.table.version); } });
  return {
    registry,
    isDirector: new Gauge({ name: 'baton_server_is_director', help: '1 while this server holds the director role', registers }),
    egressBytes: new Counter({ name: 'baton_server_egress_bytes_total', help: 'Media bytes sent to viewers', registers }),
    decisions: new Counter({ name: 'baton_server_director_decisions_total', help: 'Selections made as director, by result', labelNames: ['result'], registers }),
    iceDropped: new Counter({ name: 'baton_server_ice_candidates_dropped_total', help: 'Remote ICE candidates not probed (hostname, restricted address, malformed), by reason', labelNames: ['reason'], registers }),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
