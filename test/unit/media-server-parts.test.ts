// The media server's pure parts: reading a hub's session-open, and the deltas a storage rescan or a cache change reports.
import { describe, expect, it } from 'vitest';
import { cacheDeltas, storageDeltas } from '../../node-app/server/own-deltas.js';
import { readSessionOpen } from '../../node-app/server/session-open.js';
import { MAX_META_CHARS_PER_MESSAGE } from '../../node-app/storage/meta-budget.js';

const open = { sessionId: 'session-0001', kind: 'watch', assetId: 'clip', offset: 0 };

describe('readSessionOpen', () => {
  it('passes a well-formed open through', () => {
    expect(readSessionOpen(open)).toEqual({ ok: true, msg: open });
  });

  it('refuses an asset id that could name a path as an asset not stored here', () => {
    const r = readSessionOpen({ ...open, assetId: '../etc/passwd' });
    expect(r).toEqual({ ok: false, refusal: { ok: false, code: 'unknown-asset', message: 'asset "../etc/passwd" is not stored here' } });
  });

  it('refuses anything else malformed as a bad request, without throwing', () => {
    for (const raw of [null, 'x', { ...open, offset: -1 }, { ...open, extra: 1 }, { ...open, assetId: '../x', kind: 'steal' }]) {
      const r = readSessionOpen(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.refusal.code).toBe('bad-request');
    }
  });
});

describe('own deltas', () => {
  const asset = (id: string, description?: string) => ({ id, bytes: 1, mime: 'video/webm', ...(description ? { description } : {}) });

  it('a rescan: added and re-described assets in one storage-add, removed ones in a storage-remove', () => {
    expect(storageDeltas([asset('a')], [asset('b')], ['c'])).toEqual([
      { type: 'storage-add', assets: [asset('a'), asset('b')] },
      { type: 'storage-remove', assets: ['c'] },
    ]);
    expect(storageDeltas([], [], [])).toEqual([]);
  });

  it('a rescan: a changed asset (new size) overwrites its entry, once even when also re-described', () => {
    const grown = { ...asset('a'), bytes: 2 };
    expect(storageDeltas([], [], [], [grown])).toEqual([{ type: 'storage-add', assets: [grown] }]);
    const both = { ...grown, description: 'new' };
    expect(storageDeltas([asset('b')], [both], [], [both])).toEqual([{ type: 'storage-add', assets: [asset('b'), both] }]);
  });

  it('a rescan keeps its storage-add within the metadata budget', () => {
    const long = 'd'.repeat(MAX_META_CHARS_PER_MESSAGE);
    const [add] = storageDeltas([asset('a', long), asset('b', long)], [], []);
    expect(add).toEqual({ type: 'storage-add', assets: [asset('a', long), asset('b')] });
  });

  it('a cache change: cache-add and cache-remove, each only when it names an asset', () => {
    expect(cacheDeltas({ added: ['a'], removed: [] })).toEqual([{ type: 'cache-add', assets: ['a'] }]);
    expect(cacheDeltas({ added: [], removed: ['b'] })).toEqual([{ type: 'cache-remove', assets: ['b'] }]);
    expect(cacheDeltas({ added: [], removed: [] })).toEqual([]);
  });
});
