// Prometheus metrics of the hub (prom-client), on a registry of its own.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';

/** What the hub's gauges read when scraped (so no request pays for them). */
export interface HubGaugeSources {
  sessionCounts(): { watch: number; publish: number };
}

export function createHubMetrics(src: HubGaugeSources) {
  const registry = new Registry();
  collectProcessMetrics(registry, 'baton_hub_');
  const m = {
    registry,
    servers: new Gauge({ name: 'baton_hub_servers', help: 'Media servers in the state table', registers: [registry] }),
    sessions: new Gauge({
      name: 'baton_hub_sessions',
      help: 'Client sessions being relayed',
      registers: [registry],
      labelNames: ['kind'],
      collect() {
        const c = src.sessionCounts();
        this.set({ kind: 'watch' }, c.watch);
        this.set({ kind: 'publish' }, c.publish);
      },
    }),
    tableVersion: new Gauge({ name: 'baton_hub_table_version', help: 'State table version', registers: [registry] }),
    directorEpoch: new Gauge({ name: 'baton_hub_director_epoch', help: 'Current director epoch', registers: [registry] }),
    selections: new Counter({
      name: 'baton_hub_selections_total',
      help: 'Viewer selections by reason',
      registers: [registry],
      labelNames: ['reason'],
    }),
    ingestAssignments: new Counter({
      name: 'baton_hub_ingest_assignments_total',
      help: 'Entry-server assignments: new broadcasts, and replacements after an entry server failed (ingest failovers)',
      registers: [registry],
      labelNames: ['kind'],
    }),
    directorChanges: new Counter({
      name: 'baton_hub_director_changes_total',
      help: 'Director changes by reason',
      registers: [registry],
      labelNames: ['reason'],
    }),
    missedHeartbeats: new Counter({
      name: 'baton_hub_missed_heartbeats_total',
      help: 'Servers removed after missing heartbeats',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'baton_hub_rejected_messages_total',
      help: 'Inbound messages refused',
      registers: [registry],
      labelNames: ['code'],
    }),
    authFailures: new Counter({
      name: 'baton_hub_auth_failures_total',
      help: 'Server connections refused at authentication',
      registers: [registry],
    }),
    crossHub: new Counter({
      name: 'baton_hub_cross_hub_messages_total',
      help: 'Messages between hubs on their inbox streams (several hubs): sent, received, dropped (Redis away past the bound), fallbacks (sent through the socket.io adapter instead)',
      registers: [registry],
      labelNames: ['kind'],
    }),
    deltas: new Counter({ name: 'baton_hub_deltas_total', help: 'State table deltas committed', registers: [registry] }),
    watchLatency: new Histogram({
      name: 'baton_hub_watch_duration_seconds',
      help: 'Time from a watch request to its reply',
      registers: [registry],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2],
    }),
  };
  return m;
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;

/** `baton_hub_whip_whep_resources{kind}`: the WHIP broadcasts and WHEP players a hub relays, read when scraped. */
export function countWhipWhep(registry: Registry, whip: { size: number }, whep: { size: number }): void {
  new Gauge({
    name: 'baton_hub_whip_whep_resources',
    help: 'WHIP broadcasts and WHEP players this hub relays',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'whip' }, whip.size);
      this.set({ kind: 'whep' }, whep.size);
    },
  });
}

/**
 * `baton_hub_attached_servers`: servers registered on other hubs that keep a connection to this one (several hubs), so
 * this hub asks them and opens their sessions directly instead of through their hub's inbox. Read when scraped.
 */
export function countAttached(registry: Registry, link: { attachments: number }): void {
  new Gauge({
    name: 'baton_hub_attached_servers',
    help: 'Servers registered on other hubs, attached to this one: asked directly, not through their hub',
    registers: [registry],
    collect() {
      this.set(link.attachments);
    },
  });
}
