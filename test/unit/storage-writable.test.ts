// An ingest server's storage check (storage-writable.ts): a directory that takes files, one that is gone, one without
// room; and the checker's last answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageWritable, storageTakesFiles } from '../../node-app/server/storage-writable.js';

describe('storage writable', () => {
  afterEach(() => void vi.useRealTimers());

  it('a directory that exists takes files; once removed it does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-writable-'));
    expect(await storageTakesFiles(dir)).toBe(true);
    rmSync(dir, { recursive: true });
    expect(await storageTakesFiles(dir)).toBe(false);
  });

  it('a file is no storage directory (a path through it cannot be written)', async () => {
    expect(await storageTakesFiles('/etc/hostname/sub')).toBe(false);
  });

  it('keeps the last answer of its check, asked once a period, never two at once', async () => {
    vi.useFakeTimers();
    let answer = true;
    let calls = 0;
    const w = new StorageWritable('/x', async () => (calls++, answer), 1_000);
    expect(w.ok).toBe(true);
    answer = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.ok).toBe(false);
    answer = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.ok).toBe(true);
    expect(calls).toBe(2);
    w.close();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toBe(2);
  });
});
