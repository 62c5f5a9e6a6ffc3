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
  /** The list as last read, and said to every server here. */
  #urls: string[] | undefined;
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

  /** A server registered here: it gets the list now (as last read; read first if never yet: no Redis read per registration). */
  registered(id: string): void {
    if (this.#urls) return this.#o.toOne(id, this.#urls);
    this.#o.others().then(
      (urls) => this.#o.toOne(id, urls),
      () => undefined,
    );
  }

  async #check(): Promise<void> {
    const urls = await this.#o.others().catch(() => undefined);
    if (!urls) return;
    const before = this.#urls;
    if (before && urls.join('\n') === before.join('\n')) return;
    if (before) this.#o.log.info({ hubs: urls }, 'the hub list changed: telling this hub’s servers');
    this.#urls = urls;
    this.#o.toAll(urls);
  }
}
