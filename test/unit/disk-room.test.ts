// The background makers' pause after a disk refusal (disk-room.ts): the refused job waits in the queue, a newer
// version queued meanwhile wins, nothing starts until the retry, and the operator's message is the line that says why.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { diskRefused, freeBytes, SpaceWait } from '../../node-app/storage/disk-room.js';

interface Job {
  id: string;
  version: string;
}

describe('disk room', () => {
  afterEach(() => void vi.useRealTimers());

  it('a refused job waits in the queue, then the maker resumes once', async () => {
    vi.useFakeTimers();
    const queued = new Map<string, Job>();
    let resumed = 0;
    const wait = new SpaceWait<Job>(queued, 30_000, () => resumed++);
    const why = wait.defer({ id: 'a', version: '1' }, 'ffmpeg -i x.webm\n[out] Error: No space left on device\nConversion failed!');
    expect(why).toBe('[out] Error: No space left on device; tried again in 30 s');
    expect(queued.get('a')).toEqual({ id: 'a', version: '1' });
    expect(wait.waiting).toBe(true);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(resumed).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(resumed).toBe(1);
    expect(wait.waiting).toBe(false);
  });

  it('a newer version queued while the old one ran is kept, and a second refusal restarts the pause once', async () => {
    vi.useFakeTimers();
    const queued = new Map<string, Job>([['a', { id: 'a', version: '2' }]]);
    let resumed = 0;
    const wait = new SpaceWait<Job>(queued, 1_000, () => resumed++);
    wait.defer({ id: 'a', version: '1' }, 'No space left on device');
    expect(queued.get('a')?.version).toBe('2');
    await vi.advanceTimersByTimeAsync(500);
    wait.defer({ id: 'b', version: '1' }, 'write failed: 10 bytes free');
    await vi.advanceTimersByTimeAsync(999);
    expect(resumed).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(resumed).toBe(1);
  });

  it('cancel: no retry after the maker closed', async () => {
    vi.useFakeTimers();
    let resumed = 0;
    const wait = new SpaceWait<Job>(new Map(), 1_000, () => resumed++);
    wait.defer({ id: 'a', version: '1' }, 'Disk quota exceeded');
    wait.cancel();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(resumed).toBe(0);
    expect(wait.waiting).toBe(false);
  });

  it('tells a disk refusal by code or by ffmpeg text, and nothing else', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EROFS']) expect(diskRefused(Object.assign(new Error('x'), { code }))).toBe(true);
    expect(diskRefused(new Error('av_interleaved_write_frame(): Read-only file system'))).toBe(true);
    expect(diskRefused(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe(false);
    expect(diskRefused(new Error('Invalid data found when processing input'))).toBe(false);
    expect(diskRefused(undefined)).toBe(false);
  });

  it('free bytes of a real directory, none of a missing one', async () => {
    expect(await freeBytes('/tmp')).toBeGreaterThan(0);
    expect(await freeBytes('/nonexistent/baton-dir')).toBeUndefined();
  });
});
