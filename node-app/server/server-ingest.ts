// A media server's ingest: its IngestManager wired to the hub, the catalog's rescans, the posters and the state table.
import type { OwnDelta, StateTable } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';
import { IngestManager } from '../ingest/ingest-manager.js';
import { ingestLimits } from '../ingest/ingest-limits.js';
import type { DiskStore } from '../storage/disk-store.js';
import type { PosterMaker } from '../storage/poster-maker.js';
import type { HubLink } from './hub-link.js';
import type { MediaServerOptions } from './media-server-options.js';
import { dropPoster } from './server-posters.js';

/** What the ingest is wired to (the server's other parts). */
export interface ServerIngestParts {
  store: DiskStore;
  /** The server's replica of the hub's table. */
  table: StateTable;
  posters: PosterMaker | undefined;
  /** The link to the hub, once the server started. */
  hub: () => HubLink | undefined;
  /** Sends state-table deltas about this server. */
  report: (deltas: OwnDelta[]) => void;
  /** Rescans the storage (a stream was finalized into it). */
  rescan: () => Promise<void>;
  /** Broadcasts this server takes at once. */
  maxSessions: number;
  log: Logger;
}

export function serverIngest(o: MediaServerOptions, p: ServerIngestParts): IngestManager {
  const ingest: IngestManager = new IngestManager({
    store: p.store,
    enabled: o.ingest,
    limits: ingestLimits(o.ingestMaxMbps, o.ingestMaxMb),
    signal: (sessionId, data) => p.hub()?.send('signal', { sessionId, data }),
    sessionClosed: (sessionId) => p.hub()?.send('session-close', { sessionId }),
    report: p.report,
    finalized: (id) => {
      // Written whole here: listed at this rescan, not held back as a file still being copied in.
      p.store.written(id);
      return p.rescan();
    },
    reopened: () => p.rescan(),
    dropPoster: (id) => dropPoster(p.store, id),
    poster: (id, source, attempt) => p.posters?.want({ id, source, target: p.store.posterPathOf(id)!, version: `live-${attempt}` }),
    knownStart: (id) => Math.min(...[...p.table.liveHolders(id)].map((s) => p.table.get(s)?.live.get(id)?.startedAtMs ?? Infinity)),
    // Broadcasts have their own slots: viewers filling theirs never starve an ingest, nor the reverse.
    hasCapacity: () => ingest.sessionCount < p.maxSessions,
    wrtc: o.wrtc,
    iceServers: o.iceServers,
    log: p.log,
  });
  return ingest;
}
