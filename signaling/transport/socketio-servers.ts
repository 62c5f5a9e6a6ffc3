// The /server namespace: media servers authenticate, then every event is bounded, parsed by its schema and handed to the core.
import type { Namespace, Server as IoServer } from 'socket.io';
import {
  ackError,
  ErrorCode,
  heartbeatSchema,
  leaveSchema,
  parse,
  reportSchema,
  serverAttachSchema,
  serverDescriptorSchema,
  signalSchema,
  type HubToServerEvents,
  type ServerToHubEvents,
} from '../protocol/index.js';
import { whepEndSchema } from '../protocol/whep.js';
import { whipLeaveSchema, whipSignalSchema } from '../protocol/whip.js';
import { AuthError, type TokenVerifier } from '../auth.js';
import type { HubCore } from '../core/hub-core.js';
import type { ServerPeer } from '../core/link.js';
import type { Logger } from '../log.js';
import type { WhipRoutes } from '../whip-routes.js';
import type { WhepRoutes } from '../whep-routes.js';
import { boundPackets, SERVER_PACKET_BOUNDS } from './packet-bounds.js';
import { guardPackets, type EventShape } from './packet-guard.js';
import { exemptFromInboundBudget } from './inbound-budget.js';
import { REGISTERED_ROOM, serverRoom, socketPeer } from './socketio-link.js';
import { onePerConnection } from './one-per-connection.js';

const SERVER_EVENTS: Readonly<Record<string, EventShape>> = {
  register: [1, true],
  attach: [1, true],
  moving: [0, true],
  heartbeat: [1, false],
  report: [1, true],
  resync: [0, true],
  signal: [1, false],
  'session-close': [1, false],
  'session-connected': [1, false],
  'whip-signal': [1, false],
  'whip-leave': [1, false],
  'whip-replace': [1, true],
  'whep-closed': [1, false],
};

export interface ServerSideDeps {
  core: HubCore;
  verifier: TokenVerifier;
  whip: WhipRoutes;
  whep: WhepRoutes;
  log: Logger;
  now: () => number;
  /** Several hubs share the adapter: a server's message about a session this hub does not hold goes to the others. */
  crossHub?: boolean;
  /** Several hubs: a server's session message goes to the hub holding the session when it is known. */
  mesh?: {
    forwardSession(serverId: string, event: string, msg: unknown, last: boolean): void;
    bind(h: {
      onSession: (serverId: string, event: string, msg: unknown) => void;
      broadcastSession: (serverId: string, event: string, msg: unknown) => void;
    }): void;
  };
  /** A server's registration was accepted (several hubs: its heartbeat key is written at once). */
  registered?: (serverId: string) => void;
  /** Several hubs: the other hub holding a live connection of this server id, if one does. */
  liveElsewhere?: (serverId: string) => Promise<string | null>;
  /** Several hubs: cluster-token nonces remembered across hubs (Redis). */
  nonces?: { accept(nonce: string, expiresAtMs: number, nowMs: number): Promise<boolean> };
  /** Several hubs: servers registered on another hub that attach here to be asked directly (`SocketIoLink`). */
  attachments?: {
    attach(serverId: string, instance: string | undefined, peer: ServerPeer): void;
    detach(serverId: string, peer: ServerPeer): void;
  };
}

/** The session messages a server sends that may belong to a session (or WHIP/WHEP resource) held by another hub. */
const SESSION_EVENTS = ['signal', 'session-close', 'session-connected', 'whip-signal', 'whip-leave', 'whep-closed'] as const;
type SessionEvent = (typeof SESSION_EVENTS)[number];
const isSessionEvent = (e: unknown): e is SessionEvent => (SESSION_EVENTS as readonly unknown[]).includes(e);
/** The session messages after which the server says nothing more about that session or resource. */
const ENDING_EVENTS: ReadonlySet<SessionEvent> = new Set(['session-close', 'whip-leave', 'whep-closed']);
/** serverSideEmit event between hubs: a server's session message the hub it is connected to does not hold. */
const RELAY_EVENT = 'baton:server-session-msg';
/**
 * Refused `/server` handshakes one connection may make: past this it is closed. Each refusal is a warning only the
 * first time on a connection (debug after): 5,000 bad tokens on one socket wrote 5,000 warnings in 4 s.
 */
