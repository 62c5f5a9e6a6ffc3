// The operator's /api/state: a server's silence is an age on the hub it is connected to, and null (unknown, not "just
// now") for a server registered with another hub of the cluster.
import { describe, expect, it } from 'vitest';
import { apiState } from '../../signaling/api-state.js';
import { StateTable } from '../../signaling/protocol/index.js';
import { serverEntry } from '../helpers/server-entry.js';

function table(ids: string[]): StateTable {
  const t = new StateTable();
  for (const id of ids) t.commit({ type: 'server-joined', server: serverEntry(id) });
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
