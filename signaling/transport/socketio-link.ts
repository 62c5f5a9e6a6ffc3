// The hub core's link over socket.io: deltas to the `registered` room and the dashboards, clients by socket id, servers as peers.
import type { Namespace, Socket } from 'socket.io';
import { CodedError } from '../../common/coded-error.js';
import { Code } from '../../common/error-codes.js';
import type {
  ClientToHubEvents,
  DashboardToHubEvents,
  DecisionEvent,
  HubToClientEvents,
  HubToDashboardEvents,
  HubToServerEvents,
  ServerToHubEvents,
  VersionedDelta,
} from '../protocol/index.js';
import type { ClientEvent, ClientMessage, HubLink, ServerPeer } from '../core/link.js';
import { dropSlowListeners, MAX_DASHBOARD_BACKLOG_BYTES } from './outbound-backlog.js';

/** The socket.io room of servers whose registration was accepted: they get the delta batches. */
export const REGISTERED_ROOM = 'registered';

/** Each registered server's own room: how a hub reaches a server connected to another hub (through the adapter). */
export function serverRoom(id: string): string {
  return `server:${id}`;
}

export class SocketIoLink implements HubLink {
  servers?: Namespace<ServerToHubEvents, HubToServerEvents>;
  clients?: Namespace<ClientToHubEvents, HubToClientEvents>;
  dashboard?: Namespace<DashboardToHubEvents, HubToDashboardEvents>;
  /** A dashboard was disconnected for leaving more than its allowance of deltas and decisions unread (`backlog` bytes). */
  onSlowDashboard: (backlog: number) => void = () => {};
  /** Clients that are not sockets (WHIP broadcasts): true when one took the message. */
  deliverElsewhere: (clientId: string, event: ClientEvent, msg: ClientMessage) => boolean = () => false;

  /** Several hubs share a socket.io adapter: servers on other hubs are reachable through their rooms. */
  crossHub = false;
  /** Several hubs: messages for a server on another hub go to that hub alone (the adapter's rooms are the fallback). */
  mesh?: { peer(serverId: string): ServerPeer };

  /** Several hubs: the process a server id names in the shared table now (its row's `instance`), if known. */
  instanceOf: (serverId: string) => string | undefined = () => undefined;
  /**
   * Several hubs: servers registered on another hub that attached to this one (`attach`), by id: asked and sent to
   * directly, not through their hub's inbox. One per id (the newest attachment); gone with its connection.
   */
  readonly #attached = new Map<string, { conn: ServerPeer; peer: ServerPeer; instance: string | undefined }>();

  /**
   * Asks sent through a server's room, by server id: the adapter keeps such an ask until its timeout when the server's
   * connection closes on its hub, so each fails as soon as the shared table says the server left.
   */
  readonly #roomAsks = new Map<string, Set<(err: Error) => void>>();

  publishDeltas(batch: VersionedDelta[]): void {
    // One encode per room: socket.io serializes a broadcast once for all its members. Local only:
    // with several hubs every hub publishes what it reads from the shared log to its own servers.
    this.servers?.local.to(REGISTERED_ROOM).emit('deltas', batch);
    this.dashboard?.local.emit('deltas', batch);
    this.#dropSlowDashboards();
    if (this.#roomAsks.size === 0) return;
    for (const { d } of batch) {
      if (d.type !== 'server-left') continue;
      const pending = this.#roomAsks.get(d.id);
      if (!pending) continue;
      this.#roomAsks.delete(d.id);
      const err = new CodedError(Code.peerClosed, `server ${d.id} left the cluster (${d.reason}) before the answer came`);
      for (const fail of pending) fail(err);
    }
  }

  remotePeer(serverId: string): ServerPeer | undefined {
    if (!this.crossHub || !this.servers) return undefined;
    const a = this.#attached.get(serverId);
    // Only the process the table names: a frozen old process of the id may still hold an attachment.
    if (!a?.peer.connected || a.instance !== this.instanceOf(serverId)) return this.#viaHubs(serverId);
    return a.peer;
  }

  /** A server on another hub, through that hub (the mesh), else its room over the adapter. */
  #viaHubs(serverId: string): ServerPeer {
    return this.mesh?.peer(serverId) ?? this.roomPeer(serverId);
  }

  /** A server registered on another hub attached here on `conn` (its id checked against its token by the transport). */
  attach(serverId: string, instance: string | undefined, conn: ServerPeer): void {
    const peer: ServerPeer = {
      send: conn.send,
      ask: conn.ask,
      get connected() {
        return conn.connected;
      },
      // Disconnecting a server means its registration, which lives on its own hub.
      disconnect: () => this.#viaHubs(serverId).disconnect(),
    };
    // The older connection is left open, unused: closing it would make a server that reaches this hub by two names
    // (two URLs of one hub) attach again on it, and the two would take turns for ever.
    this.#attached.set(serverId, { conn, peer, instance });
  }

