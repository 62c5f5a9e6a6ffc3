// Asking the director (and servers) on the hub's behalf: epoch fencing, failover on silence, answers parsed by schema.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import {
  ackError,
  ErrorCode,
  parse,
  type Ack,
  type IngestDecision,
  type SelectDecision,
  type SessionOpen,
  type SessionOpenAccepted,
} from '../protocol/index.js';
import { selectAnswerSchema, selectIngestAnswerSchema, sessionOpenAnswerSchema } from '../protocol/replies.js';
import { RotationReason } from '../policies/rotation.js';
import { loadFactor } from '../protocol/load-factor.js';
import type { Logger } from '../log.js';
import type { DeltaFeed } from './delta-feed.js';
import type { SelectThenOpen, ServerPeer } from './link.js';
import type { DirectorSeat } from './director-seat.js';
import type { Membership } from './membership.js';
import type { RoutingBudget } from './routing-budget.js';

/** Several hubs: pause before asking again after a stale-epoch answer (see `#letReplicasAgree`). */
export const STALE_EPOCH_WAIT_MS = 50;

/** How long a server may take to accept a session, ms (cut to the request's budget). */
export const SESSION_OPEN_TIMEOUT_MS = 2_000;

interface Questions {
  select: SelectDecision;
  'select-ingest': IngestDecision;
}
const ANSWERS: { [E in keyof Questions]: z.ZodType<Ack<Questions[E]>> } = {
  select: selectAnswerSchema,
  'select-ingest': selectIngestAnswerSchema,
};

/** A session to open along with the director's select, where the director's hub holds the chosen server too. */
export interface OpenAlong {
  open: SessionOpen;
  /** The session was offered to `serverId` along with the select: register it now (the server's messages about it may follow). */
  opened(serverId: string): void;
  /** An answer fenced after the session was offered along with it: end that session. */
  discard(): void;
}

/** The director's answer, and the chosen server's to the session offered along with it (if it was). */
export interface Selection {
  reply: Ack<SelectDecision>;
  opened?: Ack<SessionOpenAccepted>;
}

export class DirectorClient {
  readonly #feed: DeltaFeed;
  readonly #seat: DirectorSeat;
  readonly #members: Membership;
  readonly #log: Logger;
  readonly #timeoutMs: number;

  readonly #degraded: () => boolean;
  /**
   * Request ids: this hub's random prefix and a counter. Unique across hubs and restarts, and cheap: a fresh
   * randomBytes per ask was 1–6 % of a busy hub's time in profiles.
   */
  readonly #idPrefix = randomBytes(6).toString('hex');
  #nextId = 0;

  constructor(o: {
    feed: DeltaFeed;
    seat: DirectorSeat;
    members: Membership;
    log: Logger;
    directorTimeoutMs: number;
    /** Several hubs, Redis away: a director on another hub cannot be asked (see `#fallback`). */
    degraded?: () => boolean;
  }) {
    this.#degraded = o.degraded ?? (() => false);
    this.#feed = o.feed;
    this.#seat = o.seat;
    this.#members = o.members;
    this.#log = o.log;
    this.#timeoutMs = o.directorTimeoutMs;
  }

