// FileSink: backpressure with one drain wait at a time, and no file unless the watch succeeded.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSink } from '../../node-app/delivery/file-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source that counts pause/resume calls and keeps sending while paused (as in-flight frames do). */
function source() {
  const s = {
    paused: false,
    pauses: 0,
    resumes: 0,
    pause: () => void ((s.paused = true), s.pauses++),
    resume: () => void ((s.paused = false), s.resumes++),
  };
  return s;
}

describe('FileSink', () => {
  it('keeps one drain listener however many writes overflow the buffer, and writes every byte in order', async () => {
    const out = join(dir, 'burst.webm');
    const sink = new FileSink(out);
    const src = source();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const chunks = Array.from({ length: 40 }, (_, i) => new Uint8Array(64 * 1024).fill(i));
    // 40 × 64 KiB in one turn: each write past the 16 KiB buffer returns false.
    for (const c of chunks) sink.write(c, src);
    expect(src.paused).toBe(true);
    await new Promise<void>((resumed) => {
      const poll = setInterval(() => !src.paused && (clearInterval(poll), resumed()), 5);
    });
    await sink.commit();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    expect(src.pauses).toBe(1);
    expect(src.resumes).toBe(1);
    expect(src.paused).toBe(false);
    expect(readFileSync(out).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('discard leaves no file, and an existing file at the path untouched', async () => {
    const out = join(dir, 'kept.webm');
    writeFileSync(out, 'earlier result');
    const sink = new FileSink(out);
    sink.write(new Uint8Array(1000), source());
    await sink.discard();
    await sink.discard();
    expect(readFileSync(out, 'utf8')).toBe('earlier result');
    expect(readdirSync(dir).filter((f) => f.includes('kept.webm') && f !== 'kept.webm')).toEqual([]);
    const fresh = join(dir, 'never.webm');
    await new FileSink(fresh).discard();
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a write error rejects `failed` with code write-failed', async () => {
    const sink = new FileSink(join(dir, 'no-such-dir', 'x.webm'));
    await expect(sink.failed).rejects.toMatchObject({ code: 'write-failed' });
    await sink.discard();
  });

  it('refuses a directory at once, and leaves no temporary file when the rename fails (found by review: `--out /tmp`)', async () => {
    expect(() => new FileSink(dir)).toThrow(/is a directory/);
    const out = join(dir, 'late-dir');
    const sink = new FileSink(out);
    sink.write(new Uint8Array(1_000), source());
    // A directory takes the name while the watch runs.
    mkdirSync(out);
    await expect(sink.commit()).rejects.toMatchObject({ code: 'write-failed' });
    expect(readdirSync(dir).filter((f) => f.startsWith('.late-dir'))).toEqual([]);
    rmSync(out, { recursive: true });
  });
});
