// The cluster catalog as clients read it: built once per catalog change (not per request),
// sorted by id in code-unit order (ids are ASCII: no locale rules needed), served in pages.
// Viewer counts come from the servers' load reports (the shared table, so every hub agrees) and
// are summed apart from the entries: load changes every second, the entries rarely.
import { matchesWords, queryWords, searchText } from '../common/catalog-search.js';
import { CodedError } from '../common/coded-error.js';
import { TokenBucket } from '../common/token-bucket.js';
import {
  MAX_CATALOG_PAGE,
  parseRenditionId,
  type CatalogEntry,
  type AssetInfo,
  type CatalogQuery,
  type Delta,
  type RenditionInfo,
  type StateTable,
} from './protocol/index.js';

export { MAX_CATALOG_PAGE };
/**
 * A page carries at most this much of each description (cut at a word, with "…"): a page of 1,000
 * entries with full 2,000-character descriptions was ≈ 2.3 MB, fetched again every 10 s by each
 * catalog page. The whole description comes with the one entry (`entry`, `?id=`); search reads it whole.
 */
export const CATALOG_DESCRIPTION_EXCERPT_CHARS = 280;
/** Searches whose matches are kept until the catalog changes (the page asks again as a user types). */
const SEARCHES_KEPT = 32;
/**
 * Catalog entries all searches of one hub may read per second (a search that is not kept reads every
 * entry): ≈ 0.2–0.3 µs each here, so at most about a quarter of a core, whatever the catalog's size and
 * however many clients ask — 10 new searches a second over 100,000 entries, 1,000 over 1,000.
 */
export const SEARCH_ENTRIES_PER_S = 1_000_000;
export const SEARCH_ENTRIES_BURST = 2_000_000;

/** A search refused because the hub's search budget is spent (`rate-limited`: ask again in a moment). */
export class SearchBusyError extends CodedError<'rate-limited'> {
  override readonly name = 'SearchBusyError';
  constructor() {
    super('rate-limited', 'the hub is answering many searches; try again in a moment');
  }
}

export interface CatalogViewOptions {
  now?: () => number;
  /** Default SEARCH_ENTRIES_PER_S and SEARCH_ENTRIES_BURST. */
  searchEntriesPerS?: number;
  searchEntriesBurst?: number;
}

/** Table changes that can change the catalog; load, cache and director changes cannot. */
const CATALOG_DELTAS = new Set<Delta['type']>(['server-joined', 'server-left', 'storage-add', 'storage-remove', 'live', 'live-remove']);

export interface CatalogPage {
  assets: CatalogEntry[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next: string | null;
  total: number;
}

export class CatalogView {
  readonly #table: StateTable;
  #changes = 0;
  #builtAt = -1;
  #sorted: CatalogEntry[] = [];
  #loadChanges = 0;
  #viewersAt = -1;
  #viewers = new Map<string, number>();
  /** How many times the sorted view was rebuilt (for tests and metrics). */
  builds = 0;
  /** Each sorted entry's folded search text, made at the first search after a rebuild. */
  #texts: string[] | null = null;
  /** Folded texts by entry, kept across rebuilds: a rebuild (a live stream starting) folds only what changed. */
  #foldedById = new Map<string, { title?: string; description?: string; text: string }>();
  /** Recent searches → indexes of the sorted entries that match, oldest first. */
  #searches = new Map<string, number[]>();

  readonly #now: () => number;
  readonly #searchBudget: TokenBucket;

  constructor(table: StateTable, opts: CatalogViewOptions = {}) {
    this.#table = table;
    this.#now = opts.now ?? (() => performance.now());
    this.#searchBudget = new TokenBucket(
      this.#now(),
      opts.searchEntriesPerS ?? SEARCH_ENTRIES_PER_S,
      opts.searchEntriesBurst ?? SEARCH_ENTRIES_BURST,
    );
  }

  /** Call for every committed delta: only catalog-relevant ones invalidate the view. */
  noteDelta(type: Delta['type']): void {
    if (CATALOG_DELTAS.has(type)) this.#changes++;
    if (type === 'load' || type === 'server-joined' || type === 'server-left') this.#loadChanges++;
  }

