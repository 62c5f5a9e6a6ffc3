// The /dashboard namespace: operators only, connections rate-limited per IP, read-only (a snapshot, then deltas and decisions).
import { addressKey } from '../../common/address-key.js';
import type { Namespace, Server as IoServer } from 'socket.io';
import { ackError, ErrorCode, type DashboardToHubEvents, type HubToDashboardEvents } from '../protocol/index.js';
import type { DashboardHubEntry } from '../protocol/events.js';
import { KeyedRateLimiter, TokenBucket } from '../../common/token-bucket.js';
import type { HubCore } from '../core/hub-core.js';
import { clientIp } from '../geo/ip-locate.js';
import { isDirectLocal, type OperatorGate } from '../operator-gate.js';
import { boundPackets, DASHBOARD_PACKET_BOUNDS } from './packet-bounds.js';
import { guardPackets, type EventShape } from './packet-guard.js';
import { onePerConnection } from './one-per-connection.js';
import { dropSlowReaders, MAX_DASHBOARD_BACKLOG_BYTES, outboundBacklog } from './outbound-backlog.js';

/** Dashboard connections per client IP (each costs a full snapshot); with several hubs, cluster-wide per window. */
export const DASHBOARD_CONNECTS_PER_S = 2;
export const DASHBOARD_CONNECT_BURST = 10;
/** Dashboard `resync` per connection (each is a full snapshot): 1/s, bursts of 3. */
const DASHBOARD_RESYNC_PER_S = 1;
const DASHBOARD_RESYNC_BURST = 3;
/** Dashboard `hubs` per connection (the page polls every 2 s): 1/s, bursts of 3. */
const DASHBOARD_HUBS_PER_S = 1;
const DASHBOARD_HUBS_BURST = 3;
const DASHBOARD_EVENTS: Readonly<Record<string, EventShape>> = { resync: [0, true], hubs: [0, true] };

export interface DashboardSideDeps {
  core: HubCore;
  gate: OperatorGate;
  now: () => number;
  trustedProxies: string[];
  /** With several hubs: the same budget counted across them (SharedRateWindows), so one IP does not get it once per hub. */
  sharedConnects?: { take(ip: string): boolean };
  /** The cluster's hubs, as `GET /api/hubs` lists them; rejects while Redis is unreachable. */
  hubList: () => Promise<DashboardHubEntry[]>;
}

export function wireDashboard(
  io: IoServer,
  { core, gate, now, trustedProxies, sharedConnects, hubList }: DashboardSideDeps,
): Namespace<DashboardToHubEvents, HubToDashboardEvents> {
  const ns = io.of('/dashboard') as Namespace<DashboardToHubEvents, HubToDashboardEvents>;
  const metrics = core.metrics;
  const connects = new KeyedRateLimiter(DASHBOARD_CONNECTS_PER_S, DASHBOARD_CONNECT_BURST);
  ns.use((socket, next) => {
    const v = gate.check(
      typeof socket.handshake.auth?.token === 'string' ? socket.handshake.auth.token : undefined,
      isDirectLocal(socket.handshake.address, socket.handshake.headers),
    );
    if (!v.ok) return next(new Error(`unauthorized: ${v.message}`));
    // Counted by addressKey: an IPv6 client's whole /64 is one address.
    const ip = addressKey(clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], trustedProxies) ?? 'unknown');
    if (!connects.take(ip, now()) || !(sharedConnects?.take(ip) ?? true)) {
      metrics.rejected.inc({ code: ErrorCode.rateLimited });
      return next(new Error('rate-limited: too many dashboard connections; slow down'));
    }
    next();
  });
  onePerConnection(ns, () => metrics.rejected.inc({ code: ErrorCode.badRequest }));
  ns.on('connection', (socket) => {
    socket.emit('snapshot', core.snapshot());
    for (const d of core.decisions) socket.emit('decision', d);
    // What it may leave unread: what joining sent it (a big table's snapshot takes a while on a slow link), and the
    // pushes after it up to a bound (SocketIoLink drops a dashboard past it; a resync asked meanwhile is refused).
    const allowance = outboundBacklog(socket) + MAX_DASHBOARD_BACKLOG_BYTES;
    (socket.data as { backlogAllowance?: number }).backlogAllowance = allowance;
    socket.use(
      dropSlowReaders(socket, allowance, () => {
        metrics.rejected.inc({ code: 'slow-reader' });
      }),
    );
    const bucket = new TokenBucket(now(), DASHBOARD_RESYNC_PER_S, DASHBOARD_RESYNC_BURST);
    const onBad = (message: string) => {
      metrics.rejected.inc({ code: ErrorCode.badRequest });
      return ackError(ErrorCode.badRequest, message);
    };
    socket.use(boundPackets(DASHBOARD_PACKET_BOUNDS, onBad));
    // Without this, a resync with arguments or an unknown event with an ack went unanswered.
    socket.use(guardPackets(DASHBOARD_EVENTS, (e) => socket.listeners(e as never).length > 0, onBad));
    socket.on('resync', (ack) => {
      if (typeof ack !== 'function') return;
      if (!bucket.take(now())) return ack(ackError(ErrorCode.rateLimited, 'at most one resync a second; slow down'));
      ack({ ok: true, snapshot: core.snapshot() });
    });
    const hubsBucket = new TokenBucket(now(), DASHBOARD_HUBS_PER_S, DASHBOARD_HUBS_BURST);
    socket.on('hubs', (ack) => {
      if (typeof ack !== 'function') return;
      if (!hubsBucket.take(now())) return ack(ackError(ErrorCode.rateLimited, 'at most one hub list a second; slow down'));
      hubList().then(
        (hubs) => ack({ ok: true, hubs }),
        () => ack(ackError(ErrorCode.internal, 'the hub list is in Redis, which is unreachable now')),
      );
    });
    // The dashboard is read-only: anything else it sends is ignored.
  });
  return ns;
}
