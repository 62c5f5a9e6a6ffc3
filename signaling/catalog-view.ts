// The cluster catalog as clients read it: built once per catalog change (not per request),
// sorted by id in code-unit order (ids are ASCII: no locale rules needed), served in pages.
// Viewer counts come from the servers' load reports (the shared table, so every hub agrees) and
// are summed apart from the entries: load changes every second, the entries rarely.
import { parseRenditionId, type CatalogEntry, type Delta, type RenditionInfo, type StateTable } from './protocol/index.js';

/** The most entries one page carries (`?limit=` is clamped to this). */
export const MAX_CATALOG_PAGE = 1_000;

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

  constructor(table: StateTable) {
    this.#table = table;
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
      this.builds++;
    }
    return this.#sorted;
  }

  /** Up to `limit` (≤ MAX_CATALOG_PAGE) entries with ids after `cursor`. */
  page(limit = MAX_CATALOG_PAGE, cursor?: string): CatalogPage {
    const all = this.all();
    const n = Math.max(1, Math.min(MAX_CATALOG_PAGE, Math.floor(limit) || MAX_CATALOG_PAGE));
    let lo = 0;
    if (cursor !== undefined) {
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (all[mid]!.id <= cursor) lo = mid + 1;
        else hi = mid;
      }
    }
    const assets = all.slice(lo, lo + n).map((e) => ({ ...e, viewers: this.viewersOf(e.id) }));
    const more = lo + n < all.length;
    return { assets, next: more ? assets.at(-1)!.id : null, total: all.length };
  }
}

function build(table: StateTable): CatalogEntry[] {
  const out = new Map<string, CatalogEntry>();
  for (const s of table.servers()) {
    for (const a of s.storage.values()) {
      const e = out.get(a.id);
      if (e) {
        e.holders.push(s.id);
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

/**
 * A stored rendition (`<source>__<h>p`) whose source is listed goes under its source, tallest first;
 * one whose source is in no server's storage stays an entry of its own.
 */
function groupRenditions(out: Map<string, CatalogEntry>): CatalogEntry[] {
  const listed: CatalogEntry[] = [];
  for (const e of out.values()) {
    const r = e.live ? undefined : parseRenditionId(e.id);
    const source = r && out.get(r.source);
    if (!r || !source || source.live) {
      listed.push(e);
      continue;
    }
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