export const MAX_AUTH_FAILURES_PER_CONNECTION = 3;

export function wireServers(
  io: IoServer,
  {
    core,
    verifier,
    whip,
    whep,
    log: hubLog,
    now,
    crossHub = false,
    nonces,
    mesh,
    liveElsewhere,
    registered: onRegistered,
    attachments,
  }: ServerSideDeps,
): Namespace<ServerToHubEvents, HubToServerEvents> {
  const ns = io.of('/server') as Namespace<ServerToHubEvents, HubToServerEvents>;
  const metrics = core.metrics;
  // Parsed and checked by the hub the server is connected to (which authenticated it); hubs trust each other.
  const relayed = (serverId: string, event: SessionEvent, msg: never): void => {
    if (event === 'signal') core.serverSignal(serverId, msg);
    else if (event === 'session-close') core.serverClosedSession(serverId, (msg as { sessionId: string }).sessionId);
    else if (event === 'session-connected') core.sessionConnected(serverId, (msg as { sessionId: string }).sessionId);
    else if (event === 'whip-signal') whip.onServerSignal(serverId, msg, true);
    else if (event === 'whip-leave') whip.onServerLeave(serverId, msg);
    else whep.onServerClosed(serverId, msg);
  };
  if (crossHub) {
    (ns as unknown as { on(e: string, l: (...a: unknown[]) => void): void }).on(RELAY_EVENT, (serverId, event, msg) => {
      if (typeof serverId === 'string' && isSessionEvent(event)) relayed(serverId, event, msg as never);
    });
  }
  const broadcast = (serverId: string, event: string, msg: unknown): void =>
    void (ns.serverSideEmit as (e: string, ...a: unknown[]) => boolean)(RELAY_EVENT, serverId, event, msg);
  mesh?.bind({
    onSession: (serverId, event, msg) => {
      if (isSessionEvent(event)) relayed(serverId, event, msg as never);
    },
    broadcastSession: broadcast,
  });
  /** A session message this hub holds no session for: another hub may (with several hubs). */
  const elsewhere = (serverId: string, event: SessionEvent, msg: unknown): boolean => {
    if (!crossHub) return false;
    if (!mesh) broadcast(serverId, event, msg);
    else mesh.forwardSession(serverId, event, msg, ENDING_EVENTS.has(event));
    return true;
  };
  /** Refused handshakes per engine.io connection (a namespace connect may be retried on one connection). */
  const authFailures = new WeakMap<object, number>();
  const refusedAuth = (socket: { conn: { close(): void } }, fields: Record<string, unknown>, message: string): void => {
    metrics.authFailures.inc();
    const n = (authFailures.get(socket.conn) ?? 0) + 1;
    authFailures.set(socket.conn, n);
    hubLog[n === 1 ? 'warn' : 'debug'](fields, message);
    if (n >= MAX_AUTH_FAILURES_PER_CONNECTION) setImmediate(() => socket.conn.close());
  };
  ns.use((socket, next) => {
    try {
      const t = verifier.accept(socket.handshake.auth?.token, now());
      socket.data.serverId = t.serverId;
      if (!nonces) return next();
      // Several hubs: a token captured on its way to one hub must not open a connection on another.
      nonces.accept(t.nonce, t.expiresAtMs, now()).then(
        (fresh) => {
          if (fresh) return next();
          next(new Error('unauthorized: cluster token replayed'));
          refusedAuth(socket, { address: socket.handshake.address, server: t.serverId }, 'server refused: token replayed on another hub');
        },
        () => {
          // Redis away: this hub's own replay check passed; a token lives 30 s. Accepted, and said.
          hubLog.warn({ server: t.serverId }, 'cluster token accepted without the cross-hub replay check (Redis unreachable)');
          next();
        },
      );
    } catch (err) {
      const reason = err instanceof AuthError ? err.message : 'authentication failed';
      next(new Error(`unauthorized: ${reason}`));
      refusedAuth(socket, { address: socket.handshake.address, reason }, 'server refused');
    }
  });
  onePerConnection(ns, () => metrics.rejected.inc({ code: ErrorCode.badRequest }));
  ns.on('connection', (socket) => {
    exemptFromInboundBudget(socket.conn);
    const tokenId: string = socket.data.serverId;
    const log = hubLog.child({ server: tokenId });
    const peer = socketPeer(socket);
    let registered = false;
    let registering = false;
    let attached = false;
    /**
     * Registered or attached on this connection at some point (it may have moved since). Only such a server's messages
     * that pass their schema go to other hubs: before, `whip-*` and `whep-closed` went as received and from a connection
     * that had only authenticated, each fanned out to every hub (found by review attackb30).
     */
    let known = false;
    const onward = (event: SessionEvent, msg: unknown): boolean => known && elsewhere(tokenId, event, msg);
    const onwardParsed = (event: SessionEvent, schema: Parameters<typeof parse>[0], raw: unknown): boolean => {
      const p = parse(schema, raw);
      return p.ok && onward(event, p.value);
    };
    const refuse = (code: ErrorCode, message: string) => {
      metrics.rejected.inc({ code });
      log.warn({ code }, message);
      return ackError(code, message);
    };
    const notParty = (what: string, sessionId: string) =>
      void refuse(ErrorCode.notParty, `${what} for session ${sessionId} ignored: not a party`);
    socket.use(boundPackets(SERVER_PACKET_BOUNDS, (message) => refuse(ErrorCode.badRequest, message)));
    socket.use(
      guardPackets(
        SERVER_EVENTS,
        (e) => socket.listeners(e as never).length > 0,
        (message) => refuse(ErrorCode.badRequest, message),
      ),
    );

    socket.on('register', async (raw, ack) => {
      if (typeof ack !== 'function') return;
      const p = parse(serverDescriptorSchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid registration: ${p.message}`));
      if (p.value.id !== tokenId) return ack(refuse(ErrorCode.unauthorized, `token was minted for ${tokenId}, not ${p.value.id}`));
      if (registered || registering) return ack(refuse(ErrorCode.conflict, 'already registered on this connection'));
      if (attached) return ack(refuse(ErrorCode.conflict, 'this connection is an attachment: register on a connection of its own'));
      if (liveElsewhere) {
        // Several hubs: the same id live on another hub is refused, as a second live connection is on one hub.
        registering = true;
        const other = await liveElsewhere(tokenId).catch(() => null);
        registering = false;
        if (other) return ack(refuse(ErrorCode.conflict, `server id ${tokenId} is already live on hub ${other}`));
        if (!socket.connected) return;
      }
      const r = core.register(peer, p.value, log);
      if (!r.ok) return ack(refuse(r.code, r.message));
      registered = true;
      known = true;
      socket.join([REGISTERED_ROOM, serverRoom(tokenId)]);
      onRegistered?.(tokenId);
      ack(r);
      log.info({ region: p.value.region, assets: p.value.storage.length }, 'server registered');
    });

    // Several hubs: a server registered on another hub, asked and sent to directly here (its session messages come back
    // on this connection). Nothing about it changes in the table: its registration and heartbeats stay on its own hub.
    socket.on('attach', (raw, ack) => {
      if (typeof ack !== 'function') return;
      if (!attachments) return ack(refuse(ErrorCode.badRequest, 'this hub shares no cluster with other hubs: nothing to attach to'));
      const p = parse(serverAttachSchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid attach: ${p.message}`));
      if (p.value.id !== tokenId) return ack(refuse(ErrorCode.unauthorized, `token was minted for ${tokenId}, not ${p.value.id}`));
      if (registered || registering) return ack(refuse(ErrorCode.conflict, 'registered on this connection: it is already asked here'));
      attached = true;
      known = true;
      attachments.attach(tokenId, p.value.instance, peer);
      ack({ ok: true });
      log.debug('server attached');
    });

    // Several hubs: the server moves to another hub; its row stays (its heartbeats go on through that hub).
    socket.on('moving', (ack) => {
      if (typeof ack !== 'function') return;
      if (!registered) return ack(refuse(ErrorCode.badRequest, 'not registered on this connection'));
      const r = core.serverMoving(tokenId, peer);
      if (!r.ok) return ack(refuse(r.code, r.message));
      registered = false;
      ack({ ok: true });
      log.info('server moving to another hub');
    });

    socket.on('heartbeat', (raw) => {
      if (!registered || core.members.localPeer(tokenId) !== peer) return;
      const p = parse(heartbeatSchema, raw);
      if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid heartbeat: ${p.message}`);
      core.heartbeat(tokenId, peer, p.value.load);
    });

    socket.on('report', (raw, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      if (!registered) return reply(refuse(ErrorCode.badRequest, 'register first'));
      const p = parse(reportSchema, raw);
      if (!p.ok) return reply(refuse(ErrorCode.badRequest, `invalid report: ${p.message}`));
      const r = core.report(tokenId, p.value);
      reply(r.ok ? r : refuse(r.code, r.message));
    });

    socket.on('resync', (ack) => {
      if (typeof ack !== 'function') return;
      ack({ ok: true, snapshot: core.snapshot() });
    });

    socket.on('signal', (raw) => {
      const p = parse(signalSchema, raw);
      if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid signal: ${p.message}`);
      if (core.serverSignal(tokenId, p.value) === 'not-party' && !onward('signal', p.value)) notParty('signal', p.value.sessionId);
    });

    socket.on('session-close', (raw) => {
      const p = parse(leaveSchema, raw);
      if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid session-close: ${p.message}`);
      const outcome = core.serverClosedSession(tokenId, p.value.sessionId);
      if (outcome === 'crossed') log.debug({ session: p.value.sessionId }, 'session-close crossed ours');
      else if (outcome === 'not-party' && !onward('session-close', p.value)) notParty('session-close', p.value.sessionId);
    });

    socket.on('session-connected', (raw) => {
      const p = parse(leaveSchema, raw);
      if (!p.ok) return void refuse(ErrorCode.badRequest, `invalid session-connected: ${p.message}`);
      if (core.sessionConnected(tokenId, p.value.sessionId) === 'not-party' && !onward('session-connected', p.value))
        notParty('session-connected', p.value.sessionId);
    });

    socket.on(
      'whip-signal',
      (raw) => void (whip.onServerSignal(tokenId, raw, crossHub) || onwardParsed('whip-signal', whipSignalSchema, raw)),
    );
    socket.on('whip-leave', (raw) => void (whip.onServerLeave(tokenId, raw) || onwardParsed('whip-leave', whipLeaveSchema, raw)));
    // Asked on the connection its broadcast's offer came in on (the hub relaying it): not forwarded to other hubs.
    socket.on('whip-replace', (raw, ack) => typeof ack === 'function' && whip.onServerReplace(tokenId, raw, ack));
    socket.on('whep-closed', (raw) => void (whep.onServerClosed(tokenId, raw) || onwardParsed('whep-closed', whepEndSchema, raw)));

    socket.on('disconnect', (why) => {
      if (attached) attachments?.detach(tokenId, peer);
      else core.serverDisconnected(tokenId, peer, `disconnected: ${why}`);
    });
  });
  return ns;
}
