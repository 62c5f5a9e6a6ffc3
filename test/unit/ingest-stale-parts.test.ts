// The start-up sweep of `.part` files a crash left: salvaged to `<id>.webm` at the last whole block, on real files.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SALVAGE_READ_BYTES, sweepStaleParts } from '../../node-app/ingest/stale-parts.js';
import { SHIPPED_DIR } from '../../scripts/make-demo-media.js';
import { probeWebm } from '../../node-app/storage/webm-probe.js';
import { UNKNOWN_SIZE, cat, el } from '../helpers/ebml-build.js';

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

  it('salvages a live recording (unknown-size Clusters, as MediaRecorder and the WHIP muxer write) after its last whole block', async () => {
    const id = (...b: number[]) => b;
    const header = el(id(0x1a, 0x45, 0xdf, 0xa3), el(id(0x42, 0x82), new TextEncoder().encode('webm')));
    const info = el(id(0x15, 0x49, 0xa9, 0x66), el(id(0x2a, 0xd7, 0xb1), new Uint8Array([0x0f, 0x42, 0x40])));
    const track = cat(
      el(id(0xd7), new Uint8Array([1])),
      el(id(0x83), new Uint8Array([1])),
      el(id(0x86), new TextEncoder().encode('V_VP8')),
    );
    const tracks = el(id(0x16, 0x54, 0xae, 0x6b), el(id(0xae), track));
    const parts = [header, new Uint8Array([0x18, 0x53, 0x80, 0x67, ...UNKNOWN_SIZE]), info, tracks];
    const blockEnds: number[] = [];
    let at = parts.reduce((n, p) => n + p.byteLength, 0);
    for (let c = 0; c < 3; c++) {
      const cluster = [el(id(0x1f, 0x43, 0xb6, 0x75), null), el(id(0xe7), new Uint8Array([(c * 1000) >> 8, (c * 1000) & 0xff]))];
      for (let b = 0; b < 10; b++) {
        // Track 1, timecode b × 10 ms into its Cluster (which starts at c s), the keyframe flag on the first; 2 KB of payload.
        const payload = new Uint8Array(4 + 2048).fill(c + 1);
        payload.set([0x81, 0, b * 10, b === 0 ? 0x80 : 0]);
        cluster.push(el(id(0xa3), payload));
      }
      for (const p of cluster) {
        parts.push(p);
        at += p.byteLength;
        if (p[0] === 0xa3) blockEnds.push(at);
      }
    }
    const stream = cat(...parts);
    // Torn in the 5th block of the last Cluster.
    const tornAt = blockEnds[24]! + 1000;
    writeFileSync(join(dir, 'cam.webm.part'), stream.subarray(0, tornAt));

    const out = await sweepStaleParts(dir, () => false);

    expect(out).toEqual([{ streamId: 'cam', kind: 'salvaged', bytes: blockEnds[24], partBytes: tornAt }]);
    expect(Buffer.from(readFileSync(join(dir, 'cam.webm'))).equals(Buffer.from(stream.subarray(0, blockEnds[24])))).toBe(true);
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