  /** Viewer sessions open for `assetId` (and its renditions) on every server of the table (as each last reported). */
  viewersOf(assetId: string): number {
    if (this.#viewersAt !== this.#loadChanges) {
      const counts = new Map<string, number>();
      for (const s of this.#table.servers()) {
        for (const v of s.load.viewers ?? []) {
          counts.set(v.id, (counts.get(v.id) ?? 0) + v.n);
          // Someone watching a rendition watches its source: the source's count includes them.
          const source = parseRenditionId(v.id)?.source;
          if (source !== undefined) counts.set(source, (counts.get(source) ?? 0) + v.n);
        }
      }
      this.#viewers = counts;
      this.#viewersAt = this.#loadChanges;
    }
    return this.#viewers.get(assetId) ?? 0;
  }

  /** Every entry, sorted by id (shared: callers must not mutate it). */
  all(): readonly CatalogEntry[] {
    if (this.#builtAt !== this.#changes) {
      this.#sorted = build(this.#table);
      this.#builtAt = this.#changes;
      this.#texts = null;
      this.#searches.clear();
      this.builds++;
    }
    return this.#sorted;
  }

  /**
   * Up to `limit` (≤ MAX_CATALOG_PAGE) entries with ids after `cursor`; with a `query`, only those whose
   * title, description or id hold every word of it (searched over the whole catalog, not one page), and
   * `total` counts the matches. Descriptions are excerpts (CATALOG_DESCRIPTION_EXCERPT_CHARS).
   * Throws SearchBusyError when a new search would overspend the hub's search budget.
   */
  page(limit = MAX_CATALOG_PAGE, cursor?: string, query = ''): CatalogPage {
    const all = this.all();
    const n = Math.max(1, Math.min(MAX_CATALOG_PAGE, Math.floor(limit) || MAX_CATALOG_PAGE));
    const lo = cursor === undefined ? 0 : firstNotBefore(all.length, (i) => all[i]!.id <= cursor);
    const matches = this.#matches(query);
    let picked: CatalogEntry[];
    let total: number;
    let more: boolean;
    if (matches) {
      // The first match at or after `lo`: matches are indexes in id order.
      const from = firstNotBefore(matches.length, (i) => matches[i]! < lo);
      picked = matches.slice(from, from + n).map((i) => all[i]!);
      total = matches.length;
      more = from + n < matches.length;
    } else {
      picked = all.slice(lo, lo + n);
      total = all.length;
      more = lo + n < all.length;
    }
    const assets = picked.map((e) => this.#withViewers(e, true));
    return { assets, next: more ? assets.at(-1)!.id : null, total };
  }

  /** A parsed catalog query: one entry (`id`; an empty page when there is none) or a page (`q`, `cursor`, `limit`). */
  query(q: CatalogQuery): CatalogPage {
    if (q.id === undefined) return this.page(q.limit, q.cursor, q.q);
    const e = this.entry(q.id);
    return { assets: e ? [e] : [], next: null, total: e ? 1 : 0 };
  }

  /** One entry with its whole description, or undefined when no server holds or streams it. */
  entry(id: string): CatalogEntry | undefined {
    const all = this.all();
    const e = all[firstNotBefore(all.length, (i) => all[i]!.id < id)];
    return e?.id === id ? this.#withViewers(e, false) : undefined;
  }

  #withViewers(e: CatalogEntry, excerpt: boolean): CatalogEntry {
    const out = { ...e, viewers: this.viewersOf(e.id) };
    if (excerpt && e.description !== undefined) out.description = excerptOf(e.description);
    return out;
  }

