// Saved playback positions: resumed per asset, forgotten when finished, bounded in number, robust to bad storage.
import { describe, expect, it } from 'vitest';
import { MAX_SAVED_POSITIONS, POSITIONS_KEY, PlayPositions } from '../../web-client/components/play-position.js';

function memoryStorage(initial: Record<string, string> = {}) {
  const m = new Map(Object.entries(initial));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), raw: m };
}

describe('PlayPositions', () => {
  it('resumes each asset where it was left', () => {
    const p = new PlayPositions(memoryStorage());
    p.set('a', 150.37, 300, 1);
    p.set('b', 20, null, 2);
    expect(p.get('a')).toBe(150.3);
    expect(p.get('b')).toBe(20);
    expect(p.get('c')).toBeNull();
  });

  it('forgets a finished asset and does not resume from the first seconds', () => {
    const p = new PlayPositions(memoryStorage());
    p.set('a', 150, 300, 1);
    p.set('a', 297, 300, 2);
    expect(p.get('a')).toBeNull();
    p.set('b', 1, 300, 3);
    expect(p.get('b')).toBeNull();
  });

  it(`keeps at most ${MAX_SAVED_POSITIONS} assets, dropping the least recently watched`, () => {
    const s = memoryStorage();
    const p = new PlayPositions(s);
    for (let i = 0; i <= MAX_SAVED_POSITIONS; i++) p.set(`asset-${i}`, 10 + i, null, i);
    expect(p.get('asset-0')).toBeNull();
    expect(p.get('asset-1')).toBe(11);
    expect(Object.keys(JSON.parse(s.raw.get(POSITIONS_KEY)!))).toHaveLength(MAX_SAVED_POSITIONS);
  });

  it('ignores garbage in storage, a storage that throws, and no storage at all', () => {
    expect(new PlayPositions(memoryStorage({ [POSITIONS_KEY]: '{not json' })).get('a')).toBeNull();
    expect(new PlayPositions(memoryStorage({ [POSITIONS_KEY]: '{"a":{"t":"x"},"__proto__":{"t":5,"at":1}}' })).get('a')).toBeNull();
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(() => new PlayPositions(full).set('a', 10, null, 1)).not.toThrow();
    const none = new PlayPositions(null);
    none.set('a', 10, null, 1);
    expect(none.get('a')).toBeNull();
  });
});
