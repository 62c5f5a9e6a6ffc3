// The interval cache's asset records: one per asset, dropped at a sweep only when marked, streamless and empty.
import { describe, expect, it } from 'vitest';
import { AssetRecords } from '../../node-app/cache/asset-records.js';

describe('AssetRecords', () => {
  it('makes one record per asset, numbered in order', () => {
    const r = new AssetRecords();
    const a = r.obtain('a');
    expect(r.obtain('a')).toBe(a);
    expect(r.obtain('b').seq).toBe(a.seq + 1);
  });

  it('a sweep drops the marked records with no stream and no block, and only those', () => {
    const r = new AssetRecords();
    const empty = r.obtain('empty');
    const holding = r.obtain('holding');
    holding.blocks.set(0, { bytes: new Uint8Array(1) } as never);
    r.obtain('unmarked');
    r.mark(empty);
    r.markId('holding');
    r.markId('never-made');
    const dropped: string[] = [];
    r.sweep((a) => dropped.push(a.id));
    expect(dropped).toEqual(['empty']);
    expect([...r.values()].map((a) => a.id)).toEqual(['holding', 'unmarked']);
    // The marks are spent: emptied later, a record waits for a new mark.
    holding.blocks.clear();
    r.sweep((a) => dropped.push(a.id));
    expect(dropped).toEqual(['empty']);
  });

  it('keeps a record whose asset still has a stream', () => {
    const r = new AssetRecords();
    const a = r.obtain('a');
    a.head = {} as never;
    r.mark(a);
    r.sweep(() => expect.unreachable());
    expect(r.get('a')).toBe(a);
  });
});
