// FileReads: one disk read per range in flight, and none joined across a change of the file.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileReads } from '../../node-app/storage/file-reads.js';

describe('FileReads', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = (bytes: Buffer) => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-file-reads-'));
    dirs.push(dir);
    const path = join(dir, 'a.webm');
    writeFileSync(path, bytes);
    return { dir, path };
  };

  it('shares a read in flight, and counts its bytes once', async () => {
    const { path } = file(Buffer.alloc(4096, 1));
    const reads = new FileReads(4);
    const all = Array.from({ length: 10 }, () => reads.shared(path, 0, 4096));
    expect(reads.inFlight).toBe(1);
    for (const b of await Promise.all(all)) expect(b.byteLength).toBe(4096);
    expect(reads.bytesRead).toBe(4096);
    expect(reads.inFlight).toBe(0);
    reads.close();
  });

  it('after invalidate, a new read of the range reads the new file instead of joining the one begun on the old', async () => {
    const { dir, path } = file(Buffer.alloc(4096, 1));
    const reads = new FileReads(4);
    const before = reads.shared(path, 0, 4096);
    const replacement = join(dir, 'b.webm');
    writeFileSync(replacement, Buffer.alloc(4096, 2));
    renameSync(replacement, path);
    reads.invalidate(path);
    expect(reads.inFlight).toBe(0);
    const after = reads.shared(path, 0, 4096);
    expect(after).not.toBe(before);
    expect(reads.inFlight).toBe(1);
    let afterDone = false;
    void after.then(() => (afterDone = true));
    await before;
    // The old read's end does not drop the new one's entry.
    expect(reads.inFlight).toBe(afterDone ? 0 : 1);
    expect(Buffer.from(await after).equals(Buffer.alloc(4096, 2))).toBe(true);
    expect(reads.inFlight).toBe(0);
    reads.close();
  });

  it('refuses reads once closed', async () => {
    const { path } = file(Buffer.alloc(16));
    const reads = new FileReads(4);
    reads.close();
    await expect(reads.shared(path, 0, 16)).rejects.toMatchObject({ code: 'closed' });
  });
});