  /** An attachment's connection closed (a newer one of the same id is kept). */
  detach(serverId: string, conn: ServerPeer): void {
    if (this.#attached.get(serverId)?.conn === conn) this.#attached.delete(serverId);
  }

  /** Servers attached here (several hubs). */
  get attachments(): number {
    return this.#attached.size;
  }

  /** A server on another hub, reached through its room over the hubs' adapter (the mesh's fallback). */
  roomPeer(serverId: string): ServerPeer {
    const peer = roomPeer(this.servers!, serverRoom(serverId));
    return {
      ...peer,
      ask: (event, msg, timeoutMs) =>
        new Promise<unknown>((resolve, reject) => {
          let pending = this.#roomAsks.get(serverId);
          if (!pending) this.#roomAsks.set(serverId, (pending = new Set()));
          pending.add(reject);
          const settled = () => {
            pending.delete(reject);
            if (pending.size === 0 && this.#roomAsks.get(serverId) === pending) this.#roomAsks.delete(serverId);
          };
          peer.ask(event, msg, timeoutMs).then(
            (answer) => {
              settled();
              resolve(answer);
            },
            (err: unknown) => {
              settled();
              reject(err);
            },
          );
        }),
    };
  }

  publishDecision(d: DecisionEvent): void {
    this.dashboard?.local.emit('decision', d);
    this.#dropSlowDashboards();
  }

  /** Dashboards are pushed to, never asked: one that does not read is dropped here rather than at a request. */
  #dropSlowDashboards(): void {
    if (this.dashboard) dropSlowListeners(this.dashboard.sockets.values(), MAX_DASHBOARD_BACKLOG_BYTES, this.onSlowDashboard);
  }

  toClient(clientId: string, event: ClientEvent, msg: ClientMessage): void {
    if (this.deliverElsewhere(clientId, event, msg)) return;
    // A session belongs to the hub its client is connected to: always local. (A broadcast through the
    // adapter would wait for Redis first, and stall the relay while Redis is away.)
    this.clients?.local.to(clientId).emit(event, msg as never);
  }
}

/**
 * A media server's socket as the core's peer: one per connection, so the core can tell a replaced connection from the live one.
 * An ask fails as soon as the connection closes: socket.io keeps a pending ack until its timeout even when the socket is
 * gone, and a caller (a WHIP DELETE waiting on `whip-end`, a routing ask) would otherwise wait all of it for nothing.
 */
export function socketPeer(socket: Socket<ServerToHubEvents, HubToServerEvents>): ServerPeer {
  // One disconnect listener per connection for every pending ask (a listener per ask would pile up on a busy director).
  const pending = new Set<(err: Error) => void>();
  socket.once('disconnect', (reason) => {
    const err = new CodedError(Code.peerClosed, `the connection closed (${reason}) before the answer came`);
    for (const fail of pending) fail(err);
    pending.clear();
  });
  return {
    send: (event, msg) => void socket.emit(event as 'signal', msg as never),
    ask: (event, msg, timeoutMs) => {
      if (!socket.connected) return Promise.reject(new CodedError(Code.peerClosed, 'the connection is closed'));
      return new Promise<unknown>((resolve, reject) => {
        pending.add(reject);
        socket.timeout(timeoutMs).emit(
          event as 'select',
          msg as never,
          ((err: Error | null, answer: unknown) => {
            pending.delete(reject);
            if (err) reject(err);
            else resolve(answer);
          }) as never,
        );
      });
    },
    get connected() {
      return socket.connected;
    },
    disconnect: () => void socket.disconnect(true),
  };
}

/**
 * A server on another hub, reached through its room over the hubs' adapter. An ask resolves
 * with the first answer; with no socket in the room (the server is gone) it rejects.
 */
export function roomPeer(ns: Namespace<ServerToHubEvents, HubToServerEvents>, room: string): ServerPeer {
  return {
    send: (event, msg) => void ns.to(room).emit(event as 'signal', msg as never),
    ask: async (event, msg, timeoutMs) => {
      const answers = (await ns
        .to(room)
        .timeout(timeoutMs)
        .emitWithAck(event as 'select', msg as never)) as unknown as unknown[];
      if (!Array.isArray(answers) || answers.length === 0) throw new Error(`no server in ${room} answered`);
      return answers[0];
    },
    connected: true,
    disconnect: () => void ns.in(room).disconnectSockets(true),
  };
}
