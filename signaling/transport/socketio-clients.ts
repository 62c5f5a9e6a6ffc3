// The /client namespace: viewers and broadcasters, rate-limited per connection, every event parsed by its schema.
import type { Namespace, Server as IoServer } from 'socket.io';
import {
  ackError,
  ErrorCode,
  leaveSchema,
  parse,
  placesSchema,
  publishSchema,
  signalSchema,
  viewersQuerySchema,
  catalogQuerySchema,
  watchSchema,
  type ClientToHubEvents,
  type HubToClientEvents,
} from '../protocol/index.js';
import { TokenBucket, WorkBudget } from '../../common/token-bucket.js';
import type { HubCore } from '../core/hub-core.js';
import { SearchBusyError } from '../catalog-view.js';
import { clientIp } from '../geo/ip-locate.js';
import { suggest } from '../geo/gazetteer.js';
import type { Logger } from '../log.js';
import { boundPackets, CLIENT_PACKET_BOUNDS } from './packet-bounds.js';
import { dropSlowReaders, MAX_CLIENT_BACKLOG_BYTES } from './outbound-backlog.js';
import { guardPackets, type EventShape } from './packet-guard.js';
import { onePerConnection, perConnection } from './one-per-connection.js';

const CLIENT_EVENTS: Readonly<Record<string, EventShape>> = {
  catalog: [0, true],
  'catalog-query': [1, true],
  watch: [1, true],
  publish: [1, true],
  places: [1, true],
  viewers: [1, true],
  signal: [1, false],
  leave: [1, false],
};

/**
 * Place suggestions may take this much of the hub's time per second, all clients together (burst: twice that): a
 * country-filtered one- or two-letter prefix walks its whole range (2–3 ms), and 64 connections of one address at
 * 20/s each could otherwise keep more than a core busy (found by review).
 */
export const PLACES_WORK_MS_PER_S = 250;

export interface ClientSideDeps {
  core: HubCore;
  log: Logger;
  now: () => number;
  /** Per-connection request rate (requests/s) and burst. */
  ratePerS: number;
  burst: number;
  trustedProxies: string[];
}

