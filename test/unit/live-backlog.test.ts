// What a late joiner of a live stream is handed at once is bounded: the writer refuses a stream whose edge runs more
// than liveBacklogBytes past its newest Cluster start, and a join point is never further behind the edge than that.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { createLiveSource } from '../../node-app/ingest/live-source.js';
import { MIN_LIVE_BACKLOG_BYTES, ingestLimits, liveBacklogBytes } from '../../node-app/ingest/ingest-limits.js';
import { IngestErrorCode } from '../../node-app/ingest/errors.js';
import { UNKNOWN_SIZE, cat, el } from '../helpers/ebml-build.js';

const MiB = 1024 * 1024;
const text = (id: number[], s: string) => el(id, new TextEncoder().encode(s));
const uint = (id: number[], v: number) => el(id, new Uint8Array([v]));

/** EBML header, an unknown-size Segment, Info, Tracks (1: VP8, 2: Opus): what MediaRecorder writes before its first Cluster. */
const HEAD = cat(
  el([0x1a, 0x45, 0xdf, 0xa3], text([0x42, 0x82], 'webm')),
  new Uint8Array([0x18, 0x53, 0x80, 0x67, ...UNKNOWN_SIZE]),
  el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], new Uint8Array([0x0f, 0x42, 0x40]))),
  el(
    [0x16, 0x54, 0xae, 0x6b],
    cat(
      el([0xae], cat(uint([0xd7], 1), uint([0x83], 1), text([0x86], 'V_VP8'))),
      el([0xae], cat(uint([0xd7], 2), uint([0x83], 2), text([0x86], 'A_OPUS'))),
    ),
  ),
);
const CLUSTER_OPEN = new Uint8Array([0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN_SIZE]);
/** A video SimpleBlock of `n` payload bytes at relative timecode 0 (every block may repeat it). */
const block = (key: boolean, n: number) => el([0xa3], cat(new Uint8Array([0x81, 0, 0, key ? 0x80 : 0]), new Uint8Array(n).fill(9)));
const timecode = (ms: number) => el([0xe7], new Uint8Array([(ms >>> 8) & 0xff, ms & 0xff]));
/** 1 MiB of video blocks (16 of 64 KiB) to go inside a Cluster. */
const BLOCKS_1MIB = cat(...Array.from({ length: 16 }, () => block(false, 64 * 1024 - 12)));
/** A first Cluster without a keyframe: a stream whose only start point is its first Cluster is read from byte 0. */
const FIRST = cat(CLUSTER_OPEN, timecode(0), block(false, 500));
const KEY_AT = HEAD.byteLength + FIRST.byteLength;

const dirs: string[] = [];
const writers: LiveWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function writer(): Promise<LiveWriter> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-backlog-'));
  dirs.push(dir);
  // The default quotas but for the size and average rate, which a test sending 40 MiB at once would pass.
  const limits = { ...ingestLimits(), burstBytes: 1e9 };
  const w = await LiveWriter.create({
    streamId: 'live-b',
    finalPath: join(dir, 'live-b.webm'),
    mime: 'video/webm',
    limits,
    fsyncIntervalMs: 10,
  });
  writers.push(w);
  return w;
}

/** Appends `parts` in order; returns how many bytes were stored before the first refusal, and that refusal. */
function appendAll(w: LiveWriter, parts: Uint8Array[]) {
  for (const p of parts) {
    const r = w.append(w.nextSeq, w.bytes, p);
    if (r.kind === 'refused') return { stored: w.bytes, refusal: r.error };
    expect(r.kind).toBe('stored');
  }
  return { stored: w.bytes, refusal: undefined };
}

