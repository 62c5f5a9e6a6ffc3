// The operator's /api/state: a server's silence is an age on the hub it is connected to, and null (unknown, not "just
// now") for a server registered with another hub of the cluster.
import { describe, expect, it } from 'vitest';
import { apiState } from '../../signaling/api-state.js';
import { StateTable } from '../../signaling/protocol/index.js';

function table(ids: string[]): StateTable {
  const t = new StateTable();
  for (const id of ids)
    t.commit({
      type: 'server-joined',
      server: {
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
      },
    });
  return t;
}

describe('/api/state lastSeenMs', () => {
  it("is the age of this hub's last word from a server it holds, and null for one another hub holds", () => {
    const seen: Record<string, number> = { 'fra-1': 9_000 };
    const state = apiState(table(['fra-1', 'iad-1']), (id) => seen[id], 10_000);
    expect(state.servers.map((s) => [s.id, s.lastSeenMs])).toEqual([
      ['fra-1', 1_000],
      ['iad-1', null],
    ]);
  });
});