  /**
   * Ask the current director, spending the request's budget; if it does not
   * answer in time, rotate the role and ask the next one, waiting twice as long; an answer for
   * another epoch is discarded (fenced) and the next is asked. Answers exactly once.
   */
  async ask<E extends keyof Questions>(budget: RoutingBudget, event: E, body: Record<string, unknown>): Promise<Ack<Questions[E]>> {
    return (await this.#ask(budget, event, body, undefined)).reply;
  }

  /**
   * `ask(budget, 'select', body)`, and with several hubs the session offered on the director's hub when
   * that hub holds the chosen server too (`along`): one crossing between hubs for both instead of two.
   * Without `opened` in the result the caller offers the session itself.
   */
  select(budget: RoutingBudget, body: Record<string, unknown>, along: OpenAlong): Promise<Selection> {
    return this.#ask(budget, 'select', body, along);
  }

  async #ask<E extends keyof Questions>(
    budget: RoutingBudget,
    event: E,
    body: Record<string, unknown>,
    along: OpenAlong | undefined,
  ): Promise<{ reply: Ack<Questions[E]>; opened?: Ack<SessionOpenAccepted> }> {
    let last: Ack<Questions[E]> = ackError(ErrorCode.timeout, 'no director answered within the time this request may take');
    // Each ask after a silent one waits twice as long (within the budget): a director is silent because it is dead
    // (its successor answers at once, so the longer wait costs nothing) or because every server's loop is starved —
    // on a loaded machine a select answered in 50–200 ms took over 500 ms now and then, and two fixed waits failed
    // the viewer's first click where the next ask, given longer, was answered.
    let waitMs = this.#timeoutMs;
    // Asks go on while the budget allows (DIRECTOR_ASKS_PER_REQUEST, ROUTE_DEADLINE_MS), whatever the cluster's size:
    // with one server, asking it again after a timeout, given twice as long, is how a starved server gets to answer
    // (a flash crowd of 100 viewers on one server: 12 refused after a single 500-ms ask), and an answer fenced for
    // its epoch (a rotation overtook it) is asked of the new director.
    while (budget.canAsk) {
      const dir = this.#seat.current;
      if (event === 'select' && this.#degraded()) return { reply: this.#fallback(body) as Ack<Questions[E]> };
      const peer = dir && this.#members.peer(dir.id);
      // `no-director` tells the client that no director was asked, so asking again costs none; once this request
      // asked one, the refusal is why that ask failed (the client does not repeat a spent budget).
      if (!dir || !peer) return { reply: budget.asked ? last : ackError(ErrorCode.noDirector, 'no director is available') };
      this.#feed.flush();
      const req = { ...body, requestId: `${this.#idPrefix}-${(this.#nextId++).toString(36)}`, epoch: dir.epoch };
      let raw: unknown;
      let openRaw: SelectThenOpen['open'];
      try {
        if (along && peer.selectThenOpen) {
          const r = await this.#selectThenOpen(peer, req, budget, along, waitMs);
          raw = r.select;
          openRaw = r.open;
        } else raw = await peer.ask(event, req, budget.spendAsk(waitMs));
      } catch {
        this.#log.warn({ director: dir.id, epoch: dir.epoch, waitedMs: waitMs }, 'director did not answer in time; rotating');
        waitMs *= 2;
        last = ackError(ErrorCode.timeout, 'the director did not answer in time');
        if (this.#seat.current?.epoch === dir.epoch) await this.#seat.designate(RotationReason.directorTimeout);
        continue;
      }
      const p = parse(ANSWERS[event], raw);
      if (!p.ok) {
        this.#log.warn({ director: dir.id, event, reason: p.message }, 'director answered with a malformed reply');
        return { reply: ackError(ErrorCode.internal, `the director's answer was malformed: ${p.message}`) };
      }
      const reply = p.value;
      if (reply.ok && reply.epoch !== this.#seat.current?.epoch) {
        last = ackError(ErrorCode.staleEpoch, 'the director answered for an old epoch');
        // The session offered along with a fenced answer ends; the next tries offer none along.
        if (openRaw && along) {
          along.discard();
          along = undefined;
        }
        await this.#letReplicasAgree(budget);
        continue; // fenced: an answer from a deposed director is discarded
      }
      if (!reply.ok && reply.code === ErrorCode.staleEpoch) {
        last = reply;
        await this.#letReplicasAgree(budget);
        continue;
      }
      if (!openRaw || !reply.ok) return { reply };
      return { reply, opened: this.#openAnswer((reply as Ack<SelectDecision> & { ok: true }).serverId, openRaw) };
    }
    return { reply: last };
  }

  /** One request to the director's hub: its select, and the session-open there when it holds the chosen server. */
  async #selectThenOpen(
    peer: ServerPeer,
    req: Record<string, unknown>,
    budget: RoutingBudget,
    along: OpenAlong,
    waitMs: number,
  ): Promise<SelectThenOpen> {
    const timeoutMs = budget.spendAsk(waitMs);
    const openTimeoutMs = Math.min(SESSION_OPEN_TIMEOUT_MS, budget.remainingMs);
    return peer.selectThenOpen!(req, timeoutMs, along.open, openTimeoutMs, (answer) => {
      const p = parse(selectAnswerSchema, answer);
      if (p.ok && p.value.ok) along.opened(p.value.serverId);
    });
  }

  /** The chosen server's answer to a session-open, as `openSession` reads it. */
  #openAnswer(serverId: string, raw: NonNullable<SelectThenOpen['open']>): Ack<SessionOpenAccepted> {
    if (!raw.ok) return ackError(ErrorCode.timeout, `server ${serverId} did not accept the session in time`);
    const p = parse(sessionOpenAnswerSchema, raw.value);
    return p.ok ? p.value : ackError(ErrorCode.internal, `server ${serverId} answered session-open with a malformed reply: ${p.message}`);
  }

  /**
   * Several hubs: this hub's table and the director's replica (fed by its own hub) read the log
   * at their own pace, so right after a rotation they may disagree on the epoch for a moment.
   * Asking again at once would meet the same disagreement; wait a little (within the budget).
   */
  async #letReplicasAgree(budget: RoutingBudget): Promise<void> {
    if (!this.#feed.shared) return;
    const ms = Math.min(STALE_EPOCH_WAIT_MS, budget.remainingMs);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  /**
   * Several hubs while Redis is away: servers on other hubs (the director among them, maybe)
   * cannot be reached, so this hub places the viewer itself, from its last table copy, on one of
   * its own servers that holds the asset — live, then cache, then storage, the least loaded first
   * (the director's tiers without its balance and geo rules). None of its own holds it:
   * `no-director`, and the client tries another hub.
   */
  #fallback(body: Record<string, unknown>): Ack<SelectDecision> {
    const table = this.#feed.table;
    const assetId = String(body.assetId);
    const exclude = new Set(Array.isArray(body.exclude) ? (body.exclude as string[]) : []);
    const local = new Set(this.#members.ids());
    const tiers: [SelectDecision['reason'], ReadonlySet<string>][] = [
      ['live', table.liveHolders(assetId)],
      ['cache', table.cacheHolders(assetId)],
      ['storage', table.storageHolders(assetId)],
    ];
    for (const [reason, holders] of tiers) {
      let best: { id: string; lf: number } | undefined;
      for (const id of holders) {
        const row = table.get(id);
        if (!row || !local.has(id) || exclude.has(id) || row.load.sessions >= row.maxSessions) continue;
        const lf = loadFactor(row);
        if (!best || lf < best.lf) best = { id, lf };
      }
      if (best) {
        this.#log.warn({ asset: assetId, server: best.id, reason }, 'Redis away: viewer placed by this hub on its own server');
        return { ok: true, serverId: best.id, reason, loadFactor: best.lf, epoch: table.director?.epoch ?? 0 };
      }
    }
    return ackError(ErrorCode.noDirector, 'Redis is unreachable and no server of this hub holds the asset; try another hub');
  }

  /** Offers a session to a server; a silent or gone server is a `timeout`/`no-ingest` refusal. */
  async openSession(serverId: string, open: SessionOpen, budget: RoutingBudget): Promise<Ack<SessionOpenAccepted>> {
    const peer = this.#members.peer(serverId);
    if (!peer) return ackError(ErrorCode.noIngest, `server ${serverId} is gone`);
    if (budget.remainingMs === 0) return ackError(ErrorCode.timeout, `no time left to offer the session to ${serverId}`);
    let answer: unknown;
    try {
      answer = await peer.ask('session-open', open, Math.min(SESSION_OPEN_TIMEOUT_MS, budget.remainingMs));
    } catch {
      return this.#openAnswer(serverId, { ok: false, error: 'timeout' });
    }
    return this.#openAnswer(serverId, { ok: true, value: answer });
  }
}
