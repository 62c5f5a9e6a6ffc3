// This server's load as it reports it: measured from its parts, and sent in a heartbeat only when the change is worth it.
import { MAX_VIEWED_ASSETS_PER_LOAD, type ServerLoad } from '../../signaling/protocol/index.js';
import type { IngestManager } from '../ingest/ingest-manager.js';
import type { RenditionMaker } from '../storage/rendition-maker.js';
import { LoadMeter, loadWorthReporting, type ReportedLoad } from './load-meter.js';
import type { ViewerSessions } from './viewer-sessions.js';

export interface LoadParts {
  viewers: Pick<ViewerSessions, 'size' | 'viewersByAsset' | 'takeOpened'>;
  /** WHEP players: viewers too, on the same uplink (their bytes come through the meter's `addEgress`). */
  whep?: { size: () => number };
  ingest: Pick<IngestManager, 'sessionCount'>;
  /** Bytes this server's storage has read since start. */
  storageReadBytes: () => number;
  renditions: Pick<RenditionMaker, 'status'> | undefined;
  /** The storage took new files when last checked (storage-writable.ts); absent: not checked. */
  storageWritable?: () => boolean;
}

export class LoadReport {
  readonly meter = new LoadMeter();
  readonly #parts: LoadParts;
  #last?: ReportedLoad;

  constructor(parts: LoadParts) {
    this.#parts = parts;
  }

  /** The load last reported to the hub, else the load now. */
  get reported(): ServerLoad {
    return this.#last?.load ?? this.measure();
  }

  measure(): ServerLoad {
    const p = this.#parts;
    const load = this.meter.measure({
      sessions: p.viewers.size + (p.whep?.size() ?? 0),
      ingestSessions: p.ingest.sessionCount,
      storageReadBytes: p.storageReadBytes(),
      viewers: p.viewers.viewersByAsset(MAX_VIEWED_ASSETS_PER_LOAD),
    });
    const r = p.renditions?.status();
    if (p.storageWritable && !p.storageWritable()) load.storageWritable = false;
    if (r?.running) load.renditions = { id: r.running.id, progress: Math.round(r.running.progress * 100) / 100, queued: r.queued };
    return load;
  }

  /** A heartbeat's body: the load when it changed enough (or a session opened) to be worth a delta, else nothing. */
  heartbeat(now = Date.now()): { load?: ServerLoad } {
    const load = this.measure();
    const changed = loadWorthReporting(this.#last, load, this.#parts.viewers.takeOpened(), now);
    if (!changed) return {};
    this.#last = { load, atMs: now };
    return { load };
  }
}
