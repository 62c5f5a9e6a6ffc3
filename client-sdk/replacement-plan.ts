// Which uploads a hub's answer to a replacement `publish` starts: each new server's role, and the failover it stands for.
import type { PublishReply } from '../signaling/protocol/messages.js';
import type { FailoverInfo } from './publisher-types.js';

export interface PlannedUpload {
  choice: PublishReply['primary'];
  role: 'primary' | 'backup';
  failover: FailoverInfo;
}

/**
 * The servers of `reply` to start uploads to: those not yet uploaded to (`uploads.has`) and holding no live copy of
 * ours (`uploads.holds`: a hub that lost sight of our sessions may name one again), in order, at most `need` of them.
 * Two keep the hub's roles; a lone server takes the role the live uploads lack (`uploads.missingRole`). Each replaces
 * the most recently lost server (`lost`, oldest first) no earlier failover replaced, or else the latest one. Sessions of
 * `reply` left out are the caller's to give back.
 */
export function replacementPlan(
  reply: PublishReply,
  uploads: { has(sessionId: string): boolean; holds(serverId: string): boolean; missingRole(): 'primary' | 'backup' },
  lost: readonly string[],
  failovers: readonly FailoverInfo[],
  need = 2,
): PlannedUpload[] {
  const latestFirst = [...lost].reverse();
  const done = [...failovers];
  const fresh = [reply.primary, reply.backup]
    .filter((c): c is PublishReply['primary'] => c !== null && !uploads.has(c.sessionId) && !uploads.holds(c.serverId))
    .slice(0, Math.max(0, need));
  const plan: PlannedUpload[] = [];
  for (const choice of fresh) {
    const role = fresh.length === 2 ? (choice === reply.primary ? 'primary' : 'backup') : uploads.missingRole();
    const from = latestFirst.find((id) => !done.some((f) => f.from === id)) ?? latestFirst[0] ?? '';
    const failover: FailoverInfo = { from, to: choice.serverId, role };
    done.push(failover);
    plan.push({ choice, role, failover });
  }
  return plan;
}
