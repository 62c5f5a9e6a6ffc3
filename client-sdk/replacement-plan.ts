// Which uploads a hub's answer to a replacement `publish` starts: each new server's role, and the failover it stands for.
import type { PublishReply } from '../signaling/protocol/messages.js';
import type { FailoverInfo } from './publisher-types.js';

export interface PlannedUpload {
  choice: PublishReply['primary'];
  role: 'primary' | 'backup';
  failover: FailoverInfo;
}

/**
 * The servers of `reply` not yet uploaded to (`uploads.has`), in order. With a backup in
 * the answer each keeps the hub's role; a lone server takes the role the live
 * uploads lack (`uploads.missingRole`). Each replaces the most recently lost server
 * (`lost`, oldest first) no earlier failover replaced, or else the latest one.
 */
export function replacementPlan(
  reply: PublishReply,
  uploads: { has(sessionId: string): boolean; missingRole(): 'primary' | 'backup' },
  lost: readonly string[],
  failovers: readonly FailoverInfo[],
): PlannedUpload[] {
  const latestFirst = [...lost].reverse();
  const done = [...failovers];
  const plan: PlannedUpload[] = [];
  for (const choice of [reply.primary, reply.backup]) {
    if (!choice || uploads.has(choice.sessionId)) continue;
    const role = reply.backup ? (choice === reply.primary ? 'primary' : 'backup') : uploads.missingRole();
    const from = latestFirst.find((id) => !done.some((f) => f.from === id)) ?? latestFirst[0] ?? '';
    const failover: FailoverInfo = { from, to: choice.serverId, role };
    done.push(failover);
    plan.push({ choice, role, failover });
  }
  return plan;
}
