// How one hub's core joins the other hubs on Redis: the hub mesh's view of the core, and the shared cluster's.
import type { HubCore } from './core/hub-core.js';
import type { Logger } from './log.js';
import { RotationReason } from './policies/rotation.js';
import { HubMesh, type HubMeshDeps } from './redis/hub-mesh.js';
import type { SharedCluster, SharedCore } from './redis/shared-cluster.js';
import { REGISTERED_ROOM, serverRoom, type SocketIoLink } from './transport/socketio-link.js';
import { HubListPush } from './redis/hub-list-push.js';

/**
 * This hub among the others on Redis: the link reaches a server registered elsewhere through its attachment here,
 * else the mesh; the servers registered here are told the other hubs (`others`), so they attach to each.
 */
export function joinHubs(
  core: HubCore,
  shared: SharedCluster,
  link: SocketIoLink,
  o: { url: string; log: Logger; onResource: HubMeshDeps['onResource']; others: () => Promise<string[]> },
): { mesh: HubMesh; hubListPush: HubListPush } {
  const mesh = coreMesh(core, shared, { url: o.url, link, log: o.log.child({ part: 'mesh' }), onResource: o.onResource });
  link.mesh = mesh;
  link.instanceOf = (id) => core.table.get(id)?.instance;
  const hubListPush = new HubListPush({
    others: o.others,
    toAll: (urls) => link.servers?.local.to(REGISTERED_ROOM).emit('hubs', urls),
    toOne: (id, urls) => link.servers?.local.to(serverRoom(id)).emit('hubs', urls),
    log: o.log.child({ part: 'hub-list' }),
  });
  return { mesh, hubListPush };
}

/**
 * The mesh that carries this hub's messages for servers registered with other hubs: it finds a server
 * through its heartbeat key, uses this hub's own socket when it holds one, and the socket.io adapter's
 * room (read by every hub) as the costly fallback.
 */
export function coreMesh(
  core: HubCore,
  shared: SharedCluster,
  o: { url: string; link: SocketIoLink; log: Logger; onResource: HubMeshDeps['onResource'] },
): HubMesh {
  return new HubMesh({
    url: o.url,
    keys: shared.keys,
    hubId: shared.hubId,
    log: o.log,
    locate: (ids) => shared.locate(ids),
    local: (id) => core.members.localPeer(id),
    fallback: (id) => o.link.roomPeer(id),
    count: (kind) => core.metrics.crossHub.inc({ kind }),
    instanceOf: (id) => core.table.get(id)?.instance,
    reachable: () => shared.ready,
    onResource: o.onResource,
    onRotate: (epoch, reason) => {
      if (Object.values(RotationReason).includes(reason as RotationReason)) core.seat.rotateFor(epoch, reason as RotationReason);
    },
  });
}

/** The hub core as the shared cluster drives it; `hubStatus` is what this hub publishes about itself. */
export function sharedCoreOf(core: HubCore, mesh: HubMesh | undefined, hubStatus: SharedCore['hubStatus']): SharedCore {
  return {
    table: core.table,
    applyShared: (b) => {
      // A server that joined (again) may be on another hub now: the mesh asks where, rather than its cache.
      for (const x of b) if (x.d.type === 'server-joined') mesh?.forget(x.d.server.id);
      return core.applyShared(b);
    },
    loadShared: (s) => core.loadShared(s),
    leaseChanged: () => core.leaseChanged(),
    removeSilent: (ids) => core.removeSilent(ids),
    localServers: () => core.members.ids(),
    hubStatus,
  };
}
