// This hub's requests to other hubs waiting for their reply (`HubMesh`): bounded, each with its timeout and its way round.
import { CodedError } from '../../common/coded-error.js';
import type { SelectThenOpen } from '../core/link.js';
import type { Logger } from '../log.js';
import { NOT_HERE, type Envelope } from './mesh-envelope.js';

/** Asks to servers on other hubs waiting for their answer; past this an ask fails at once. */
export const MAX_PENDING_ASKS = 10_000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  retry: () => void;
  /** The server an ask is for (none for a question to a hub). */
  server?: string;
  /** `place`: runs with the select answer, before the reply resolves, when the other hub offered the session. */
  opened?: (answer: unknown) => void;
}

/** The requests in flight by id; a reply names its request's id. */
export class MeshRequests {
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  readonly #max: number;
  readonly #post: (hub: string, e: Envelope) => void;
  readonly #log: Logger;

  /** `max`: requests in flight at most; `post` writes an envelope to a hub's inbox. */
  constructor(max: number, post: (hub: string, e: Envelope) => void, log: Logger) {
    this.#max = max;
    this.#post = post;
    this.#log = log;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Sends what `build` makes to `hub` and waits for its reply; `otherwise` when there is no hub or it says not-here. */
  request(
    hub: Promise<string | null>,
    build: (id: number) => Envelope,
    timeoutMs: number,
    timeoutMessage: string,
    otherwise: () => Promise<unknown>,
    server?: string,
    opened?: (answer: unknown) => void,
  ): Promise<unknown> {
    if (this.#pending.size >= this.#max)
      return Promise.reject(new Error(`too many requests to servers on other hubs in flight (${this.#max})`));
    return new Promise<unknown>((resolve, reject) => {
      const id = ++this.#seq;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(timeoutMessage));
      }, timeoutMs);
      const retry = () => {
        clearTimeout(timer);
        this.#pending.delete(id);
        otherwise().then(resolve, reject);
      };
      this.#pending.set(id, { resolve, reject, timer, retry, server, opened });
      hub.then((h) => {
        if (!this.#pending.has(id)) return;
        if (h) this.#post(h, build(id));
        else retry();
      });
    });
  }

  /** Another hub's reply: settles its request, or sends it the way round when that hub no longer holds the server. */
  settle(e: Extract<Envelope, { k: 'reply' }>): void {
    const p = this.#pending.get(e.id);
    if (!p) return;
    if (!e.ok && e.error === NOT_HERE) return p.retry();
    clearTimeout(p.timer);
    this.#pending.delete(e.id);
    // Now, not when the promise's callbacks run: the server's messages about the session may follow in this very read.
    const v = e.value as SelectThenOpen | undefined;
    if (e.ok && p.opened && v?.open) {
      try {
        p.opened(v.select);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'session opened by another hub not registered');
      }
    }
    if (e.ok) p.resolve(e.value);
    else p.reject(e.code ? new CodedError(e.code, e.error ?? 'failed') : new Error(e.error ?? 'failed'));
  }

  /** Every ask still waiting on `serverId`'s old hub goes the way round now instead of waiting out its timeout. */
  retryFor(serverId: string): void {
    for (const p of [...this.#pending.values()]) if (p.server === serverId) p.retry();
  }

  /** Fails every request in flight (the hub is stopping). */
  rejectAll(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new Error('hub stopping'));
    }
  }
}
