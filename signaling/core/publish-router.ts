// A broadcast's entry servers: the stream key, the stream id's owner, the director's primary + backup, both sessions opened.
import { echoText } from '../../common/echo-text.js';
import { randomBytes } from 'node:crypto';
import { ackError, ErrorCode, type Ack, type IngestChoice, type Place, type PublishReply, type PublishRequest } from '../protocol/index.js';
import { verifyStreamKey } from '../policies/stream-key.js';
import { parseRenditionId } from '../protocol/ids.js';
import { RoutingBudget } from './routing-budget.js';
import { newSessionId } from './session-ids.js';
import type { RouterParts } from './watch-router.js';
import type { SharedStreamClaims } from './link.js';
import { keyIdOf, type KeyCap } from '../stream-owners.js';

/** Where a WHIP broadcast's copies are: its entry servers may only be these (PublishRouter.publish). */
export interface PlaceOn {
  servers: readonly string[];
  /** The stream's finished recording on `servers` is carried on (reopened), not an unfinished copy resumed. */
  reopen: boolean;
}

export interface PublishOptions {
  /** Accepted stream keys. */
  streamKeys: readonly string[];
  /** Secret of signed stream keys (`mintStreamKey`); without one only `streamKeys` are accepted. */
  streamKeySecret: string | undefined;
  /** The typed location as a place (the gazetteer), or null when unknown. */
  resolveLocation: (location: PublishRequest['location']) => Place | null;
  /** The client IP's place (geoip), or null. */
  ipPlace: (ip: string) => Place | null;
  /** Several hubs: stream ids are claimed cluster-wide too. */
  claims?: SharedStreamClaims;
  /** Broadcasts (stream ids reserved at once) one stream key may hold, across hubs too; absent: no cap. */
  maxBroadcastsPerKey?: number;
}

type Opened = IngestChoice & { sessionId: string };

export class PublishRouter {
  readonly #o: RouterParts & PublishOptions;
  readonly #keys: Set<string>;

  constructor(o: RouterParts & PublishOptions) {
    this.#o = o;
    this.#keys = new Set(o.streamKeys);
  }

