// The operator's `/api/state` view of the table: every server with its load factor, holdings and silence.
// Silence is known only to the hub a server is connected to: on another hub of the cluster it is `null`, not 0.
import { loadFactor, type StateTable } from './protocol/index.js';

export function apiState(table: StateTable, lastSeenMs: (id: string) => number | undefined, now: number) {
  return {
    version: table.version,
    director: table.director ? { id: table.director.id, epoch: table.director.epoch, sinceMs: table.director.sinceMs } : null,
    servers: [...table.servers()].map((s) => {
      const seen = lastSeenMs(s.id);
      return {
        id: s.id,
        region: s.region,
        lat: s.lat,
        lon: s.lon,
        roles: [...s.roles],
        httpUrl: s.httpUrl,
        loadFactor: round3(loadFactor(s)),
        sessions: s.load.sessions,
        egressMbps: s.load.egressMbps,
        maxSessions: s.maxSessions,
        ingestSessions: s.load.ingestSessions ?? 0,
        maxIngestSessions: s.maxIngestSessions ?? s.maxSessions,
        // false: its storage refuses new files (gone, read-only, full), so the director sends it no broadcast.
        storageWritable: s.load.storageWritable !== false,
        cache: [...s.cache],
        storageCount: s.storage.size,
        live: [...s.live.values()],
        lastSeenMs: seen === undefined ? null : now - seen,
      };
    }),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
