// What this hub does with each message another hub wrote into its inbox: a send, an ask or a place for a server it
// holds, a reply to one of its own asks, a session message, a disconnect, a rotation, a resource request.
import { CodedError } from '../../common/coded-error.js';
import type { SelectThenOpen, ServerPeer } from '../core/link.js';
import { isResourceRequest, type ForwardedAnswer, type ResourceRequest } from '../resource-forward.js';
import { NOT_HERE, routeKey, type Envelope } from './mesh-envelope.js';
import type { SessionRoutes } from './session-routes.js';

type Reply = Omit<Extract<Envelope, { k: 'reply' }>, 'k' | 'id'>;

/** What the hub gives the mesh (`HubMeshDeps`) that the delivery calls, on that object. */
export interface DeliveryHost {
  /** This hub's own connection to a server, if it holds one. */
  local: (serverId: string) => ServerPeer | undefined;
  /** The socket.io adapter's room, read by every hub. */
  fallback: (serverId: string) => ServerPeer;
  onRotate?: (epoch: number, reason: string) => void;
  onResource?: (route: 'whip' | 'whep', req: ResourceRequest) => Promise<ForwardedAnswer>;
}

/** What `HubMesh` lends its delivery: its deps (`hub`), the way back to other hubs, its asks' replies, its session routes. */
export interface MeshDeliveryDeps {
  hub: DeliveryHost;
  /** Writes to another hub's inbox. */
  post: (hub: string, e: Envelope) => void;
  sessions: SessionRoutes;
  /** Records the route of a session another hub opens on `server`; the route's key, or undefined when none was made. */
  remember: (from: string, msg: unknown, server: string) => string | undefined;
  /** Another hub's reply to one of this hub's asks. */
  settle: (e: Extract<Envelope, { k: 'reply' }>) => void;
  /** A server's message about a session this hub holds, from the hub the server is connected to. */
  onSession: (serverId: string, event: string, msg: unknown) => void;
  /** A server's message about a session this hub does not hold (held messages released after a place's answer). */
  forwardSession: (serverId: string, event: string, msg: unknown, last: boolean) => void;
}

/** Answers another hub's messages; its replies go to the asking hub's inbox. */
export class MeshDelivery {
  readonly #o: MeshDeliveryDeps;

  constructor(o: MeshDeliveryDeps) {
    this.#o = o;
  }

  deliver(e: Envelope): void {
    switch (e.k) {
      case 'send': {
        const peer = this.#o.hub.local(e.server);
        if (!peer) return this.#o.hub.fallback(e.server).send(e.event, e.msg);
        this.#o.remember(e.from, e.msg, e.server);
        return peer.send(e.event, e.msg);
      }
      case 'ask': {
        const peer = this.#o.hub.local(e.server);
        const reply = (r: Reply) => this.#o.post(e.from, { k: 'reply', id: e.id, ...r });
        if (!peer) return reply({ ok: false, error: NOT_HERE });
        // A route this ask made (an open: session-open, whip-offer, whep-offer) goes at once if the open is refused or
        // fails: no message about it will come to end it, and it would stay until evicted at MAX_ROUTES.
        const made = this.#o.remember(e.from, e.msg, e.server);
        peer.ask(e.event, e.msg, e.timeoutMs).then(
          (value) => {
            if (refused(value)) this.#o.sessions.forget(made);
            reply({ ok: true, value });
          },
          (err: Error) => {
            this.#o.sessions.forget(made);
            // The code travels too: the asking hub tells a server that went away from one that was late.
            reply({ ok: false, error: err.message, ...(err instanceof CodedError ? { code: err.code } : {}) });
          },
        );
        return;
      }
      case 'place':
        return this.#placeHere(e);
      case 'reply':
        return this.#o.settle(e);
      case 'session':
        return this.#o.onSession(e.server, e.event, e.msg);
      case 'disconnect':
        return this.#o.hub.local(e.server)?.disconnect();
      case 'holds':
        return this.#o.post(e.from, { k: 'reply', id: e.id, ok: true, value: this.#o.hub.local(e.server)?.connected === true });
      case 'rotate':
        return this.#o.hub.onRotate?.(e.epoch, e.reason);
      case 'resource': {
        const reply = (r: Reply) => this.#o.post(e.from, { k: 'reply', id: e.id, ...r });
        if (!this.#o.hub.onResource || (e.route !== 'whip' && e.route !== 'whep') || !isResourceRequest(e.req))
          return reply({ ok: false, error: 'not a resource request this hub answers' });
        this.#o.hub.onResource(e.route, e.req).then(
          (value) => reply({ ok: true, value }),
          (err: Error) => reply({ ok: false, error: err.message }),
        );
        return;
      }
    }
  }

  /**
   * Another hub's `place`: the director here selects; when the chosen server is here too, the session is
   * offered to it at once, and the server's messages about the session wait until the answer has gone.
   */
  #placeHere(e: Extract<Envelope, { k: 'place' }>): void {
    const reply = (r: Reply) => this.#o.post(e.from, { k: 'reply', id: e.id, ...r });
    const director = this.#o.hub.local(e.server);
    if (!director) return reply({ ok: false, error: NOT_HERE });
    director.ask('select', e.msg, e.timeoutMs).then(
      (select) => {
        const chosen =
          (select as { ok?: unknown; serverId?: unknown } | null)?.ok === true ? (select as { serverId: unknown }).serverId : undefined;
        const server = typeof chosen === 'string' ? this.#o.hub.local(chosen) : undefined;
        const key = routeKey(e.open);
        if (!server || key === undefined || this.#o.sessions.isHeld(key)) return reply({ ok: true, value: { select } });
        const made = this.#o.remember(e.from, e.open, chosen as string);
        this.#o.sessions.startHolding(key);
        server.ask('session-open', e.open, e.openTimeoutMs).then(
          (value) => this.#answerPlace(key, select, { ok: true, value }, reply, refused(value) ? made : undefined),
          (err: Error) => this.#answerPlace(key, select, { ok: false, error: err.message }, reply, made),
        );
      },
      (err: Error) => reply({ ok: false, error: err.message }),
    );
  }

  #answerPlace(
    key: string,
    select: unknown,
    open: NonNullable<SelectThenOpen['open']>,
    reply: (r: Reply) => void,
    /** The route the open made, when the open was refused or failed: gone once the held messages went out. */
    notOpened: string | undefined,
  ): void {
    reply({ ok: true, value: { select, open } satisfies SelectThenOpen });
    for (const h of this.#o.sessions.release(key)) this.#o.forwardSession(h.serverId, h.event, h.msg, h.last);
    this.#o.sessions.forget(notOpened);
  }
}

/** A server's `{ ok: false, … }` answer (an ack refusing what was asked). */
function refused(answer: unknown): boolean {
  return typeof answer === 'object' && answer !== null && (answer as { ok?: unknown }).ok === false;
}