  #foldAll(all: readonly CatalogEntry[]): string[] {
    const kept = this.#foldedById;
    const next = new Map<string, { title?: string; description?: string; text: string }>();
    const texts = all.map((e) => {
      const k = kept.get(e.id);
      const text = k && k.title === e.title && k.description === e.description ? k.text : searchText(e);
      next.set(e.id, { title: e.title, description: e.description, text });
      return text;
    });
    this.#foldedById = next;
    return texts;
  }

  /** Indexes of the sorted entries matching `query`; null for a blank query (everything). */
  #matches(query: string): number[] | null {
    const words = queryWords(query);
    if (words.length === 0) return null;
    const key = words.join(' ');
    const kept = this.#searches.get(key);
    if (kept) {
      this.#searches.delete(key);
      this.#searches.set(key, kept);
      return kept;
    }
    const all = this.all();
    // Folding the texts after a change costs about as much as a search: both come out of the budget.
    if (!this.#searchBudget.take(this.#now(), this.#texts ? all.length : 2 * all.length)) throw new SearchBusyError();
    this.#texts ??= this.#foldAll(all);
    const found: number[] = [];
    for (let i = 0; i < all.length; i++) if (matchesWords(this.#texts[i]!, words)) found.push(i);
    if (this.#searches.size >= SEARCHES_KEPT) this.#searches.delete(this.#searches.keys().next().value!);
    this.#searches.set(key, found);
    return found;
  }
}

/** Binary search: the first index in [0, n) where `before` is false (it must be true for a prefix and false after). */
function firstNotBefore(n: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first CATALOG_DESCRIPTION_EXCERPT_CHARS of `text`, cut after a word when one ends in the last fifth, with "…". */
export function excerptOf(text: string): string {
  if (text.length <= CATALOG_DESCRIPTION_EXCERPT_CHARS) return text;
  let cut = text.slice(0, CATALOG_DESCRIPTION_EXCERPT_CHARS - 1);
  // Not half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  const space = cut.search(/\s\S*$/);
  return `${(space >= CATALOG_DESCRIPTION_EXCERPT_CHARS * 0.8 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function build(table: StateTable): CatalogEntry[] {
  const out = new Map<string, CatalogEntry>();
  for (const s of table.servers()) {
    for (const a of s.storage.values()) {
      const e = out.get(a.id);
      if (e) {
        e.holders.push(s.id);
        // Copies of one id differ only when one was cut short (a broadcast salvaged at a crash): the entry describes
        // the longest, the copy the director sends viewers to first.
        if (a.bytes > e.bytes && !e.live) describeCopy(e, a);
        if (e.title === undefined && a.title) e.title = a.title;
        if (e.description === undefined && a.description) e.description = a.description;
      } else {
        const { poster: _, ...info } = a;
        out.set(a.id, { ...info, live: false, holders: [s.id] });
      }
      const url = !out.get(a.id)!.posterUrl && a.poster && s.httpUrl ? posterUrl(s.httpUrl, a.id, a.poster) : undefined;
      if (url) out.get(a.id)!.posterUrl = url;
    }
    for (const l of s.live.values()) {
      const e = out.get(l.id);
      if (e) {
        if (!e.holders.includes(s.id)) e.holders.push(s.id);
        e.live ||= l.live;
        e.bytes = Math.max(e.bytes, l.bytes);
        if (e.title === undefined && l.title) e.title = l.title;
        if (e.description === undefined && l.description) e.description = l.description;
      } else {
        const entry: CatalogEntry = { id: l.id, bytes: l.bytes, mime: l.mime, live: l.live, holders: [s.id] };
        if (l.title) entry.title = l.title;
        if (l.description) entry.description = l.description;
        out.set(l.id, entry);
      }
      const entry = out.get(l.id)!;
      if (!entry.posterUrl && l.poster && s.httpUrl) entry.posterUrl = posterUrl(s.httpUrl, l.id, l.poster);
    }
  }
  return groupRenditions(out).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** `e` takes the facts of the copy `a` (its size, length, codecs, fingerprint), not its title or poster. */
function describeCopy(e: CatalogEntry, a: AssetInfo): void {
  for (const k of ['durationMs', 'bitrateBps', 'heightPx', 'fingerprint'] as const) delete e[k];
  const { id: _id, title: _t, description: _d, poster: _p, ...copy } = a;
  Object.assign(e, copy);
}

/**
 * A stored rendition (`<source>__<h>p`) whose source is listed goes under its source, tallest first;
 * one whose source is in no server's storage stays an entry of its own; one whose source is live again (carried on
 * after its end) is of an earlier part of it, made again at the new end: not listed meanwhile.
 */
function groupRenditions(out: Map<string, CatalogEntry>): CatalogEntry[] {
  const listed: CatalogEntry[] = [];
  for (const e of out.values()) {
    const r = e.live ? undefined : parseRenditionId(e.id);
    const source = r && out.get(r.source);
    if (!r || !source) {
      listed.push(e);
      continue;
    }
    if (source.live) continue;
    const rendition: RenditionInfo = { id: e.id, heightPx: e.heightPx ?? r.heightPx };
    if (e.bitrateBps !== undefined) rendition.bitrateBps = e.bitrateBps;
    source.renditions = [...(source.renditions ?? []), rendition].sort((a, b) => b.heightPx - a.heightPx);
  }
  return listed;
}

/** A holder's poster URL for `id`; the version token makes it safe to cache for good. */
function posterUrl(httpUrl: string, id: string, token: string): string {
  return `${httpUrl.replace(/\/+$/, '')}/poster/${id}.jpg?v=${token}`;
}
