// A WebM asset as time-ordered frames for WHEP: every frame of a stored clip, and a live file followed as it grows, block by block.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ByteSource } from '../../node-app/contracts.js';
import { openWebm, type MediaFrame } from '../../node-app/whep/webm-packets.js';
import { MEDIA_DIR } from '../helpers/cluster.js';

/** A ByteSource over `bytes`, of which `visible()` are readable; live while `live()`. */
function bufferSource(bytes: Uint8Array, visible = () => bytes.byteLength, live = () => false): ByteSource & { reads: number } {
  const s = {
    assetId: 'a',
    reads: 0,
    size: () => visible(),
    isLive: live,
    read: async (offset: number, length: number) => {
      s.reads++;
      return bytes.subarray(offset, Math.min(visible(), offset + length));
    },
    close: () => undefined,
  };
  return s;
}

async function all(frames: AsyncGenerator<MediaFrame>): Promise<MediaFrame[]> {
  const out: MediaFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

describe('openWebm', () => {
  it('gives every frame of a stored clip (VP8 + Opus) in time order, starting on a keyframe', async () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const src = bufferSource(bytes);
    const w = await openWebm(src);
    expect([w.videoCodec, w.audioCodec]).toEqual(['vp8', 'opus']);
    const frames = await all(w.frames());
    w.close();
    // ffprobe counts 600 video and 1001 audio packets in this clip.
    expect(frames.filter((f) => f.kind === 'video').length).toBe(600);
    expect(frames.filter((f) => f.kind === 'audio').length).toBe(1001);
    expect(frames.find((f) => f.kind === 'video')!.key).toBe(true);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.timestampS).toBeGreaterThanOrEqual(frames[i - 1]!.timestampS);
  });

  it('follows a live file as it grows and ends when the stream does', async () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    let visible = 300_000;
    let live = true;
    const w = await openWebm(
      bufferSource(
        bytes,
        () => visible,
        () => live,
      ),
    );
    const got: MediaFrame[] = [];
    const reading = (async () => {
      for await (const f of w.frames()) got.push(f);
    })();
    // Grow the file in steps; every step's frames arrive before the next.
    for (const next of [600_000, 900_000, bytes.byteLength]) {
      const before = got.length;
      await waitUntil(() => got.length > before);
      visible = next;
    }
    live = false;
    await reading;
    expect(got.filter((f) => f.kind === 'video').length).toBe(600);
  });

  it("gives a live file's frames as soon as their blocks are readable, not once their Cluster is complete", async () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const clusters = clusterOffsets(bytes);
    // The live edge in the middle of the third Cluster, then at its start: the first sees half a Cluster more.
    const counts: number[] = [];
    for (const visible of [Math.floor((clusters[2]! + clusters[3]!) / 2), clusters[2]!]) {
      const w = await openWebm(
        bufferSource(
          bytes,
          () => visible,
          () => true,
        ),
      );
      const got: MediaFrame[] = [];
      const reading = (async () => {
        for await (const f of w.frames()) got.push(f);
      })();
      await settled(() => got.length);
      w.close();
      await reading;
      counts.push(got.filter((f) => f.kind === 'video').length);
    }
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts[0]).toBeGreaterThan(counts[1]! + 10);
  });
});

/** Start offsets of the file's Clusters (their ID, 1F 43 B6 75). */
function clusterOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.byteLength; i++) if (b[i] === 0x1f && b[i + 1] === 0x43 && b[i + 2] === 0xb6 && b[i + 3] === 0x75) out.push(i);
  return out;
}

/** Waits until `count()` has not changed for 300 ms. */
async function settled(count: () => number): Promise<void> {
  let last = -1;
  let since = Date.now();
  while (Date.now() - since < 300) {
    if (count() !== last) {
      last = count();
      since = Date.now();
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}
