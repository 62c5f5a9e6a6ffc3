import { describe, expect, it } from 'vitest';
import { echoText } from '../../common/echo-text.js';

describe('echoText: a client text quoted back', () => {
  it('escapes what would hide or reorder text: bidi overrides, zero-width, controls', () => {
    expect(echoText('\u202eevil.exe')).toBe('\\u202eevil.exe');
    expect(echoText('a\u200bb\nc\u0007')).toBe('a\\u200bb\\u000ac\\u0007');
    expect(echoText('Lisboa, São Paulo, 東京')).toBe('Lisboa, São Paulo, 東京');
  });

  it('keeps at most 80 code points, then an ellipsis (a surrogate pair is not split)', () => {
    expect(echoText('x'.repeat(5000))).toBe(`${'x'.repeat(80)}…`);
    expect(echoText('😀'.repeat(100))).toBe(`${'😀'.repeat(80)}…`);
  });
});