export function wireClients(
  io: IoServer,
  { core, log: hubLog, now, ratePerS, burst, trustedProxies }: ClientSideDeps,
): Namespace<ClientToHubEvents, HubToClientEvents> {
  const ns = io.of('/client') as Namespace<ClientToHubEvents, HubToClientEvents>;
  const metrics = core.metrics;
  const placesWork = new WorkBudget(now(), PLACES_WORK_MS_PER_S, 2 * PLACES_WORK_MS_PER_S);
  onePerConnection(ns, () => metrics.rejected.inc({ code: ErrorCode.badRequest }));
  // Per connection, not per socket: leaving and joining again on one WebSocket refills nothing.
  const connection = perConnection(() => ({ bucket: new TokenBucket(now(), ratePerS, burst), warnedNotParty: new Set<string>() }));
  ns.on('connection', (socket) => {
    const { bucket, warnedNotParty } = connection(socket);
    const log = hubLog.child({ client: socket.id });
    const ip = () => clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], trustedProxies);
    const limited = (): boolean => {
      if (bucket.take(now())) return false;
      metrics.rejected.inc({ code: ErrorCode.rateLimited });
      return true;
    };
    const refuse = (code: ErrorCode, message: string) => {
      metrics.rejected.inc({ code });
      log.debug({ code }, message);
      return ackError(code, message);
    };
    const slowDown = () => ackError(ErrorCode.rateLimited, 'too many requests; slow down');
    const onBadPacket = (message: string, acked: boolean) => {
      const r = refuse(ErrorCode.badRequest, message);
      // Bad packets spend the sender's tokens too, so they cannot make the hub talk without limit.
      if (!acked && !limited()) socket.emit('error', { code: r.code, message: r.message });
      return r;
    };
    // Signals and leaves for others' sessions are counted; the first of each kind per
    // connection is a warning, the rest debug lines, so a flood cannot fill the log (50,000
    // leaves were 10 MB).
    const notParty = (what: 'signal' | 'leave', session: string): void => {
      metrics.rejected.inc({ code: ErrorCode.notParty });
      const level = warnedNotParty.has(what) ? 'debug' : 'warn';
      warnedNotParty.add(what);
      log[level]({ session }, `${what} for a session this client is not part of: ignored`);
    };
    // First: a client that does not read its replies gets no more of them.
    socket.use(
      dropSlowReaders(socket, MAX_CLIENT_BACKLOG_BYTES, (backlog) => {
        metrics.rejected.inc({ code: 'slow-reader' });
        log.debug({ backlog }, 'client holds too many unread replies: disconnected');
      }),
    );
    socket.use(boundPackets(CLIENT_PACKET_BOUNDS, onBadPacket));
    socket.use(guardPackets(CLIENT_EVENTS, (e) => socket.listeners(e as never).length > 0, onBadPacket));

    socket.on('catalog', (ack) => {
      if (typeof ack !== 'function') return;
      if (limited()) return ack(slowDown());
      ack({ ok: true, ...core.catalogView.page() });
    });

    socket.on('catalog-query', (raw, ack) => {
      if (typeof ack !== 'function') return;
      if (limited()) return ack(slowDown());
      const p = parse(catalogQuerySchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid catalog query: ${p.message}`));
      try {
        ack({ ok: true, ...core.catalogView.query(p.value) });
      } catch (err) {
        if (!(err instanceof SearchBusyError)) throw err;
        ack(refuse(ErrorCode.rateLimited, err.message));
      }
    });

    socket.on('viewers', (raw, ack) => {
      if (typeof ack !== 'function') return;
      if (limited()) return ack(slowDown());
      const p = parse(viewersQuerySchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid viewers query: ${p.message}`));
      ack({ ok: true, counts: p.value.assetIds.map((id) => core.catalogView.viewersOf(id)) });
    });

    socket.on('watch', (raw, ack) => {
      if (typeof ack !== 'function') return;
      if (limited()) return ack(slowDown());
      const p = parse(watchSchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid watch: ${p.message}`));
      const started = performance.now();
      core.watch(socket.id, ip(), p.value).then(
        (r) => {
          metrics.watchLatency.observe((performance.now() - started) / 1000);
          if (!r.ok) metrics.rejected.inc({ code: r.code });
          ack(r);
        },
        (err) => ack(refuse(ErrorCode.internal, `watch failed: ${(err as Error).message}`)),
      );
    });

    socket.on('publish', (raw, ack) => {
      if (typeof ack !== 'function') return;
      if (limited()) return ack(slowDown());
      const p = parse(publishSchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid publish: ${p.message}`));
      core.publish(socket.id, p.value, ip()).then(
        (r) => ack(r),
        (err) => ack(refuse(ErrorCode.internal, `publish failed: ${(err as Error).message}`)),
      );
    });

    socket.on('places', (raw, ack) => {
      if (typeof ack !== 'function') return;
      if (limited()) return ack(slowDown());
      const p = parse(placesSchema, raw);
      if (!p.ok) return ack(refuse(ErrorCode.badRequest, `invalid places query: ${p.message}`));
      if (!placesWork.admit(now())) return ack(refuse(ErrorCode.rateLimited, 'place suggestions are busy; try again in a moment'));
      const t0 = performance.now();
      const places = suggest(p.value.q, p.value.limit ?? 8);
      placesWork.charge(performance.now() - t0);
      ack({ ok: true, places });
    });

    socket.on('signal', (raw) => {
      if (limited()) return;
      const p = parse(signalSchema, raw);
      if (!p.ok) return void socket.emit('error', { code: ErrorCode.badRequest, message: `invalid signal: ${p.message}` });
      if (core.clientSignal(socket.id, p.value) === 'not-party') notParty('signal', p.value.sessionId);
    });

    socket.on('leave', (raw) => {
      if (limited()) return;
      const p = parse(leaveSchema, raw);
      if (!p.ok) return;
      const outcome = core.leave(socket.id, p.value.sessionId);
      if (outcome === 'crossed') log.debug({ session: p.value.sessionId }, 'leave crossed a close');
      else if (outcome === 'not-party') notParty('leave', p.value.sessionId);
    });

    socket.on('disconnect', () => core.clientDisconnected(socket.id));
  });
  return ns;
}
