// Liveness: which servers have missed too many heartbeats.

/** A server is declared gone after missing this many heartbeats in a row. */
export const DEFAULT_MISSED_HEARTBEATS = 3;

/**
 * Ids whose last heartbeat is more than `missed × heartbeatMs` ago (strictly:
 * a heartbeat landing exactly on the deadline still counts), sorted by id so
 * the caller removes them in a deterministic order.
 *
 * @param lastSeen server id → time of its last heartbeat (or registration), ms
 * @param now current time, ms, on the same clock as `lastSeen`
 * @param heartbeatMs the heartbeat interval servers were told to use, ms
 * @param missed heartbeats a server may miss before it is expired (default 3)
 */
export function expired(
  lastSeen: ReadonlyMap<string, number>,
  now: number,
  heartbeatMs: number,
  missed: number = DEFAULT_MISSED_HEARTBEATS,
): string[] {
  const deadlineMs = missed * heartbeatMs;
  const out: string[] = [];
  for (const [id, seen] of lastSeen) {
    if (now - seen > deadlineMs) out.push(id);
  }
  return out.sort();
}
