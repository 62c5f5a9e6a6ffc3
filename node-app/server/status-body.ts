// The body of a media server's /api/status: what it is doing now and the settings it runs with.
import { loadFactor, type ServerLoad } from '../../signaling/protocol/index.js';
import { type BlockCache, DEFAULT_CACHE_POLICY } from '../cache/index.js';
import type { SelectOptions } from '../director/select.js';
import type { MediaServerOptions } from './media-server-options.js';
import type { RenditionStatus } from '../storage/rendition-maker.js';

/** What the server reads of its parts for the status (the order they are read in is the caller's). */
export interface StatusParts {
  registered: boolean;
  director: boolean;
  sessions: number;
  ingestSessions: number;
  sessionStats: unknown;
  /** The load last reported to the hub, or one measured now. */
  load: ServerLoad;
  cache: BlockCache;
  storageReadBytes: number;
  tableVersion: number;
  selectOptions: SelectOptions;
  /** The rendition maker's queue and progress; null when this server makes none. */
  renditions: RenditionStatus | null;
}

export function statusBody(o: MediaServerOptions, p: StatusParts): unknown {
  return {
    id: o.id,
    registered: p.registered,
    director: p.director,
    sessions: p.sessions,
    ingestSessions: p.ingestSessions,
    sessionStats: p.sessionStats,
    loadFactor: loadFactor({ maxSessions: o.maxSessions, uplinkMbps: o.uplinkMbps, load: p.load }),
    cache: {
      policy: p.cache.policy,
      usedBytes: p.cache.usedBytes,
      peakBytes: p.cache.stats().peakBytes,
      budgetBytes: p.cache.budgetBytes,
      assets: p.cache.assets(),
    },
    storageReadBytes: p.storageReadBytes,
    tableVersion: p.tableVersion,
    renditions: p.renditions,
    // The effective settings (flags, environment, config file and defaults merged): `loadBound: null` = off.
    options: {
      cacheMb: o.cacheMb,
      cachePolicy: o.cachePolicy ?? DEFAULT_CACHE_POLICY,
      maxSessions: o.maxSessions,
      uplinkMbps: o.uplinkMbps,
      weights: p.selectOptions.weights,
      loadBound: p.selectOptions.loadBound ?? null,
    },
  };
}
