// Director rotation: round-robin by id, wrapping, with an epoch that only goes up.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nextDirector } from '../../signaling/policies/rotation.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import { serverEntry } from '../helpers/server-entry.js';

function tableOf(ids: readonly string[]): StateTable {
  const t = new StateTable();
  for (const id of ids) t.commit({ type: 'server-joined', server: serverEntry(id) });
  return t;
}

describe('nextDirector', () => {
  it('returns null for an empty table', () => {
    expect(nextDirector(new StateTable(), null, 0, 'timer')).toBeNull();
  });

  it('starts at the smallest id with epoch 1', () => {
    expect(nextDirector(tableOf(['c', 'a', 'b']), null, 500, 'vacant')).toEqual({ id: 'a', epoch: 1, sinceMs: 500 });
  });

  it('walks the ids in sorted order, wraps, and bumps the epoch each time', () => {
    const t = tableOf(['s3', 's1', 's2']);
    const seen: string[] = [];
    let d = nextDirector(t, null, 0, 'vacant');
    for (let now = 1; now <= 6; now++) {
      seen.push(d!.id);
      const next = nextDirector(t, d, now * 1000, 'timer')!;
      expect(next.epoch).toBe(d!.epoch + 1);
      expect(next.sinceMs).toBe(now * 1000);
      d = next;
    }
    expect(seen).toEqual(['s1', 's2', 's3', 's1', 's2', 's3']);
  });

  it('hands over to the next id when the director has already left the table', () => {
    const t = tableOf(['a', 'b', 'c', 'd']);
    t.commit({ type: 'director', director: { id: 'b', epoch: 7, sinceMs: 0 } });
    const last = t.director!;
    t.commit({ type: 'server-left', id: 'b', reason: 'heartbeat' });
    expect(t.director).toBeNull();
    expect(nextDirector(t, last, 10, 'director-failed')).toEqual({ id: 'c', epoch: 8, sinceMs: 10 });
  });

  it('a single server passes the baton to itself with a new epoch', () => {
    const t = tableOf(['only']);
    expect(nextDirector(t, { id: 'only', epoch: 3, sinceMs: 0 }, 9, 'timer')).toEqual({ id: 'only', epoch: 4, sinceMs: 9 });
  });

  it("never moves the epoch backwards, even when called with null after the table's own director", () => {
    const t = tableOf(['a', 'b']);
    t.commit({ type: 'director', director: { id: 'a', epoch: 41, sinceMs: 0 } });
    expect(nextDirector(t, null, 1, 'timer')).toEqual({ id: 'b', epoch: 42, sinceMs: 1 });
  });

  it('picks the successor by id (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 30 }),
        fc.stringMatching(/^[a-z0-9]{1,6}$/),
        fc.nat(1000),
        (ids, current, epoch) => {
          const next = nextDirector(tableOf(ids), { id: current, epoch, sinceMs: 0 }, 1, 'timer')!;
          const sorted = [...ids].sort();
          const expected = sorted.find((id) => id > current) ?? sorted[0];
          expect(next).toEqual({ id: expected, epoch: epoch + 1, sinceMs: 1 });
        },
      ),
      { numRuns: 500 },
    );
  });
});