  /**
   * Assign entry servers to a broadcast. A first request gets a primary (best
   * from the typed place) and a backup (best from the IP place). A *replacement*
   * — `streamId` of a stream this client is publishing with one entry server
   * still up, and the failed one in `exclude` — gets the one new server in
   * `primary` with `backup: null`; it takes over the missing role (a backup is
   * chosen from the IP place, a primary from the typed place). A stream id that
   * another client is publishing (without its stream secret), or that is already
   * stored, is refused; the id is reserved before the director is asked. Only the
   * stream's own publisher (its secret) may add a copy of a stream stored moments ago
   * (one copy lost at the end, `EndedCopies`): a stored copy counts as a kept one, and
   * its server is passed over.
   *
   * `on` (the hub's WHIP routes only): the entry servers may only be these — where the stream's copies are. A WHIP
   * resume continues an unfinished copy on the one server holding it; `reopen`: the stream ended moments ago and its
   * recording, finalized on these servers, is carried on there by its own publisher (OBS reconnecting: DELETE, then a
   * new POST) — they are its primary and backup again. Either way the request carries the stream's secret.
   */
  async publish(clientId: string, req: PublishRequest, ip: string | null, on?: PlaceOn): Promise<Ack<PublishReply>> {
    const { feed, relay, director, clock, metrics } = this.#o;
    const table = feed.table;
    const key = verifyStreamKey(req.streamKey, this.#keys, this.#o.streamKeySecret, clock.now());
    if (!key.ok) return ackError(ErrorCode.unauthorized, key.message);
    if (key.streamId && req.streamId && req.streamId !== key.streamId)
      return ackError(ErrorCode.unauthorized, `this stream key is for stream ${key.streamId}`);
    const typed = this.#o.resolveLocation(req.location);
    if (!typed)
      return ackError(
        ErrorCode.unknownPlace,
        `unknown place: ${echoText(typeof req.location === 'string' ? req.location : JSON.stringify(req.location))}`,
      );
    const fromIp = ip ? this.#o.ipPlace(ip) : null;
    const streamId = req.streamId ?? key.streamId ?? `live-${randomBytes(4).toString('hex')}`;
    // A media server takes `<source>__<h>p` for a rendition and deletes it once no `<source>` is stored: refused
    // here rather than reported stored and lost 2 s later.
    if (parseRenditionId(streamId))
      return ackError(ErrorCode.badRequest, `stream id ${streamId} ends in __<height>p, which names a rendition: choose another id`);
    const exclude = new Set(req.exclude ?? []);
    const current = relay.publishing(streamId);
    // Reserved synchronously, before any await: a concurrent publish of this id finds it taken.
    const liveOwners = [...table.liveHolders(streamId)]
      .map((id) => table.get(id)?.live.get(streamId))
      // An empty copy protects nothing (a new one starts at byte 0 alike), and the server drops it when its
      // publisher leaves; counting it would refuse the id until that news arrives here.
      .filter((l) => l?.live && l.bytes > 0)
      .map((l) => l!.owner ?? '');
    const max = this.#o.maxBroadcastsPerKey;
    const keyCap: KeyCap | undefined = max === undefined ? undefined : { keyId: keyIdOf(req.streamKey), max };
    const storedOn = [...table.storageHolders(streamId)];
    const first = relay.owners.claim(
      streamId,
      clientId,
      req.streamSecret,
      { liveOwners, stored: current.length === 0 && storedOn.length > 0, ended: feed.ended.get(streamId, clock.now()) },
      keyCap,
    );
    if (!first.ok) return first;
    let claim = first;
    // A failed assignment leaves no reservation behind unless the stream still has publish sessions.
    const released = <T>(r: T): T => {
      relay.releaseIfUnused(streamId);
      return r;
    };
    if (this.#o.claims) {
      // Several hubs: the claim here only excludes this hub's other publishers; Redis decides across hubs.
      let shared: Awaited<ReturnType<SharedStreamClaims['claim']>>;
      try {
        // The key the reservation here counts against (a resume with another key still counts against the first; through
        // another hub, which never saw the first, Redis moves the id to the new key's slots).
        const key = keyCap && { ...keyCap, keyId: relay.owners.keyOf(streamId) ?? keyCap.keyId };
        shared = await this.#o.claims.claim(streamId, clientId, claim.secret, req.streamSecret, key);
      } catch {
        // Ownership is a global decision: a new id waits for Redis; a stream this hub already holds goes on.
        if (claim.fresh)
          return released(
            ackError(ErrorCode.noIngest, 'the cluster cannot reserve a new stream id now (Redis unreachable); retry shortly'),
          );
        shared = { ok: true, secret: claim.secret };
      }
      if (!shared.ok)
        return released(
          shared.reason === 'key-full'
            ? ackError(ErrorCode.tooManyBroadcasts, `this stream key already has ${max} broadcasts live across the cluster: end one first`)
            : ackError(ErrorCode.conflict, `stream ${streamId} is being published by someone else (on another hub)`),
        );
      if (shared.secret !== claim.secret) {
        relay.owners.adopt(streamId, clientId, shared.secret);
        claim = { ...claim, secret: shared.secret, fresh: false };
      }
    }
    const carryOn = on?.reopen === true;
    // Only while every server holding the finished recording still stores it and the stream is not live again.
    if (carryOn && (liveOwners.length > 0 || current.length > 0 || !on.servers.every((id) => storedOn.includes(id))))
      return released(ackError(ErrorCode.conflict, `stream ${streamId} cannot be carried on: its recording changed since it ended`));
    const survivors = current.filter((s) => !exclude.has(s.serverId) && this.#o.feed.table.get(s.serverId) !== undefined);
    // A stream that has ended (no live copy left): a copy already stored counts as kept (its publisher adds one lost at
    // the end). A server storing the id takes no new copy of it whatever the stream's state.
    const ended = liveOwners.length === 0;
    const stored = ended && !carryOn ? storedOn.filter((id) => !exclude.has(id) && !survivors.some((s) => s.serverId === id)) : [];
    const kept = survivors.length + stored.length;
    const replacing: 'primary' | 'backup' | null =
      kept !== 1 ? null : survivors[0] ? (survivors[0].role === 'primary' ? 'backup' : 'primary') : 'backup';
    if (kept >= 2) return released(ackError(ErrorCode.conflict, `stream ${streamId} already has two entry servers`));
    for (const s of survivors) exclude.add(s.serverId);
    if (!carryOn) for (const id of storedOn) exclude.add(id);
    // A replacement backup is the best server from the IP place: ask with that place as "typed".
    const from = replacing === 'backup' && fromIp ? fromIp : typed;
    const budget = new RoutingBudget(() => clock.now());
    const r = await director.ask(budget, 'select-ingest', {
      streamId,
      typed: from,
      ip: replacing ? null : fromIp,
      exclude: [...exclude],
      ...(on ? { only: [...on.servers] } : {}),
    });
    if (!r.ok) return released(r);
    metrics.ingestAssignments.inc({ kind: replacing ? 'replacement' : 'new' });
    const open = async (c: IngestChoice, role: 'primary' | 'backup', peer?: string): Promise<Ack<Opened>> => {
      const sessionId = newSessionId();
      relay.sessions.set(sessionId, {
        id: sessionId,
        kind: 'publish',
        clientSocketId: clientId,
        serverId: c.serverId,
        assetId: streamId,
        role,
      });
      const accepted = await director.openSession(
        c.serverId,
        {
          sessionId,
          kind: 'publish',
          assetId: streamId,
          offset: 0,
          role,
          peer,
          streamSecret: claim.secret,
          // The stream's start as this hub granted the id: the entry server counts the quota from it (with the table's).
          startedAtMs: claim.startedAtMs,
          ...(req.title ? { title: req.title } : {}),
          ...(req.description ? { description: req.description } : {}),
        },
        budget,
      );
      if (!accepted.ok) relay.sessions.delete(sessionId);
      return accepted.ok ? { ok: true, ...c, sessionId } : accepted;
    };
    const [primary, backup] = replacing
      ? [await open(r.primary, replacing, survivors[0]?.serverId ?? stored[0]), null]
      : await Promise.all([open(r.primary, 'primary', r.backup?.serverId), r.backup ? open(r.backup, 'backup', r.primary.serverId) : null]);
    if (!primary.ok) {
      // The backup may have been accepted: without its primary the assignment is void.
      const b = backup?.ok ? relay.sessions.get(backup.sessionId) : undefined;
      if (b) relay.close(b, 'assignment-failed');
      // A carry-on whose primary no longer holds the finished recording open (restarted since the DELETE: it refuses
      // the stored id) goes on on the other servers that stored it, if any.
      const rest = carryOn && primary.code === ErrorCode.conflict ? on.servers.filter((id) => id !== r.primary.serverId) : [];
      if (rest.length > 0) {
        released(undefined);
        return this.publish(clientId, req, ip, { servers: rest, reopen: true });
      }
      return released(primary);
    }
    const { ok: _ok, ...decision } = r;
    this.#o.record({
      kind: 'publish',
      atMs: clock.now(),
      streamId,
      typed: from,
      ip: fromIp,
      ...decision,
      ...(replacing ? { backup: null } : {}),
    });
    return {
      ok: true,
      streamId,
      streamSecret: claim.secret,
      primary: strip(primary),
      backup: backup?.ok ? strip(backup) : null,
      ipUnknown: fromIp === null,
      epoch: r.epoch,
    };
  }
}

function strip(a: { ok: true } & Opened): Opened {
  const { ok: _ok, ...rest } = a;
  return rest;
}
