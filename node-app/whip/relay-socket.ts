// The hub link a WHIP relay's Publisher talks through: the hub's `publish` answer is already known, signals go over the server's socket.
import { ErrorCode, ackError, type Ack, type PublishReply, type PublishRequest } from '../../signaling/protocol/index.js';
import type { PublisherSocket } from '../../client-sdk/publisher.js';

type Listener = (msg: any) => void;

/** How the relay talks to the hub: over the primary server's own hub connection (the ack only for `whip-replace`). */
export type WhipEmit = (event: 'whip-signal' | 'whip-leave' | 'whip-replace', msg: unknown, ack?: (r: unknown) => void) => void;

/**
 * Makes the primary server look like a broadcaster's `/client` socket to a Publisher:
 * the first `publish` is answered with the assignment the hub sent with the offer; a
 * later one (a replacement for an entry server that failed) is asked of the hub as
 * `whip-replace`, which places it as it places a browser publisher's; signals and
 * leaves travel as `whip-signal` / `whip-leave` on the server's own hub socket.
 */
export class RelaySocket implements PublisherSocket {
  readonly #resourceId: string;
  readonly #emitToHub: WhipEmit;
  #assignment: PublishReply | null;
  /** Why a replacement is not asked for, when it cannot be filled (a resumed broadcast's relay lacks the stream's start). */
  readonly #noReplacement: string | undefined;
  readonly #listeners = { signal: new Set<Listener>(), 'session-close': new Set<Listener>() };

  constructor(resourceId: string, assignment: PublishReply, emitToHub: WhipEmit, noReplacement?: string) {
    this.#resourceId = resourceId;
    this.#assignment = assignment;
    this.#emitToHub = emitToHub;
    this.#noReplacement = noReplacement;
  }

  emit(event: 'publish', req: PublishRequest, ack: (r: Ack<PublishReply>) => void): unknown;
  emit(event: 'signal', msg: { sessionId: string; data: unknown }): unknown;
  emit(event: 'leave', msg: { sessionId: string }): unknown;
  emit(event: string, msg: any, ack?: (r: Ack<PublishReply>) => void): unknown {
    if (event === 'publish') {
      const a = this.#assignment;
      this.#assignment = null;
      const refused = a ? undefined : this.#noReplacement;
      // The Publisher parses the hub's answer (and times it out) as it does a hub socket's.
      if (!a && !refused)
        this.#emitToHub('whip-replace', { resourceId: this.#resourceId, exclude: (msg as PublishRequest).exclude ?? [] }, ack as never);
      // Answered on a later turn, as a real socket would.
      else queueMicrotask(() => ack?.(a ? { ok: true, ...a } : ackError(ErrorCode.noIngest, refused!)));
      return true;
    }
    if (event === 'signal') this.#emitToHub('whip-signal', { resourceId: this.#resourceId, sessionId: msg.sessionId, data: msg.data });
    else if (event === 'leave') this.#emitToHub('whip-leave', { resourceId: this.#resourceId, sessionId: msg.sessionId });
    return true;
  }

  /** `connect` and `disconnect` never come: this socket is the relay inside a media server, which has no hub connection of its own to lose. */
  on(event: 'signal' | 'session-close' | 'connect' | 'disconnect', listener: Listener): unknown {
    if (event === 'signal' || event === 'session-close') this.#listeners[event].add(listener);
    return this;
  }

  off(event: 'signal' | 'session-close' | 'connect' | 'disconnect', listener: Listener): unknown {
    if (event === 'signal' || event === 'session-close') this.#listeners[event].delete(listener);
    return this;
  }

  /** An event the hub relayed for this resource. */
  deliver(event: 'signal' | 'session-close', msg: unknown): void {
    for (const l of [...this.#listeners[event]]) l(msg);
  }
}
