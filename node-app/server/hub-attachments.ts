// Several hubs: a media server's connections to the hubs it is not registered with. Each of those hubs then asks it
// (director choices, session opens) and relays its clients' signals to it directly, not through the inbox of the hub
// it is registered with; the server answers a session's messages on the connection the session came in on.
import { io as connect, type Socket } from 'socket.io-client';
import { routeKey, type HubToServerEvents, type ServerToHubEvents } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';

type HubSocket = Socket<HubToServerEvents, ServerToHubEvents>;
type Untyped = (...args: unknown[]) => void;

/** Sessions (and WHIP/WHEP resources) whose way back is remembered; past this the oldest is forgotten (it then goes by the hub the server is registered with, which forwards it). */
export const MAX_ATTACHED_ROUTES = 10_000;
/** The other hubs a hub may name (`hubs`): as many as it lists (`MAX_LISTED_HUBS`). */
export const MAX_LEARNED_HUBS = 64;
const MAX_URL_CHARS = 2_048;

/** The `hubs` message (the other hubs of the cluster): its http(s) URLs, at most MAX_LEARNED_HUBS; null when it is not a list. */
export function hubListOf(raw: unknown): string[] | null {
  if (!Array.isArray(raw)) return null;
  const urls: string[] = [];
  for (const u of raw.slice(0, MAX_LEARNED_HUBS)) {
    if (typeof u !== 'string' || u.length > MAX_URL_CHARS) continue;
    try {
      const p = new URL(u);
      if (p.protocol === 'http:' || p.protocol === 'https:') urls.push(u);
    } catch {
      // not a URL: skipped
    }
  }
  return urls;
}

/**
 * The hubs a server may use of those its hub `named`: when any hub it was `given` is https, only https ones — it sends
 * each its token and registration, which must not travel in the clear because someone wrote an http URL into the list.
 */
export function usableNamedHubs(given: readonly string[], named: readonly string[]): string[] {
  return given.some((u) => u.startsWith('https:')) ? named.filter((u) => u.startsWith('https:')) : [...named];
}

/** The hub → server messages that open a session or resource on the connection they arrive on. */
const OPENING_EVENTS = ['session-open', 'whip-offer', 'whep-offer'] as const;
/** The server → hub messages after which it says nothing more about that session or resource. */
const ENDING_EVENTS: ReadonlySet<string> = new Set(['session-close', 'whip-leave', 'whep-closed']);
/** socket.io-client's reconnect schedule for an attachment (a hub restarting, or gone for good). */
const RECONNECT_DELAY_MS = 500;
const RECONNECT_DELAY_MAX_MS = 5_000;

export interface HubAttachmentsOptions {
  /** A fresh cluster token for this server at each call (`serverTokenMinter`). */
  mintToken: () => string;
  id: string;
  /** This process (the registration's `instance`): a hub uses an attachment only while the table names it. */
  instance: () => string | undefined;
  /** The listeners of hub events, put on every attachment as on the registered connection. */
  handlers: readonly (readonly [string, Untyped])[];
  log: Logger;
  /** Default `MAX_ATTACHED_ROUTES` (tests lower it to reach it). */
  maxRoutes?: number;
}

export class HubAttachments {
  readonly #o: HubAttachmentsOptions;
  readonly #sockets = new Map<string, HubSocket>();
  /** Hubs that refused an attachment (a hub alone, not sharing a cluster): not asked again. */
  readonly #refused = new Set<string>();
  /** Route key → the attachment its session came in on (insertion order: the oldest first). */
  readonly #routes = new Map<string, HubSocket>();
  /** Hub → when its attachment was last accepted (deleted when it goes down): how long that hub has been up for us. */
  readonly #upSince = new Map<string, number>();
  #closed = false;

  constructor(o: HubAttachmentsOptions) {
    this.#o = o;
  }

