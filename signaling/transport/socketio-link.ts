// The hub core's link over socket.io: deltas to the `registered` room and the dashboards, clients by socket id, servers as peers.
import type { Namespace, Socket } from 'socket.io';
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

/** The socket.io room of servers whose registration was accepted: they get the delta batches. */
export const REGISTERED_ROOM = 'registered';

export class SocketIoLink implements HubLink {
  servers?: Namespace<ServerToHubEvents, HubToServerEvents>;
  clients?: Namespace<ClientToHubEvents, HubToClientEvents>;
  dashboard?: Namespace<DashboardToHubEvents, HubToDashboardEvents>;
  /** Clients that are not sockets (WHIP broadcasts): true when one took the message. */
  deliverElsewhere: (clientId: string, event: ClientEvent, msg: ClientMessage) => boolean = () => false;

  publishDeltas(batch: VersionedDelta[]): void {
    // One encode per room: socket.io serializes a broadcast once for all its members.
    this.servers?.to(REGISTERED_ROOM).emit('deltas', batch);
    this.dashboard?.emit('deltas', batch);
  }

  publishDecision(d: DecisionEvent): void {
    this.dashboard?.emit('decision', d);
  }

  toClient(clientId: string, event: ClientEvent, msg: ClientMessage): void {
    if (this.deliverElsewhere(clientId, event, msg)) return;
    this.clients?.to(clientId).emit(event, msg as never);
  }
}

/** A media server's socket as the core's peer: one per connection, so the core can tell a replaced connection from the live one. */
export function socketPeer(socket: Socket<ServerToHubEvents, HubToServerEvents>): ServerPeer {
  return {
    send: (event, msg) => void socket.emit(event as 'signal', msg as never),
    ask: (event, msg, timeoutMs) => socket.timeout(timeoutMs).emitWithAck(event as 'select', msg as never) as Promise<unknown>,
    get connected() {
      return socket.connected;
    },
    disconnect: () => void socket.disconnect(true),
  };
}
