// A viewer's watch: admitted against its session caps, placed by the director, accepted by the chosen server.
import {
  ackError,
  ErrorCode,
  type Ack,
  type AckError,
  type DecisionEvent,
  type SessionOpen,
  type WatchReply,
  type WatchRequest,
} from '../protocol/index.js';
import type { HubMetrics } from '../hub-metrics.js';
import type { DirectorClient } from './director-client.js';
import type { DeltaFeed } from './delta-feed.js';
import type { HubClock } from './link.js';
import { RoutingBudget, SESSION_OPENS_PER_WATCH } from './routing-budget.js';
import { newSessionId } from './session-ids.js';
import type { SessionRelay } from './session-relay.js';

/** Refusals after which the next server is worth a try (within the same budget). */
const RETRY_ELSEWHERE = new Set<string>([ErrorCode.unknownAsset, ErrorCode.noCapacity, ErrorCode.timeout]);

export interface RouterParts {
  feed: DeltaFeed;
  relay: SessionRelay;
  director: DirectorClient;
  clock: HubClock;
  metrics: HubMetrics;
  /** Keeps a decision for /api/decisions and the dashboards. */
  record: (d: DecisionEvent) => void;
}

export class WatchRouter {
  readonly #o: RouterParts;

  constructor(o: RouterParts) {
    this.#o = o;
  }

  /**
   * The client's session counts are checked (and its new session counted) before
   * the director is asked: a watch over a cap gets `too-many-sessions` and
   * changes nothing, not even a reservation in the director's replica.
   */
  async watch(clientId: string, ip: string | null, req: WatchRequest): Promise<Ack<WatchReply>> {
    const { relay } = this.#o;
    await relay.sessions.lookUp(ip);
    const admission = relay.sessions.admit(clientId, ip);
    if (!admission.ok) return admission;
    let attached = false;
    try {
      return await this.#place(clientId, req, (sessionId) => (attached = relay.sessions.attach(sessionId, admission)));
    } finally {
      if (!attached) admission.release();
    }
  }

  async #place(clientId: string, req: WatchRequest, opened: (sessionId: string) => void): Promise<Ack<WatchReply>> {
    const { feed, relay, director, clock } = this.#o;
    const { assetId, offset = 0, exclude = [], offer, limitBps } = req;
    const budget = new RoutingBudget(() => clock.now());
    const tried = new Set(exclude);
    let failed: AckError | undefined;
    for (let offers = 0; offers < SESSION_OPENS_PER_WATCH && budget.canAsk; ) {
      let sessionId = newSessionId();
      const open: SessionOpen = {
        sessionId,
        kind: 'watch',
        assetId,
        offset,
        ...(offer ? { offer } : {}),
        ...(limitBps !== undefined ? { limitBps } : {}),
      };
      const register = (serverId: string) =>
        relay.sessions.set(sessionId, { id: sessionId, kind: 'watch', clientSocketId: clientId, serverId, assetId });
      const end = () => {
        const s = relay.sessions.get(sessionId);
        if (s) relay.close(s, 'fenced');
      };
      // Several hubs: the director's hub may offer the session itself (`opened`), when it holds the chosen server.
      let discarded = false;
      const sel = await director.select(
        budget,
        { assetId, exclude: [...tried] },
        {
          open,
          opened: register,
          discard: () => {
            end();
            discarded = true;
          },
        },
      );
      const r = sel.reply;
      // Nothing left but servers this watch already failed on: say why they failed (a server that did not take the
      // session in time), not the director's "every holder is excluded".
      if (!r.ok) return failed ?? r;
      const server = feed.table.get(r.serverId);
      if (!server) {
        if (sel.opened) end();
        tried.add(r.serverId);
        continue;
      }
      offers++;
      let accepted = sel.opened;
      if (!accepted) {
        // An id ended with a fenced answer is not offered again.
        if (discarded) {
          sessionId = newSessionId();
          open.sessionId = sessionId;
        }
        register(r.serverId);
        // The viewer's offer goes with the session: the server's answer comes back in its yes, and in the reply.
        accepted = await director.openSession(r.serverId, open, budget);
      }
      if (!accepted.ok) {
        relay.sessions.delete(sessionId);
        tried.add(r.serverId);
        failed = accepted;
        if (RETRY_ELSEWHERE.has(accepted.code)) continue;
        return accepted;
      }
      opened(sessionId);
      const { ok: _ok, ...decision } = r;
      this.#o.metrics.selections.inc({ reason: r.reason });
      this.#o.record({ kind: 'watch', atMs: clock.now(), assetId, ...decision });
      return {
        ok: true,
        sessionId,
        server: { id: server.id, region: server.region },
        reason: r.reason,
        loadFactor: r.loadFactor,
        epoch: r.epoch,
        ...(accepted.answer ? { answer: accepted.answer } : {}),
      };
    }
    return ackError(ErrorCode.noCapacity, `no server could take a session for ${assetId}`);
  }
}
