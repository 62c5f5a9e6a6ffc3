// Messages from one hub to one other hub, on Redis: each hub reads its own inbox stream, so a message about a server costs only the hub that holds it.
import type { Redis } from 'ioredis';
import type { SelectThenOpen, ServerPeer } from '../core/link.js';
import type { Logger } from '../log.js';
import { connectRedis, REDIS_COMMAND_TIMEOUT_MS, whenRedisReady, within } from './connect.js';
import { InboxReader } from './inbox-reader.js';
import { InboxWriter, MAX_UNSENT } from './inbox-writer.js';
import type { ClusterKeys } from './keys.js';
import { routeKey, type Envelope } from './mesh-envelope.js';
import { MeshDelivery } from './mesh-delivery.js';
import { MAX_PENDING_ASKS, MeshRequests } from './mesh-requests.js';
import { ServerLocations } from './server-locations.js';
import { isForwardedAnswer, type ForwardedAnswer, type ResourceRequest } from '../resource-forward.js';
import { MAX_ROUTES, SessionRoutes } from './session-routes.js';

/** A server's session message for a session another hub holds (the event is the server's own). */
export type SessionForward = (serverId: string, event: string, msg: unknown) => void;

export interface HubMeshDeps {
  url: string;
  keys: ClusterKeys;
  hubId: string;
  log: Logger;
  /** The hub a server beats through (`hb:<id>`), null when it beats nowhere. */
  locate: (serverIds: readonly string[]) => Promise<(string | null)[]>;
  /** This hub's own connection to a server, if it holds one. */
  local: (serverId: string) => ServerPeer | undefined;
  /** The way that always works, at a cost: the socket.io adapter's room, read by every hub. */
  fallback: (serverId: string) => ServerPeer;
  now?: () => number;
  /** Called for each message sent, received, dropped or sent the costly way (the hub's metrics). */
  count?: (what: MeshCount) => void;
  /** The bounds (tests lower them to reach them). */
  limits?: Partial<MeshLimits>;
  /** Another hub asks this one (the rotation lease holder) to move the baton from the director of `epoch`. */
  onRotate?: (epoch: number, reason: string) => void;
  /** Redis answered lately (`SharedCluster.ready`): a stop skips what it would write to a Redis known to be away. */
  reachable?: () => boolean;
  /** The process a server id names now (its table row's `instance`), if known: each route records it. */
  instanceOf?: (serverId: string) => string | undefined;
  /** Another hub relays a request for a WHIP/WHEP resource this hub minted: its answer. */
  onResource?: (route: 'whip' | 'whep', req: ResourceRequest) => Promise<ForwardedAnswer>;
}

export type MeshCount = 'sent' | 'received' | 'dropped' | 'fallbacks';

export interface MeshLimits {
  pendingAsks: number;
  unsent: number;
  routes: number;
}

const DEFAULT_LIMITS: MeshLimits = { pendingAsks: MAX_PENDING_ASKS, unsent: MAX_UNSENT, routes: MAX_ROUTES };

/** What the hub's /server namespace does with a server's session message (`HubMesh.bind`). */
export interface SessionHandlers {
  /** A server's message about a session this hub holds, from the hub the server is connected to. */
  onSession: SessionForward;
  /** A server's message that no route names: every hub hears it (the adapter). */
  broadcastSession: SessionForward;
}

/**
 * Why not only the socket.io adapter: its stream is read and decoded by every hub, and an ask
 * through it collects an answer from every hub, so each join cost every hub a share (3 hubs:
 * 5 × the hub CPU per join of one). Here a message goes to the one hub that holds its server (the
 * hub its heartbeat key names) or its session (remembered when the session was opened through
 * here), on that hub's own Redis Stream: ordered, and resumed after a Redis blip from the last id
 * read, like the adapter. Anything this cannot place goes through the adapter as before.
 */
export class HubMesh {
  readonly #o: HubMeshDeps;
  readonly #limits: MeshLimits;
  readonly #now: () => number;
  /** Writes: waits out a Redis blip (offline queue), so a message is delayed rather than lost; a stop waits on it at most REDIS_COMMAND_TIMEOUT_MS. */
  readonly #out: Redis;
  readonly #reader: InboxReader;
  readonly #inbox: string;
  #handlers: SessionHandlers | undefined;
  #stopped = false;
  readonly #writer: InboxWriter;
  readonly #requests: MeshRequests;
  readonly #locations: ServerLocations;
  readonly #sessions: SessionRoutes;
  readonly #delivery: MeshDelivery;
  readonly stats: Record<MeshCount, number> = { sent: 0, received: 0, dropped: 0, fallbacks: 0 };

