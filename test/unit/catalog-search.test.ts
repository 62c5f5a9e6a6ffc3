// The catalog's search rule (common/catalog-search.ts): its ASCII shortcut folds as the Unicode path does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldText, foldUnicode, matchesWords, queryWords, searchText } from '../../common/catalog-search.js';

describe('catalog search', () => {
  it('folds an ASCII string the same on its shortcut as on the Unicode path', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (s) => {
        expect(foldText(s)).toBe(foldUnicode(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds an ASCII word in a title that is not ASCII, punctuation and all', () => {
    // Any printable ASCII word, in a title that takes the Unicode path (an accent elsewhere in it).
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 }),
        (word) => {
          const text = searchText({ id: 'a1', title: `Café ${word} notes` });
          expect(matchesWords(text, queryWords(word))).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds "`code`" and "^" in "Café ^ C++ `code` notes"', () => {
    const text = searchText({ id: 'notes', title: 'Café ^ C++ `code` notes' });
    for (const q of ['`code`', '^', 'c++', 'cafe', 'CAFÉ notes']) expect(matchesWords(text, queryWords(q)), q).toBe(true);
  });

  it('still drops accents: "cafe" finds "Café", "creme brulee" finds "Crème brûlée"', () => {
    expect(matchesWords(searchText({ id: 'x', title: 'Café' }), queryWords('cafe'))).toBe(true);
    expect(matchesWords(searchText({ id: 'x', title: 'Crème brûlée' }), queryWords('creme brulee'))).toBe(true);
    expect(matchesWords(searchText({ id: 'x', title: 'Crème' }), queryWords('crème'))).toBe(true);
  });
});
