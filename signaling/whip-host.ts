// What the hub core lends the WHIP routes (and through them the WHEP routes): its publish path, its server peers and its sessions.
import type { IncomingMessage } from 'node:http';
import { codeOf } from '../common/coded-error.js';
import { Code } from '../common/error-codes.js';
import { clientIp } from './geo/ip-locate.js';
import type { HubCore } from './core/hub-core.js';
import type { PlaceOn } from './core/publish-router.js';
import type { Logger } from './log.js';
import { ackError, ErrorCode, type Ack, type PublishReply, type PublishRequest } from './protocol/index.js';
import type { WhipStreamRecord } from './redis/shared-whip.js';
import type { ResourceForward } from './resource-forward.js';

/** What the hub lends the WHIP routes: its publish path, its server sockets and its sessions. */
export interface WhipHost {
  /** The hub's own `publish` handler, for a client that is this WHIP resource. */
  publish(clientId: string, req: PublishRequest, ip: string | null, on?: PlaceOn): Promise<Ack<PublishReply>>;
  clientIp(req: IncomingMessage): string | null;
  /** Emits to a registered server; false when it is gone. */
  emit(serverId: string, event: string, msg: unknown): boolean;
  request<T extends object>(serverId: string, event: string, msg: unknown, timeoutMs: number): Promise<Ack<T>>;
  session(sessionId: string): { clientSocketId: string; serverId: string } | undefined;
  /** Ids of the servers in the cluster's table now (registered with any hub). */
  serverIds(): string[];
  /** The process a server id names now (its table row's `instance`), if known. */
  instanceOf(serverId: string): string | undefined;
  /** Servers holding an unfinished, non-empty copy of this stream. */
  liveCopies(streamId: string): string[];
  /** Servers in the table storing the asset (finalized copies). */
  storedCopies(streamId: string): string[];
  /** Whether any session of this client is still open. */
  hasSessions(clientId: string): boolean;
  /** Closes every session of a client, telling each server. */
  closeClient(clientId: string, reason: string): void;
  /** The client leaves one of its sessions (as a broadcaster's `leave`): closed at the hub, its server told. */
  leave(clientId: string, sessionId: string): void;
  iceServers: RTCIceServer[];
  log: Logger;
  /** Several hubs: this hub's id, put in the resource ids it mints so that any hub can find the resource. */
  hubId?: string;
  /** Several hubs: a request for a resource another hub minted, relayed to it. */
  forward?: ResourceForward;
  /** Several hubs: each stream id's WHIP record in Redis (`SharedWhipStreams`): which hub relays it, its resume window. */
  streams?: WhipStreams;
}

/** The part of `SharedWhipStreams` the routes use. */
export interface WhipStreams {
  start(streamId: string, r: WhipStreamRecord): Promise<void>;
  keep(streamId: string, resource: string, windowMs: number): Promise<void>;
  stop(streamId: string, resource: string): Promise<void>;
  finish(streamId: string, r: WhipStreamRecord, holders: readonly string[], windowMs: number): Promise<void>;
  get(streamId: string): Promise<WhipStreamRecord | undefined>;
}

export interface WhipHostOptions {
  /** Proxies whose X-Forwarded-For names the client. */
  trustedProxies: string[];
  iceServers: RTCIceServer[];
  log: Logger;
  /** Several hubs: this hub's id and the way to the others (see WhipHost). */
  hubId?: string;
  forward?: ResourceForward;
  streams?: WhipStreams;
}

/** The WHIP routes' view of `core`: a WHIP resource is one more client of the same publish path and relay. */
export function coreWhipHost(core: HubCore, o: WhipHostOptions): WhipHost {
  return {
    publish: (clientId, req, ip, on) => core.publish(clientId, req, ip, on),
    clientIp: (req) => clientIp(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], o.trustedProxies),
    emit: (serverId, event, msg) => {
      const peer = core.members.peer(serverId);
      peer?.send(event, msg);
      return peer !== undefined;
    },
    request: async (serverId, event, msg, timeoutMs) => {
      const peer = core.members.peer(serverId);
      if (!peer) return ackError(ErrorCode.noIngest, `server ${serverId} is gone`);
      core.feed.flush();
      try {
        return (await peer.ask(event, msg, timeoutMs)) as never;
      } catch (err) {
        // Gone is not late: the caller may go on elsewhere at once (a DELETE tells the broadcaster its backup holds the copy).
        if (codeOf(err) === Code.peerClosed) return ackError(ErrorCode.noIngest, `server ${serverId} went away before answering ${event}`);
        return ackError(ErrorCode.timeout, `server ${serverId} did not answer ${event} in time`);
      }
    },
    session: (id) => core.relay.sessions.get(id),
    // The table's, not this hub's members: with several hubs a primary registered with another hub is up too.
    serverIds: () => core.table.ids(),
    instanceOf: (id) => core.table.get(id)?.instance,
    // An empty copy (a broadcast that sent nothing) can be taken over from byte 0.
    liveCopies: (streamId) =>
      [...core.table.liveHolders(streamId)].filter((id) => (core.table.get(id)?.live.get(streamId)?.bytes ?? 0) > 0),
    storedCopies: (streamId) => [...core.table.storageHolders(streamId)],
    hasSessions: (clientId) => core.relay.hasSessions(clientId),
    closeClient: (clientId, reason) => core.relay.closeClient(clientId, reason),
    leave: (clientId, sessionId) => void core.relay.leave(clientId, sessionId),
    iceServers: o.iceServers,
    log: o.log,
    ...(o.hubId && o.forward ? { hubId: o.hubId, forward: o.forward } : {}),
    ...(o.streams ? { streams: o.streams } : {}),
  };
}
