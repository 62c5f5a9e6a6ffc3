// Several hubs: the media servers registered here are told the other hubs' URLs (at registration, and again when the
// list changes), so each keeps an attachment to every hub, hubs added later included, whatever URLs it was started with.
import type { Logger } from '../log.js';

/** How often the hub list is read (from Redis) to see whether it changed. */
export const HUB_LIST_CHECK_MS = 5_000;

export interface HubListPushDeps {
  /** The other hubs' URLs (`Hub.hubUrls` without this one's). Rejects while Redis is away: nothing is said then. */
  others: () => Promise<string[]>;
  /** To every server registered here. */
  toAll: (urls: string[]) => void;
  /** To the server `id`, registered here just now. */
  toOne: (id: string, urls: string[]) => void;
  log: Logger;
}

export class HubListPush {
  readonly #o: HubListPushDeps;
  #last: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: HubListPushDeps) {
    this.#o = o;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.#check(), HUB_LIST_CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A server registered here: it gets the list now. */
  registered(id: string): void {
    this.#o.others().then(
      (urls) => this.#o.toOne(id, urls),
      () => undefined,
    );
  }

  async #check(): Promise<void> {
    const urls = await this.#o.others().catch(() => undefined);
    if (!urls) return;
    const key = urls.join('\n');
    if (key === this.#last) return;
    if (this.#last !== undefined) this.#o.log.info({ hubs: urls }, 'the hub list changed: telling this hub’s servers');
    this.#last = key;
    this.#o.toAll(urls);
  }
}
