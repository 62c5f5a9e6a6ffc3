// A media server's registration holding nothing (no storage, cache or live stream), for tests that register by hand.
import type { ServerDescriptor } from '../../signaling/protocol/index.js';

/** Valid, idle and empty: no director picks it for anything; `over` changes any field. */
export function bareDescriptor(id: string, over: Partial<ServerDescriptor> = {}): ServerDescriptor {
  return {
    id,
    region: 'nowhere',
    lat: 0,
    lon: 0,
    roles: ['edge'],
    maxSessions: 1,
    uplinkMbps: 1,
    load: { sessions: 0, egressMbps: 0, cpu: 0 },
    cache: [],
    storage: [],
    live: [],
    ...over,
  };
}