describe('a live stream whose edge runs far past its newest Cluster start', () => {
  it('the bound is 32 MiB at the default quota, 10 s of a higher one', () => {
    expect(liveBacklogBytes(ingestLimits())).toBe(MIN_LIVE_BACKLOG_BYTES);
    expect(MIN_LIVE_BACKLOG_BYTES).toBe(32 * MiB);
    expect(liveBacklogBytes(ingestLimits(100))).toBe(125_000_000);
  });

  it('one Cluster never closed (blocks repeating Timecode 0): refused past the bound, the copy cut, a joiner gets at most the bound', async () => {
    const w = await writer();
    const parts = [cat(HEAD, CLUSTER_OPEN, timecode(0), block(true, 1000))];
    for (let i = 0; i < 40; i++) parts.push(BLOCKS_1MIB);
    const joiner = createLiveSource(w, { offset: 0 });
    const { stored, refusal } = appendAll(w, parts);
    // Before, all 40 MiB were stored and a joiner was handed every byte since the Cluster's start at once.
    expect(refusal?.code).toBe(IngestErrorCode.unsupportedMedia);
    expect(refusal?.message).toMatch(/bytes of one Cluster since byte \d+, more than 33554432: start a Cluster/);
    expect(stored).toBeLessThanOrEqual(HEAD.byteLength + 32 * MiB);
    expect(stored).toBeGreaterThan(31 * MiB);
    expect(joiner.size()).toBeLessThanOrEqual(HEAD.byteLength + 32 * MiB);
    joiner.close();
    // The copy is cut after its last whole block and kept (a salvage), as for a quota.
    await w.close();
    const final = join(dirs[0]!, 'live-b.webm');
    expect(existsSync(final)).toBe(true);
    expect(statSync(final).size).toBeLessThanOrEqual(stored);
  });

  it('a sized Cluster declaring 1 GiB: refused past the bound', async () => {
    const w = await writer();
    const sized = new Uint8Array([0x1f, 0x43, 0xb6, 0x75, 0x01, 0, 0, 0, 0x40, 0, 0, 0]);
    const parts = [cat(HEAD, sized, timecode(0), block(true, 1000))];
    for (let i = 0; i < 40; i++) parts.push(BLOCKS_1MIB);
    const { refusal } = appendAll(w, parts);
    expect(refusal?.code).toBe(IngestErrorCode.unsupportedMedia);
    expect(w.bytes).toBeLessThanOrEqual(HEAD.byteLength + 32 * MiB);
  });

  it('bytes past malformed WebM (the index stopped): refused past the bound', async () => {
    const w = await writer();
    // A Void of unknown size inside the Cluster stops the index; what follows is stored as sent, unindexed.
    const parts = [cat(HEAD, CLUSTER_OPEN, timecode(0), block(true, 1000), new Uint8Array([0xec, ...UNKNOWN_SIZE]))];
    for (let i = 0; i < 40; i++) parts.push(new Uint8Array(MiB).fill(0x42));
    const { refusal } = appendAll(w, parts);
    expect(w.index.stopped).toBe(true);
    expect(refusal?.message).toMatch(/of malformed WebM since byte/);
    expect(w.bytes).toBeLessThanOrEqual(HEAD.byteLength + 32 * MiB);
  });

  it('a keyframe Cluster without a Timecode, then 40 MiB of Clusters without one: a joiner starts at the newest Cluster', async () => {
    const w = await writer();
    // Media time cannot say how far behind the keyframe Cluster is (no Timecode): before, every joiner started there.
    const parts = [cat(HEAD, FIRST, CLUSTER_OPEN, block(true, 1000))];
    for (let i = 0; i < 40; i++) parts.push(cat(CLUSTER_OPEN, BLOCKS_1MIB));
    const { refusal } = appendAll(w, parts);
    expect(refusal).toBeUndefined();
    const newest = w.index.latestCluster()!;
    expect(w.index.latestKeyCluster()).toBe(KEY_AT);
    const joiner = createLiveSource(w, { offset: 0 });
    expect(joiner.joinedAt).toBe(newest);
    expect(joiner.size()).toBeLessThanOrEqual(HEAD.byteLength + 2 * MiB);
    joiner.close();
  });

  it('a keyframe Cluster stamped far ahead of the Clusters after it (0 ms behind for ever): the same', async () => {
    const w = await writer();
    const parts = [cat(HEAD, FIRST, CLUSTER_OPEN, timecode(60_000), block(true, 1000))];
    for (let i = 0; i < 40; i++) parts.push(cat(CLUSTER_OPEN, timecode(i * 100), BLOCKS_1MIB));
    expect(appendAll(w, parts).refusal).toBeUndefined();
    expect(w.index.keyClusterBehindMs()).toBe(0);
    const joiner = createLiveSource(w, { offset: 0 });
    expect(joiner.joinedAt).toBe(w.index.latestCluster());
    joiner.close();
  });

  it('a keyframe Cluster within the bound is still where a joiner starts', async () => {
    const w = await writer();
    const parts = [cat(HEAD, FIRST, CLUSTER_OPEN, block(true, 1000))];
    for (let i = 0; i < 20; i++) parts.push(cat(CLUSTER_OPEN, BLOCKS_1MIB));
    expect(appendAll(w, parts).refusal).toBeUndefined();
    const joiner = createLiveSource(w, { offset: 0 });
    expect(joiner.joinedAt).toBe(KEY_AT);
    joiner.close();
  });
});
