// The catalog's search rule, one for the hub (which searches every entry) and the page (which shows the
// answer): an entry matches when its title, description or id contains every word of the query,
// case- and accent-blind ("cafe" finds "Café").

/** A search query longer than this is refused (the page's box stops at it too). */
export const MAX_CATALOG_QUERY_CHARS = 200;

/**
 * Diacritics that are not ASCII. `\p{Diacritic}` holds `^` and the backtick too, which are punctuation a title
 * and a query both use ("C++ ^", "`code`"): they stay, on either path of `foldText`.
 */
const NON_ASCII_DIACRITIC = /(?![\x00-\x7f])\p{Diacritic}/gu;

/** The text as the search compares it: accents dropped, lower case. */
export function foldText(s: string): string {
  // Most text is ASCII, which has no accents to drop: the Unicode decomposition is 20–50× slower.
  if (!/[^\x00-\x7f]/.test(s)) return s.toLowerCase();
  return foldUnicode(s);
}

/**
 * `foldText` without its ASCII shortcut: what any text folds to. Exported so a test can hold the shortcut to it
 * (an ASCII string folds the same either way).
 */
export function foldUnicode(s: string): string {
  return s.normalize('NFD').replace(NON_ASCII_DIACRITIC, '').toLowerCase();
}

/** The words of `query`, folded; none for a blank query (which matches everything). */
export function queryWords(query: string): string[] {
  return foldText(query).split(/\s+/).filter(Boolean);
}

/** What an entry is searched by, folded once. */
export function searchText(e: { id: string; title?: string; description?: string }): string {
  return foldText(`${e.title ?? ''}\n${e.description ?? ''}\n${e.id}`);
}

/** True when `text` (from searchText) holds every one of `words` (from queryWords). */
export function matchesWords(text: string, words: readonly string[]): boolean {
  return words.every((w) => text.includes(w));
}
