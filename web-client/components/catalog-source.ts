// The catalog as the player page reads it from the hub: the first page (fetched again while the page is
// visible), a search over the whole catalog (the hub searches every entry; a page holds ≤ 1,000), the
// watched asset's own entry with its whole description (pages carry excerpts) and its viewer count.
import type { CatalogEntry, CatalogQuery } from '../../signaling/protocol/messages.js';
import { CATALOG_REPLY_BOUNDS, catalogPageReplySchema, parseAck, viewersReplySchema } from '../../client-sdk/hub-replies.js';
import { ACK_TIMEOUT_MS, type ClientSocket } from './hub-socket.js';

/** Entries a search answer shows; "N of M" says how many more matched. */
export const SEARCH_RESULTS = 200;
/** How often a page asks how many are watching its stream (the player, the broadcaster while live), ms. */
export const VIEWERS_POLL_MS = 2_000;
/** A search goes out once typing pauses this long (ms). */
export const SEARCH_DEBOUNCE_MS = 250;

export interface SearchResults {
  query: string;
  assets: CatalogEntry[];
  /** Every match in the catalog. */
  total: number;
}

type Page = { assets: CatalogEntry[]; next: string | null; total: number };

/** How many watch `assetId` across the cluster (`viewers` on the /client socket); undefined without an answer. */
export async function askViewers(socket: ClientSocket, assetId: string): Promise<number | undefined> {
  try {
    const r = parseAck(viewersReplySchema, await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('viewers', { assetIds: [assetId] }), 'viewers');
    return r.ok ? r.counts[0] : undefined;
  } catch {
    return undefined; // no answer this time: the next poll asks again; the figure on screen stays
  }
}

export class CatalogSource {
  entries: CatalogEntry[] = [];
  loaded = false;
  error: string | null = null;
  /** The answer to the search box; null while it is blank. */
  results: SearchResults | null = null;
  /** The watched asset's entry, description whole; null when none is watched or the hub has none. */
  current: CatalogEntry | null = null;

  readonly #socket: () => ClientSocket | null;
  readonly #changed: () => void;
  #inFlight = false;
  #viewersInFlight = false;
  #query = '';
  #watched: string | null = null;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: () => ClientSocket | null, changed: () => void) {
    this.#socket = socket;
    this.#changed = changed;
  }

  /** The entry for `id`: the whole one when it is the watched asset, else the page's. */
  entry(id: string | null): CatalogEntry | undefined {
    if (id === null) return undefined;
    return this.current?.id === id ? this.current : this.entries.find((a) => a.id === id);
  }

  async refresh(): Promise<void> {
    const socket = this.#socket();
    if (!socket || this.#inFlight) return;
    this.#inFlight = true;
    try {
      const raw: unknown = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('catalog');
      const r = parseAck(catalogPageReplySchema, raw, 'catalog', CATALOG_REPLY_BOUNDS);
      if (r.ok) {
        this.entries = [...r.assets].sort((a, b) => Number(b.live) - Number(a.live) || a.id.localeCompare(b.id));
        this.error = null;
        this.loaded = true;
      } else {
        this.error = r.message;
      }
    } catch {
      this.error = 'The hub did not answer the catalog request.';
    } finally {
      this.#inFlight = false;
      this.#changed();
    }
    // Counts and live badges move: a search on screen is asked again with the page.
    if (this.results) void this.#search(this.results.query);
  }

  /** The search box changed: blank clears the results at once, anything else asks the hub once typing pauses. */
  search(query: string): void {
    this.#query = query;
    clearTimeout(this.#searchTimer);
    if (!query.trim()) {
      this.results = null;
      this.#changed();
      return;
    }
    this.#searchTimer = setTimeout(() => void this.#search(query), SEARCH_DEBOUNCE_MS);
  }

  /** Fetches `id`'s whole entry (null clears it). */
  async load(id: string | null): Promise<void> {
    this.#watched = id;
    if (this.current?.id !== id) this.current = null;
    if (id === null) return;
    const r = await this.#ask({ id });
    if (typeof r !== 'string' && this.#watched === id) {
      this.current = r.assets[0] ?? null;
      this.#changed();
    }
  }

  /** `assetId`'s viewer count, cluster-wide (its entries show the same figure); undefined without an answer. */
  async viewersOf(assetId: string | null): Promise<number | undefined> {
    const socket = this.#socket();
    if (!socket || !assetId || this.#viewersInFlight) return undefined;
    this.#viewersInFlight = true;
    try {
      const n = await askViewers(socket, assetId);
      if (n !== undefined) this.#setViewers(assetId, n);
      return n;
    } finally {
      this.#viewersInFlight = false;
    }
  }

  #setViewers(id: string, n: number): void {
    const i = this.entries.findIndex((a) => a.id === id);
    if (i >= 0 && this.entries[i]!.viewers !== n) this.entries = this.entries.with(i, { ...this.entries[i]!, viewers: n });
    if (this.current?.id === id) this.current = { ...this.current, viewers: n };
  }

  stop(): void {
    clearTimeout(this.#searchTimer);
  }

  async #search(query: string): Promise<void> {
    const r = await this.#ask({ q: query, limit: SEARCH_RESULTS });
    // An answer to a query the box no longer holds is dropped.
    if (query !== this.#query) return;
    // Refused (the hub's search budget is spent, or no answer): the box keeps filtering the loaded page.
    this.results = typeof r === 'string' ? null : { query, assets: r.assets, total: r.total };
    this.error = typeof r === 'string' ? `Search: ${r}` : null;
    this.#changed();
  }

  /** The hub's page, or why there is none. */
  async #ask(q: CatalogQuery): Promise<Page | string> {
    const socket = this.#socket();
    if (!socket) return 'the hub is unreachable';
    try {
      const raw: unknown = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('catalog-query', q);
      const r = parseAck(catalogPageReplySchema, raw, 'catalog-query', CATALOG_REPLY_BOUNDS);
      return r.ok ? r : r.message;
    } catch {
      return 'the hub did not answer';
    }
  }
}
