// Director rotation: the baton passes round-robin, by server id, to the next server in the table.
import type { StateTable } from '../protocol/state-table.js';
import type { DirectorInfo } from '../protocol/types.js';

/** Why the baton moves (the hub records it: metrics, /api/decisions); the choice does not depend on it. */
export const RotationReason = {
  /** The rotation timer fired. */
  timer: 'timer',
  /** The first server joined an empty table. */
  firstServer: 'first-server',
  /** The director left: it missed heartbeats, disconnected, or was replaced. */
  directorLeft: 'director-left',
  /** The director did not answer a request in time. */
  directorTimeout: 'director-timeout',
  /** A server left while there was no director. */
  noDirector: 'no-director',
} as const;
export type RotationReason = (typeof RotationReason)[keyof typeof RotationReason];

/**
 * The next director: the server whose id follows `current.id` in sorted order,
 * wrapping to the smallest id; the smallest id when there is no current one.
 * Every server in the table is eligible (the table holds only live servers:
 * liveness removes the rest). The current director need not still be in the
 * table — pass the last one even after it has left, so the order carries on
 * and the epoch keeps increasing.
 *
 * `epoch` is one more than the larger of `current.epoch` and the table's own
 * director epoch (so it never goes back even if the caller passes null);
 * `sinceMs = now`. Returns null when the table is empty. O(servers), no sort.
 *
 * The same rule applies to every `reason`: a failed director's successor is
 * the one a timer would have picked, which keeps the order predictable.
 */
export function nextDirector(
  table: StateTable,
  current: DirectorInfo | null,
  now: number,
  reason: RotationReason | (string & {}),
): DirectorInfo | null {
  const after = current?.id ?? table.director?.id ?? null;
  let smallest: string | null = null;
  let successor: string | null = null;
  for (const row of table.servers()) {
    const id = row.id;
    if (smallest === null || id < smallest) smallest = id;
    if (after !== null && id > after && (successor === null || id < successor)) successor = id;
  }
  const id = successor ?? smallest;
  if (id === null) return null;
  const epoch = Math.max(current?.epoch ?? 0, table.director?.epoch ?? 0) + 1;
  return { id, epoch, sinceMs: now };
}
