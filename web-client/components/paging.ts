// Splitting a long list into pages (the dashboard's server cards past a few dozen servers).

/** Server cards per dashboard page: a screenful or two, and rendering stays quick. */
export const SERVERS_PER_PAGE = 48;

export interface Page<T> {
  items: T[];
  /** 0-based, clamped to the pages that exist (a list that shrank keeps a valid page). */
  page: number;
  pages: number;
  /** 1-based positions of the first and last item shown (0, 0 when empty). */
  first: number;
  last: number;
}

export function paginate<T>(all: readonly T[], page: number, perPage: number): Page<T> {
  const pages = Math.max(1, Math.ceil(all.length / perPage));
  const p = Math.min(Math.max(0, Math.trunc(page) || 0), pages - 1);
  const items = all.slice(p * perPage, (p + 1) * perPage);
  return { items, page: p, pages, first: items.length ? p * perPage + 1 : 0, last: p * perPage + items.length };
}
