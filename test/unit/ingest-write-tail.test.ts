// A live stream's in-memory tail: reads across written and pending chunks, compaction of tiny chunks, bounded trimming.
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_CHUNKS, MAX_TAIL_ENTRIES, WriteTail } from '../../node-app/ingest/write-tail.js';

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('WriteTail', () => {
  it('reads any range across written blocks and chunks not written yet', () => {
    const t = new WriteTail(1_000);
    t.accept(0, 0, bytes(0, 10));
    t.accept(1, 10, bytes(10, 10));
    const block = t.takePending();
    expect(block).toMatchObject({ offset: 0, lastSeq: 1 });
    expect(Uint8Array.from(block.bytes)).toEqual(bytes(0, 20));
    t.accept(2, 20, bytes(20, 5));
    expect(t.hasPending).toBe(true);
    expect(Uint8Array.from(t.read(5, 23))).toEqual(bytes(5, 18));
  });

  it('takes the pending chunks as one block with the last sequence number, also once tiny ones were compacted (MAX_PENDING_CHUNKS)', () => {
    const t = new WriteTail();
    for (let seq = 0; seq <= MAX_PENDING_CHUNKS; seq++) t.accept(seq, seq, bytes(seq, 1));
    const block = t.takePending();
    expect(block).toMatchObject({ offset: 0, lastSeq: MAX_PENDING_CHUNKS });
    expect(Uint8Array.from(block.bytes)).toEqual(bytes(0, MAX_PENDING_CHUNKS + 1));
  });

  it('drops the oldest written blocks while at least the byte budget stays, only once they are on disk', () => {
    const t = new WriteTail(15);
    for (let i = 0; i < 4; i++) {
      t.accept(i, i * 10, bytes(i * 10, 10));
      t.takePending();
    }
    t.trim(10); // only the first block is on disk
    expect(t.start).toBe(10);
    t.trim(40);
    expect(t.start).toBe(20); // dropping one more block would leave 10 bytes, under the 15-byte budget
    expect(Uint8Array.from(t.read(20, 40))).toEqual(bytes(20, 20));
  });

  it('keeps at most MAX_TAIL_ENTRIES written blocks, whatever their size', () => {
    const t = new WriteTail(Number.POSITIVE_INFINITY);
    const n = MAX_TAIL_ENTRIES + 10;
    for (let i = 0; i < n; i++) {
      t.accept(i, i, bytes(i, 1));
      t.takePending();
    }
    t.trim(n);
    expect(t.start).toBe(n - MAX_TAIL_ENTRIES);
  });
});