  /** Attached to every hub of `urls` but `home` (the one registered with), and to no other. */
  sync(urls: readonly string[], home: string): void {
    if (this.#closed) return;
    for (const [url, socket] of this.#sockets) {
      if (url === home || !urls.includes(url)) this.#drop(url, socket);
    }
    for (const url of urls) {
      if (url !== home && !this.#sockets.has(url) && !this.#refused.has(url)) this.#open(url);
    }
  }

  /** The connection a session's message goes back on, if the session came in on an attachment that is still up. */
  routeFor(event: string, msg: unknown): HubSocket | undefined {
    if (this.#routes.size === 0) return undefined;
    const key = routeKey(msg);
    if (key === undefined) return undefined;
    const socket = this.#routes.get(key);
    if (socket && ENDING_EVENTS.has(event)) this.#routes.delete(key);
    return socket?.connected ? socket : undefined;
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** How long the attachment to `url` has been up without a break, ms (0 when it is not up). */
  upForMs(url: string): number {
    const since = this.#upSince.get(url);
    return since === undefined || !this.#sockets.get(url)?.connected ? 0 : Date.now() - since;
  }

  get routes(): number {
    return this.#routes.size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [url, socket] of this.#sockets) this.#drop(url, socket);
    this.#routes.clear();
  }

  #open(url: string): void {
    const o = this.#o;
    const socket: HubSocket = connect(`${url}/server`, {
      auth: (cb) => cb({ token: o.mintToken() }),
      reconnectionDelay: RECONNECT_DELAY_MS,
      reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
      randomizationFactor: 0.5,
      transports: ['websocket'],
    });
    this.#sockets.set(url, socket);
    // Before the handlers: a handler may answer (and signal) at once.
    for (const event of OPENING_EVENTS) {
      (socket.on as (e: string, l: Untyped) => unknown)(event, (msg: unknown) => this.#remember(msg, socket));
    }
    for (const [event, listener] of o.handlers) (socket.on as (e: string, l: Untyped) => unknown)(event, listener);
    socket.on('connect', () => {
      const instance = o.instance();
      socket.emit('attach', { id: o.id, ...(instance !== undefined ? { instance } : {}) }, (r) => {
        if (r.ok) {
          if (this.#sockets.get(url) === socket) this.#upSince.set(url, Date.now());
          return void o.log.debug({ hub: url }, 'attached to hub');
        }
        // A hub alone (no cluster to share) or one that takes this connection for something else: not asked again.
        o.log.warn({ hub: url, code: r.code }, `attach refused: ${r.message}; that hub reaches this server through its own hub`);
        this.#refused.add(url);
        this.#drop(url, socket);
      });
    });
    socket.on('disconnect', (why) => {
      if (this.#sockets.get(url) === socket) this.#upSince.delete(url);
      // socket.io comes back by itself after a transport failure, not when the hub closed the connection (it stopped,
      // or replaced this attachment): try again after a pause while this hub is still on the list.
      if (why !== 'io server disconnect') return;
      setTimeout(() => !this.#closed && this.#sockets.get(url) === socket && socket.connect(), RECONNECT_DELAY_MS * (1 + Math.random()));
    });
    socket.on('connect_error', (err) => {
      if (!err.message.startsWith('unauthorized')) return; // socket.io retries with backoff
      o.log.warn({ hub: url, reason: err.message }, 'attach refused at connect');
      this.#drop(url, socket);
    });
  }

  #remember(msg: unknown, socket: HubSocket): void {
    const key = routeKey(msg);
    if (key === undefined) return;
    this.#routes.delete(key);
    this.#routes.set(key, socket);
    if (this.#routes.size > (this.#o.maxRoutes ?? MAX_ATTACHED_ROUTES)) this.#routes.delete(this.#routes.keys().next().value!);
  }

  #drop(url: string, socket: HubSocket): void {
    if (this.#sockets.get(url) === socket) {
      this.#sockets.delete(url);
      this.#upSince.delete(url);
    }
    socket.removeAllListeners();
    socket.disconnect();
    for (const [key, s] of this.#routes) if (s === socket) this.#routes.delete(key);
  }
}
