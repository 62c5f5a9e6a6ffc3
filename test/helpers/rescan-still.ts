// Two storage rescans, for tests that add or change a file and want it reported: a file is listed (or its change
// taken) only once its mark held still across one rescan, so the first sees it move and the second reports it.
import type { DiskStore, RefreshResult } from '../../node-app/storage/disk-store.js';

/** The two rescans' results together (each list the first's then the second's). */
export async function rescanStill(store: DiskStore): Promise<RefreshResult> {
  const a = await store.refresh();
  const b = await store.refresh();
  return {
    added: [...a.added, ...b.added],
    removed: [...a.removed, ...b.removed],
    changed: [...a.changed, ...b.changed],
    described: [...a.described, ...b.described],
    moving: [...a.moving, ...b.moving],
  };
}
