// Node process metrics (prom-client's defaults) under one Baton prefix, shared by the hub and media servers.
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client gauges whose names end in `_total` (a counter's suffix); their
 * per-type twins (`nodejs_active_handles{type}` …) carry the same figures.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Registers the process metrics as `<prefix>process_cpu_user_seconds_total`, `<prefix>nodejs_heap_size_used_bytes`, … */
export function collectProcessMetrics(registry: Registry, prefix: 'baton_hub_' | 'baton_server_'): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(prefix + name);
}
