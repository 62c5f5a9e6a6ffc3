// This server's load as it reports it: measured from its parts, and sent in a heartbeat only when the change is worth it.
import { MAX_VIEWED_ASSETS_PER_LOAD, type AssetViewers, type ServerLoad } from '../../signaling/protocol/index.js';
import type { IngestManager } from '../ingest/ingest-manager.js';
import type { RenditionMaker } from '../storage/rendition-maker.js';
import { LoadMeter, loadWorthReporting, type ReportedLoad } from './load-meter.js';
import type { ViewerSessions } from './viewer-sessions.js';

/** Players of one kind on this server: data-channel viewers, WHEP players. */
export type Players = Pick<ViewerSessions, 'size' | 'watchedAssets' | 'takeOpened'>;

/** Open sessions per asset, the most-watched first (ties by id), at most `limit` assets. */
export function viewersByAsset(assetIds: Iterable<string>, limit: number): AssetViewers[] {
  const counts = new Map<string, number>();
  for (const id of assetIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts]
    .map(([id, n]) => ({ id, n }))
    .sort((a, b) => b.n - a.n || (a.id < b.id ? -1 : 1))
    .slice(0, limit);
}

export interface LoadParts {
  /** Data-channel viewers and WHEP players: both are sessions and viewers in the load, and their bytes egress. */
  viewers: Players;
  whep?: Players;
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
    const whep = p.whep;
    const load = this.meter.measure({
      sessions: p.viewers.size + (whep?.size ?? 0),
      ingestSessions: p.ingest.sessionCount,
      storageReadBytes: p.storageReadBytes(),
      viewers: viewersByAsset(
        whep ? [...p.viewers.watchedAssets(), ...whep.watchedAssets()] : p.viewers.watchedAssets(),
        MAX_VIEWED_ASSETS_PER_LOAD,
      ),
    });
    const r = p.renditions?.status();
    if (p.storageWritable && !p.storageWritable()) load.storageWritable = false;
    if (r?.running) load.renditions = { id: r.running.id, progress: Math.round(r.running.progress * 100) / 100, queued: r.queued };
    return load;
  }

  /** A heartbeat's body: the load when it changed enough (or a session opened) to be worth a delta, else nothing. */
  heartbeat(now = Date.now()): { load?: ServerLoad } {
    const load = this.measure();
    // Both are asked: each forgets its "opened" once told.
    const opened = [this.#parts.viewers.takeOpened(), this.#parts.whep?.takeOpened() ?? false].includes(true);
    const changed = loadWorthReporting(this.#last, load, opened, now);
    if (!changed) return {};
    this.#last = { load, atMs: now };
    return { load };
  }
}
