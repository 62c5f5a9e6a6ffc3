// Where a server's message about a session goes (`HubMesh`): the hub that opened it through here, or held while this hub answers that open.
import { routeKey } from './mesh-envelope.js';

/** Sessions and WHIP/WHEP resources whose hub this hub remembers, to send a server's answers straight there. */
export const MAX_ROUTES = 100_000;
/**
 * A server's messages about a session this hub is opening for another hub (`place`), kept until the
 * open's answer has gone there first (its hub registers the session on that answer); past this they are dropped.
 */
export const MAX_HELD_PER_SESSION = 32;

/** A server's session message, as `HubMesh.forwardSession` took it. */
export interface HeldMessage {
  serverId: string;
  event: string;
  msg: unknown;
  last: boolean;
}

/** Where a server's messages about one session go: the hub that opened it, on which server process. */
interface Route {
  hub: string;
  server: string;
  /** The server's process when the session was opened (`ServerDescriptor.instance`), if known. */
  instance?: string;
}

/** The routes by session (or resource) id, oldest forgotten first past the bound, and the messages held by session. */
export class SessionRoutes {
  readonly #routes = new Map<string, Route>();
  /** Sessions this hub is opening for another hub (`place`): the server's messages about them, held until the answer is sent. */
  readonly #held = new Map<string, HeldMessage[]>();
  readonly #maxRoutes: number;

  constructor(maxRoutes: number) {
    this.#maxRoutes = maxRoutes;
  }

  get size(): number {
    return this.#routes.size;
  }

  /**
   * Remembers which hub opened a session or resource on one of this hub's servers. Returns the key when this
   * message made the route (it was not known): if what the message asked for is refused, `forget` it.
   */
  remember(from: string, msg: unknown, server: string, instance: string | undefined): string | undefined {
    const key = routeKey(msg);
    if (key === undefined) return undefined;
    const known = this.#routes.delete(key);
    if (this.#routes.size >= this.#maxRoutes) this.#routes.delete(this.#routes.keys().next().value!);
    this.#routes.set(key, { hub: from, server, ...(instance !== undefined ? { instance } : {}) });
    return known ? undefined : key;
  }

  /** `server` registered as process `instance`: the sessions of its other processes died with them, and their routes go. */
  forgetInstance(server: string, instance: string | undefined): void {
    for (const [key, r] of this.#routes)
      if (r.server === server && r.instance !== undefined && r.instance !== instance) this.#routes.delete(key);
  }

  /** The session or resource `key` was never opened (refused, or the ask failed): no message about it will come. */
  forget(key: string | undefined): void {
    if (key !== undefined) this.#routes.delete(key);
  }

  /** The hub that opened `key`'s session, if remembered; `last`: the message ends the session, and its route is forgotten. */
  hubFor(key: string, last: boolean): string | undefined {
    const route = this.#routes.get(key);
    if (route !== undefined && last) this.#routes.delete(key);
    return route?.hub;
  }

  /** True when `key`'s messages are held: `m` is kept, or past MAX_HELD_PER_SESSION `dropped` is called. */
  hold(key: string, m: HeldMessage, dropped: () => void): boolean {
    const held = this.#held.get(key);
    if (!held) return false;
    if (held.length < MAX_HELD_PER_SESSION) held.push(m);
    else dropped();
    return true;
  }

  isHeld(key: string): boolean {
    return this.#held.has(key);
  }

  /** `key`'s session is being opened for another hub: its server's messages wait for `release`. */
  startHolding(key: string): void {
    this.#held.set(key, []);
  }

  /** The messages held for `key`, in order; from now on they are not held. */
  release(key: string): HeldMessage[] {
    const held = this.#held.get(key) ?? [];
    this.#held.delete(key);
    return held;
  }
}