  constructor(o: HubMeshDeps) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.#inbox = o.keys.inbox(o.hubId);
    // No auto-pipelining: the writer batches a turn's messages itself, and ioredis's pipelining would wait one more turn.
    this.#out = connectRedis(o.url, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
    });
    this.#writer = new InboxWriter(
      this.#out,
      (hub) => o.keys.inbox(hub),
      this.#limits.unsent,
      (what) => this.#count(what),
    );
    this.#reader = new InboxReader(o.url, this.#inbox, o.log, (e) => this.#deliver(e));
    this.#requests = new MeshRequests(this.#limits.pendingAsks, (hub, e) => this.#post(hub, e), o.log);
    this.#locations = new ServerLocations(o.locate, o.hubId, this.#now);
    this.#sessions = new SessionRoutes(this.#limits.routes);
    this.#delivery = new MeshDelivery({
      hub: o,
      post: (hub, e) => this.#post(hub, e),
      sessions: this.#sessions,
      remember: (from, msg, server) => this.#remember(from, msg, server),
      settle: (e) => this.#requests.settle(e),
      onSession: (serverId, event, msg) => this.#handlers?.onSession(serverId, event, msg),
      forwardSession: (serverId, event, msg, last) => this.forwardSession(serverId, event, msg, last),
    });
  }

  async start(): Promise<void> {
    await Promise.all([whenRedisReady(this.#out), this.#reader.ready()]);
    // The inbox's expiry is set by every write to it (InboxWriter): it goes INBOX_TTL_MS after its last message, whoever dies.
    await this.#reader.start(this.#out);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const reachable = this.#o.reachable?.() !== false;
    this.#requests.rejectAll();
    this.#writer.flush();
    await within(this.#reader.stop(), REDIS_COMMAND_TIMEOUT_MS);
    // #out queues while Redis is away and has no command timeout: unbounded, this DEL held a stop for as long as Redis was.
    if (reachable) await within(this.#out.del(this.#inbox), REDIS_COMMAND_TIMEOUT_MS);
    this.#out.disconnect();
  }

  /** The /server namespace's handlers for what servers on other hubs say about this hub's sessions. */
  bind(h: SessionHandlers): void {
    this.#handlers = h;
  }

  /** A server connected to another hub, as the core's peer. */
  peer(serverId: string): ServerPeer {
    return {
      send: (event, msg) => void this.#send(serverId, event, msg),
      ask: (event, msg, timeoutMs) => this.#ask(serverId, event, msg, timeoutMs),
      selectThenOpen: (msg, timeoutMs, open, openTimeoutMs, opened) => this.#place(serverId, msg, timeoutMs, open, openTimeoutMs, opened),
      connected: true,
      disconnect: () =>
        void this.#locations
          .of(serverId)
          .then((hub) => (hub ? this.#post(hub, { k: 'disconnect', server: serverId }) : this.#o.fallback(serverId).disconnect())),
    };
  }

  /**
   * A server's message about a session this hub does not hold: to the hub that opened the session
   * through here when one did, else to every hub. `last` when the message ends the session (its
   * route is forgotten).
   */
  forwardSession(serverId: string, event: string, msg: unknown, last: boolean): void {
    const key = routeKey(msg);
    if (key !== undefined && this.#sessions.hold(key, { serverId, event, msg, last }, () => this.#count('dropped'))) return;
    const hub = key === undefined ? undefined : this.#sessions.hubFor(key, last);
    if (hub === undefined) return this.#handlers?.broadcastSession(serverId, event, msg);
    this.#post(hub, { k: 'session', server: serverId, event, msg });
  }

  /**
   * A server (re-)registered somewhere: where it is must be asked again, not taken from the cache,
   * and an ask still waiting on its old hub (which died, or lost it) goes through the adapter now
   * instead of waiting out its timeout.
   */
  forget(serverId: string): void {
    this.#locations.forget(serverId);
    this.#requests.retryFor(serverId);
  }

  get routes(): number {
    return this.#sessions.size;
  }

  /**
   * A server's row arrived as process `instance` (from the log): routes of sessions opened on another process of
   * that id go (it died with them, and will say nothing more about them).
   */
  serverJoined(serverId: string, instance: string | undefined): void {
    this.#sessions.forgetInstance(serverId, instance);
  }

  #remember(from: string, msg: unknown, server: string): string | undefined {
    return this.#sessions.remember(from, msg, server, this.#o.instanceOf?.(server));
  }

  get pendingAsks(): number {
    return this.#requests.size;
  }

  async #send(serverId: string, event: string, msg: unknown): Promise<void> {
    const hub = await this.#locations.of(serverId);
    // Nobody waits for a close (the client has left): it rides with the next message to that hub.
    if (hub) this.#writer.post(hub, { k: 'send', from: this.#o.hubId, server: serverId, event, msg }, event === 'session-close');
    else {
      this.#count('fallbacks');
      this.#o.fallback(serverId).send(event, msg);
    }
  }

  #ask(serverId: string, event: string, msg: unknown, timeoutMs: number): Promise<unknown> {
    const deadline = this.#now() + timeoutMs;
    // The hub asked no longer holds the server (it moved), or none holds it: through the adapter.
    const viaAdapter = () => {
      this.#locations.forget(serverId);
      this.#count('fallbacks');
      return this.#o.fallback(serverId).ask(event, msg, Math.max(1, deadline - this.#now()));
    };
    return this.#requests.request(
      this.#locations.of(serverId),
      (id) => ({ k: 'ask', from: this.#o.hubId, id, server: serverId, event, msg, timeoutMs }),
      timeoutMs,
      `no answer to ${event} from ${serverId} within ${timeoutMs} ms`,
      viaAdapter,
      serverId,
    );
  }

  /**
   * `select` to the director `serverId` and, on its hub, `session-open` to the chosen server when that
   * hub holds it: one request between hubs instead of two. Where it cannot go, a plain select through
   * the adapter (the caller then opens the session itself).
   */
  #place(
    serverId: string,
    msg: unknown,
    timeoutMs: number,
    open: { sessionId: string },
    openTimeoutMs: number,
    opened: (answer: unknown) => void,
  ): Promise<SelectThenOpen> {
    const deadline = this.#now() + timeoutMs;
    const viaAdapter = async (): Promise<SelectThenOpen> => {
      this.#locations.forget(serverId);
      this.#count('fallbacks');
      return { select: await this.#o.fallback(serverId).ask('select', msg, Math.max(1, deadline - this.#now())) };
    };
    return this.#requests.request(
      this.#locations.of(serverId),
      (id) => ({ k: 'place', from: this.#o.hubId, id, server: serverId, msg, timeoutMs, open, openTimeoutMs }),
      timeoutMs + openTimeoutMs,
      `no answer to select from ${serverId} within ${timeoutMs} ms`,
      viaAdapter,
      serverId,
      opened,
    ) as Promise<SelectThenOpen>;
  }

  /** Asks `hub` (the rotation lease holder) to move the baton from the director of `epoch`. */
  requestRotation(hub: string, epoch: number, reason: string): void {
    this.#post(hub, { k: 'rotate', epoch, reason });
  }

  /**
   * The other hub that holds a live connection of `serverId` (asked, not guessed from its
   * heartbeat key: a dead hub's key outlives it), or null. A hub that does not answer within
   * `timeoutMs` holds nothing.
   */
  async liveElsewhere(serverId: string, timeoutMs: number): Promise<string | null> {
    const hub = await this.#locations.of(serverId, true);
    if (!hub) return null;
    const holds = await this.#requests
      .request(
        Promise.resolve(hub),
        (id) => ({ k: 'holds', from: this.#o.hubId, id, server: serverId }),
        timeoutMs,
        'no answer',
        async () => false,
      )
      .catch(() => false);
    return holds === true ? hub : null;
  }

  /** Relays a WHIP/WHEP resource request to `hub`, which minted the resource; resolves with its answer. */
  async forwardResource(hub: string, route: 'whip' | 'whep', req: ResourceRequest, timeoutMs: number): Promise<ForwardedAnswer> {
    const answer = await this.#requests.request(
      Promise.resolve(hub),
      (id) => ({ k: 'resource', from: this.#o.hubId, id, route, req }),
      timeoutMs,
      `no answer within ${timeoutMs} ms`,
      async () => undefined,
    );
    if (!isForwardedAnswer(answer)) throw new Error('it sent no HTTP answer');
    return answer;
  }

  #count(what: MeshCount): void {
    this.stats[what]++;
    this.#o.count?.(what);
  }

  #post(hub: string, e: Envelope): void {
    this.#writer.post(hub, e);
  }

  #deliver(e: Envelope): void {
    this.#count('received');
    this.#delivery.deliver(e);
  }
}
