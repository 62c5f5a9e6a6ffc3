// The start-up sweep of `.part` files a crash left: salvaged to `<id>.webm` at the last whole block, on real files.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SALVAGE_READ_BYTES, sweepStaleParts } from '../../node-app/ingest/stale-parts.js';
import { SHIPPED_DIR } from '../../scripts/make-demo-media.js';
import { probeWebm } from '../../node-app/storage/webm-probe.js';

const clip = (id: string) => readFileSync(join(SHIPPED_DIR, `${id}.webm`));

/** Cluster starts of an ffmpeg-made clip (sized Clusters: each one's start is where the one before ends whole). */
function clusterStarts(b: Buffer): number[] {
  const id = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
  const out: number[] = [];
  for (let i = b.indexOf(id); i >= 0; i = b.indexOf(id, i + 1)) out.push(i);
  return out;
}

/** A lock naming a process that has exited: what a SIGKILLed server leaves. */
function deadOwnerLock(part: string): void {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  writeFileSync(`${part}.lock`, JSON.stringify({ pid: Number(String(r.stdout).trim()), start: '1' }));
}

describe('sweepStaleParts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-stale-parts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('salvages a .part cut mid-Cluster to <id>.webm, a prefix of the stream ending at its last whole Cluster', async () => {
    // Larger than one read: the index is fed in SALVAGE_READ_BYTES pieces.
    const src = clip('demo-mandelbrot');
    expect(src.length).toBeGreaterThan(2 * SALVAGE_READ_BYTES);
    const killedAt = Math.floor(src.length * 0.7) + 123;
    const part = join(dir, 'talk.webm.part');
    writeFileSync(part, src.subarray(0, killedAt));
    deadOwnerLock(part);
    writeFileSync(join(dir, 'talk.json'), JSON.stringify({ title: 'Talk' }));

    const out = await sweepStaleParts(dir, () => false);

    const lastWhole = Math.max(...clusterStarts(src).filter((c) => c <= killedAt));
    expect(out).toEqual([{ streamId: 'talk', kind: 'salvaged', bytes: lastWhole, partBytes: killedAt }]);
    const kept = readFileSync(join(dir, 'talk.webm'));
    expect(kept.equals(src.subarray(0, lastWhole))).toBe(true);
    expect(probeWebm(kept).complete).toBe(true);
    expect(existsSync(part)).toBe(false);
    expect(existsSync(`${part}.lock`)).toBe(false);
    // The title written at the broadcast's start stays beside it.
    expect(existsSync(join(dir, 'talk.json'))).toBe(true);
  });

  it('keeps an existing <id>.webm and removes the .part; removes a .part with no whole frame, or a symlink', async () => {
    const src = clip('demo-smpte');
    writeFileSync(join(dir, 'done.webm'), src);
    writeFileSync(join(dir, 'done.webm.part'), src.subarray(0, 300_000));
    // The head and the start of a first Cluster: no frame in it.
    const first = clusterStarts(src)[0]!;
    writeFileSync(join(dir, 'empty.webm.part'), src.subarray(0, first + 20));
    // No writer makes a symlink: it goes (what it points at is not touched).
    writeFileSync(join(dir, 'elsewhere.bin'), src);
    symlinkSync(join(dir, 'elsewhere.bin'), join(dir, 'linked.webm.part'));

    const out = await sweepStaleParts(dir, () => false);

    expect(out.sort((a, b) => (a.streamId < b.streamId ? -1 : 1))).toEqual([
      { streamId: 'done', kind: 'removed', why: 'existing', partBytes: 300_000 },
      { streamId: 'empty', kind: 'removed', why: 'no-media', partBytes: first + 20 },
      { streamId: 'linked', kind: 'removed', why: 'not-a-file', partBytes: 0 },
    ]);
    expect(existsSync(join(dir, 'linked.webm.part'))).toBe(false);
    expect(readFileSync(join(dir, 'elsewhere.bin')).equals(src)).toBe(true);
    expect(existsSync(join(dir, 'linked.webm'))).toBe(false);
    expect(readFileSync(join(dir, 'done.webm')).equals(src)).toBe(true);
    expect(existsSync(join(dir, 'done.webm.part'))).toBe(false);
    expect(existsSync(join(dir, 'empty.webm.part'))).toBe(false);
    expect(existsSync(join(dir, 'empty.webm'))).toBe(false);
  });

  it('leaves a .part that another running process holds, or that this process writes', async () => {
    const src = clip('demo-smpte');
    const sleeper = spawn('sleep', ['30']);
    try {
      const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      writeFileSync(join(dir, 'other.webm.part'), src.subarray(0, 400_000));
      writeFileSync(join(dir, 'other.webm.part.lock'), JSON.stringify({ pid: sleeper.pid, start }));
      writeFileSync(join(dir, 'mine.webm.part'), src.subarray(0, 400_000));

      const out = await sweepStaleParts(dir, (id) => id === 'mine');

      expect(out).toEqual([]);
      expect(existsSync(join(dir, 'other.webm.part'))).toBe(true);
      expect(existsSync(join(dir, 'other.webm.part.lock'))).toBe(true);
      expect(existsSync(join(dir, 'mine.webm.part'))).toBe(true);
      expect(existsSync(join(dir, 'other.webm'))).toBe(false);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
