// The client SDK's link to the hub: typed socket.io sockets on `/client` and
// `/dashboard`, and a connect that waits for the first connection. No DOM, no Node:
// the Lit pages and the CLI both open their hub sockets here.
import type { TransportCtor } from 'engine.io-client';
import { io, type Socket } from 'socket.io-client';
import type { ClientToHubEvents, DashboardToHubEvents, HubToClientEvents, HubToDashboardEvents } from '../signaling/protocol/events.js';
import { CodedError } from '../common/coded-error.js';

export type { DashboardToHubEvents };

export type ClientSocket = Socket<HubToClientEvents, ClientToHubEvents>;
export type DashboardSocket = Socket<HubToDashboardEvents, DashboardToHubEvents>;

/** How long an ack may take before the caller treats the hub as unreachable. */
export const ACK_TIMEOUT_MS = 8_000;
/** Connecting (one attempt) gives up after this long. */
export const HUB_CONNECT_TIMEOUT_MS = 10_000;
/** socket.io's own reconnect backoff, when reconnecting is on: from this… */
export const RECONNECT_DELAY_MS = 1_000;
/** …doubling (with jitter) up to this. */
export const RECONNECT_DELAY_MAX_MS = 5_000;

export interface HubLinkOptions {
  /** Hub base URL (`http://127.0.0.1:8080`); the page's own origin when absent (browsers). */
  hubUrl?: string;
  /**
   * Keep reconnecting with backoff after a drop (pages: true). False: one attempt, and a
   * dropped link stays down (one-shot CLI commands fail fast instead of hanging).
   */
  reconnect?: boolean;
  /** Sent with the handshake (e.g. the operator token of `/dashboard`). */
  auth?: Record<string, unknown>;
  timeoutMs?: number;
  /**
   * Other hubs of the same cluster (several hubs on Redis), asked at each reconnect: each
   * attempt after a drop goes to the next hub of [this one, …alternates], so a client whose hub
   * died comes back on another within one reconnect delay. Read at every attempt (the page
   * learns the list from `/api/config` after it connected).
   */
  alternates?: () => readonly string[];
  /** Node only: headers of the handshake (e.g. `x-forwarded-for` from a trusted proxy's tool); browsers send their own. */
  extraHeaders?: Record<string, string>;
  /** engine.io's WebSocket transport to use instead of its own (the page's takes over a WebSocket opened before it loaded). */
  websocket?: TransportCtor;
}

function open<S>(namespace: string, o: HubLinkOptions): S {
  const base = o.hubUrl ? o.hubUrl.replace(/\/$/, '') : '';
  const socket = io(`${base}${namespace}`, {
    transports: o.websocket ? [o.websocket] : ['websocket'],
    reconnection: o.reconnect ?? true,
    reconnectionDelay: RECONNECT_DELAY_MS,
    reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
    timeout: o.timeoutMs ?? HUB_CONNECT_TIMEOUT_MS,
    ...(o.auth ? { auth: o.auth } : {}),
    ...(o.extraHeaders ? { extraHeaders: o.extraHeaders } : {}),
  });
  if (o.alternates) rotateHubs(socket, o.alternates);
  return socket as S;
}

/**
 * Each reconnect attempt goes to the next hub: socket.io's manager opens every attempt's
 * connection on its `uri`, so moving that keeps the one socket (and every listener the client
 * put on it) across hubs; the namespace stays the socket's own.
 */
function rotateHubs(socket: Socket, alternates: () => readonly string[]): void {
  const manager = socket.io as unknown as { uri: string; on(e: 'reconnect_attempt', l: () => void): void };
  const first = manager.uri;
  let i = 0;
  manager.on('reconnect_attempt', () => {
    const urls = [first, ...alternates().filter((u) => !first.startsWith(u.replace(/\/$/, '')))];
    i = (i + 1) % urls.length;
    manager.uri = urls[i]!;
  });
}

/** A `/client` socket, connecting in the background (listen to `connect`/`disconnect` for state). */
export function openClientSocket(o: HubLinkOptions = {}): ClientSocket {
  return open<ClientSocket>('/client', o);
}

/** A `/dashboard` socket (read-only), connecting in the background. */
export function openDashboardSocket(o: HubLinkOptions = {}): DashboardSocket {
  return open<DashboardSocket>('/dashboard', o);
}

/**
 * Resolves once `socket` is connected; rejects with `hub-unreachable` on its first connect error when it will not
 * retry, after `failAfter` connect errors when it does (a socket rotating through `alternates`: each of its hubs
 * failed once), or when `timeoutMs` passes.
 */
export function whenConnected(socket: Socket, hubUrl: string, timeoutMs = HUB_CONNECT_TIMEOUT_MS, failAfter = Infinity): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let failures = 0;
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      err ? reject(err) : resolve();
    };
    const onConnect = (): void => done();
    const onError = (err: Error): void => {
      // With reconnection on, socket.io retries by itself: wait for it (up to the timeout, or `failAfter` failures).
      if (!socket.io.opts.reconnection || ++failures >= failAfter)
        done(new CodedError('hub-unreachable', `cannot reach the hub at ${hubUrl}: ${whyUnreachable(err)}`, { cause: err }));
    };
    const timer = setTimeout(
      () => done(new CodedError('hub-unreachable', `cannot reach the hub at ${hubUrl} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/**
 * What a connect error says: socket.io's own message ("websocket error") names no cause; the transport's (Node's `ws`)
 * does — nothing listening, or an HTTP server that is not a hub (a media server's port, say).
 */
function whyUnreachable(err: Error): string {
  const detail = (err as { description?: { message?: unknown } }).description?.message;
  if (typeof detail !== 'string' || detail === '') return err.message;
  if (/ECONNREFUSED/.test(detail)) return `${detail} (nothing listens there)`;
  if (/Unexpected server response/.test(detail))
    return `${detail} (an HTTP server that is not a Baton hub answered: a media server's port? The hub prints "Baton hub listening on …")`;
  return `${err.message}: ${detail}`;
}
