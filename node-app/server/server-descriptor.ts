// What a media server registers with: its table entry (settings, load, cache, storage, live streams), read anew each time.
import type { Role, ServerDescriptor } from '../../signaling/protocol/index.js';
import type { BlockCache } from '../cache/index.js';
import type { IngestManager } from '../ingest/ingest-manager.js';
import type { DiskStore } from '../storage/disk-store.js';
import { DEFAULT_HEARTBEAT_MS } from './heartbeat.js';
import type { LoadReport } from './load-report.js';
import type { MediaServerOptions } from './media-server-options.js';

/** What the entry reads of the server's parts. */
export interface DescriptorParts {
  loadReport: Pick<LoadReport, 'measure'>;
  cache: Pick<BlockCache, 'assets'>;
  store: Pick<DiskStore, 'list'>;
  ingest: Pick<IngestManager, 'liveInfo'>;
  /** The ingest sessions this server takes when it has the ingest role. */
  maxIngestSessions: number;
  httpUrl: string | undefined;
  /** The epoch of the director in the server's replica, if any. */
  lastEpoch: number | undefined;
  instance: string;
}

export function serverDescriptor(o: MediaServerOptions, p: DescriptorParts): ServerDescriptor {
  return {
    id: o.id,
    region: o.region,
    lat: o.lat,
    lon: o.lon,
    roles: (o.ingest ? ['edge', 'ingest'] : ['edge']) as Role[],
    maxSessions: o.maxSessions,
    maxIngestSessions: o.ingest ? p.maxIngestSessions : 0,
    uplinkMbps: o.uplinkMbps,
    load: p.loadReport.measure(),
    cache: p.cache.assets(),
    storage: p.store.list(),
    live: p.ingest.liveInfo(),
    ...(p.httpUrl ? { httpUrl: p.httpUrl } : {}),
    ...(p.lastEpoch !== undefined ? { lastEpoch: p.lastEpoch } : {}),
    instance: p.instance,
    heartbeatMs: o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
  };
}
