// A state-table row for unit tests: a plain edge server with nothing held, changed by `extra`.
import type { ServerEntry } from '../../signaling/protocol/types.js';

export function serverEntry(id: string, extra: Partial<ServerEntry> = {}): ServerEntry {
  return {
    id,
    region: 'r',
    lat: 0,
    lon: 0,
    roles: ['edge'],
    maxSessions: 10,
    uplinkMbps: 100,
    joinedAtMs: 0,
    load: { sessions: 0, egressMbps: 0, cpu: 0 },
    cache: [],
    storage: [],
    live: [],
    ...extra,
  };
}
