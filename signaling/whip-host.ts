// What the hub core lends the WHIP routes (and through them the WHEP routes): its publish path, its server peers and its sessions.
import { clientIp } from './geo/ip-locate.js';
import type { HubCore } from './core/hub-core.js';
import type { Logger } from './log.js';
import { ackError, ErrorCode } from './protocol/index.js';
import type { WhipHost, WhipStreams } from './whip-routes.js';
import type { ResourceForward } from './resource-forward.js';

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
    publish: (clientId, req, ip) => core.publish(clientId, req, ip),
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
      } catch {
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
    hasSessions: (clientId) => core.relay.hasSessions(clientId),
    closeClient: (clientId, reason) => core.relay.closeClient(clientId, reason),
    iceServers: o.iceServers,
    log: o.log,
    ...(o.hubId && o.forward ? { hubId: o.hubId, forward: o.forward } : {}),
    ...(o.streams ? { streams: o.streams } : {}),
  };
}
