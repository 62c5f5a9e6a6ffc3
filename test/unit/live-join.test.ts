// Where a live viewer starts: the Cluster index knows which Clusters hold a video keyframe, and a late joiner starts at the newest one.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterIndex } from '../../node-app/ingest/cluster-index.js';
import { MAX_LIVE_JOIN_BEHIND_MS, createLiveSource, liveJoinPoint } from '../../node-app/ingest/live-source.js';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { buildSeekIndex } from '../../node-app/storage/seek-index.js';
import { MEDIA_DIR } from '../helpers/cluster.js';
import { UNKNOWN_SIZE, cat, el, indexInChunks } from '../helpers/ebml-build.js';

const uint = (id: number[], v: number) => el(id, new Uint8Array([v]));
const text = (id: number[], s: string) => el(id, new TextEncoder().encode(s));

/** A block's payload: track number (1-byte vint), timecode 0, flags, then media bytes. */
const blockBody = (track: number, key: boolean, n: number) =>
  cat(new Uint8Array([0x80 | track, 0, 0, key ? 0x80 : 0]), new Uint8Array(n).fill(7));

/**
 * What Chromium's MediaRecorder writes for a camera: unknown-size Segment and Clusters, audio (track 2)
 * and video (track 1). Each Cluster opens with an audio block, then a video frame that is a keyframe
 * only in the Clusters listed in `keyAt`: Clusters also start between keyframes, as the muxer does.
 * With `groups`, video frames are BlockGroups (what it writes for a canvas with alpha), a ReferenceBlock
 * marking each non-key frame. `video: false` leaves the video track out. `keyFrame` (0–2, default 0) is which
 * of a key Cluster's three video frames is the keyframe: a muxer that cuts Clusters by time puts it mid-Cluster.
 * Cluster `c` has Timecode `c × clusterMs` (default 1) ms.
 */
function recorderStream(opts: {
  clusters: number;
  keyAt: number[];
  groups?: boolean;
  video?: boolean;
  keyFrame?: number;
  clusterMs?: number;
}) {
  const video = opts.video ?? true;
  const entries = [el([0xae], cat(uint([0xd7], 2), uint([0x83], 2), text([0x86], 'A_OPUS')))];
  if (video) entries.unshift(el([0xae], cat(uint([0xd7], 1), uint([0x83], 1), text([0x86], 'V_VP8'))));
  const head = cat(
    el([0x1a, 0x45, 0xdf, 0xa3], text([0x42, 0x82], 'webm')),
    new Uint8Array([0x18, 0x53, 0x80, 0x67, ...UNKNOWN_SIZE]),
    el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], new Uint8Array([0x0f, 0x42, 0x40]))),
    el([0x16, 0x54, 0xae, 0x6b], cat(...entries)),
  );
  const parts = [head];
  const offsets: number[] = [];
  let at = head.byteLength;
  for (let c = 0; c < opts.clusters; c++) {
    offsets.push(at);
    const key = opts.keyAt.includes(c);
    const t = c * (opts.clusterMs ?? 1);
    const timecode = new Uint8Array([t >>> 24, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff]);
    const frames: Uint8Array[] = [el([0xe7], timecode), el([0xa3], blockBody(2, true, 40))];
    for (let f = 0; f < 3 && video; f++) {
      const isKey = key && f === (opts.keyFrame ?? 0);
      frames.push(
        opts.groups
          ? el([0xa0], cat(el([0xa1], blockBody(1, false, 200 + f)), ...(isKey ? [] : [el([0xfb], new Uint8Array([0xff]))])))
          : el([0xa3], blockBody(1, isKey, 200 + f)),
      );
      frames.push(el([0xa3], blockBody(2, true, 40)));
    }
    const cluster = cat(new Uint8Array([0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN_SIZE]), ...frames);
    parts.push(cluster);
    at += cluster.byteLength;
  }
  return { bytes: cat(...parts), offsets, init: head.byteLength };
}

const feed = indexInChunks;

function chunkings(): Array<() => number> {
  let seed = 11;
  return [() => 1, () => 7, () => 1 << 20, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 300];
}

describe('ClusterIndex keyframe Clusters', () => {
  it('marks the Clusters that hold a video keyframe (SimpleBlocks, audio first), whatever the chunking', () => {
    const s = recorderStream({ clusters: 9, keyAt: [0, 4, 7] });
    for (const sizes of chunkings()) {
      const idx = feed(s.bytes, sizes);
      expect(idx.keyframes).toBe('video');
      expect(idx.recentClusters()).toEqual(s.offsets);
      expect(idx.recentKeyClusters()).toEqual([s.offsets[0], s.offsets[4], s.offsets[7]]);
      expect(idx.latestKeyCluster()).toBe(s.offsets[7]);
      expect(idx.latestKeyCluster(s.offsets[7]! - 1)).toBe(s.offsets[4]);
    }
  });

  it('tells keyframes in BlockGroups by the missing ReferenceBlock (Chromium recording a canvas)', () => {
    const s = recorderStream({ clusters: 6, keyAt: [0, 2, 5], groups: true });
    for (const sizes of chunkings()) expect(feed(s.bytes, sizes).recentKeyClusters()).toEqual([s.offsets[0], s.offsets[2], s.offsets[5]]);
  });

  it('marks a Cluster whose keyframe is not its first video block (Clusters cut by time), SimpleBlocks and BlockGroups alike', () => {
    for (const groups of [false, true]) {
      const s = recorderStream({ clusters: 9, keyAt: [0, 3, 6], keyFrame: 2, groups });
      for (const sizes of chunkings()) {
        const idx = feed(s.bytes, sizes);
        expect(idx.recentKeyClusters()).toEqual([s.offsets[0], s.offsets[3], s.offsets[6]]);
        expect(liveJoinPoint(idx, 0, true)).toBe(s.offsets[6]);
      }
    }
  });

  it('counts every Cluster of a stream without video as a start point', () => {
    const s = recorderStream({ clusters: 4, keyAt: [], video: false });
    const idx = feed(s.bytes, () => 33);
    expect(idx.keyframes).toBe('all');
    expect(idx.recentKeyClusters()).toEqual(s.offsets);
  });

  it('finds the same start points in the demo clips (known-size Clusters) as the stored seek index', async () => {
    for (const name of ['demo-testsrc.webm', 'demo-smpte.webm']) {
      const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, name)));
      const stored = await buildSeekIndex(async (o, n) => bytes.subarray(o, o + n), bytes.byteLength);
      const want = stored!.points.map((p) => p.offset);
      expect(want.length).toBeGreaterThan(5);
      for (const chunk of [1_000, 64 * 1024]) expect(feed(bytes, () => chunk).recentKeyClusters()).toEqual(want);
    }
  });
});

describe('an ffmpeg live feed looped past its clip (Clusters cut every 100 ms, keyframes drifting off their starts)', () => {
  // What `ffmpeg -re -stream_loop N -c copy -f webm -live 1 -cluster_time_limit 100` sends (the peers bench's feed):
  // in the first pass each keyframe opens a Cluster's video, after the loop it lands mid-Cluster. Until 2026-12-06
  // neither index saw a start point past the first 20 s: a viewer joining minutes in got everything from there.
  const bytes = new Uint8Array(
    execFileSync(
      'ffmpeg',
      [
        ...['-v', 'error', '-stream_loop', '2', '-i', join(MEDIA_DIR, 'demo-testsrc.webm')],
        ...['-c', 'copy', '-f', 'webm', '-live', '1', '-cluster_time_limit', '100', 'pipe:1'],
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    ),
  );

  it('a late joiner starts within a keyframe interval (1 s, 10 Clusters) of the edge', () => {
    const idx = feed(bytes, () => 64 * 1024);
    const recent = idx.recentClusters();
    expect(idx.clusterCount).toBeGreaterThan(500);
    expect(liveJoinPoint(idx, 0, true)).toBeGreaterThanOrEqual(recent[recent.length - 11]!);
  });

  it("the recording's seek index has a point every second to its end", async () => {
    const index = await buildSeekIndex(async (o, n) => bytes.subarray(o, o + n), bytes.byteLength);
    const times = index!.points.map((p) => p.timeMs);
    expect(index!.from).toBe('clusters');
    expect(times.at(-1)).toBeGreaterThan(58_000);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(1_050);
  });
});

describe('liveJoinPoint', () => {
  const s = recorderStream({ clusters: 9, keyAt: [0, 4, 7] });
  const idx = feed(s.bytes, () => 500);

  it('joins a live stream asked from its start at the newest keyframe Cluster, not at a newer Cluster without one', () => {
    expect(liveJoinPoint(idx, 0, true)).toBe(s.offsets[7]);
    expect(idx.latestCluster()).toBe(s.offsets[8]);
  });

  it('reads the file as is for a resume at an offset, a finished stream, or a stream with no start point past its first Cluster', () => {
    expect(liveJoinPoint(idx, 5_000, true)).toBeUndefined();
    expect(liveJoinPoint(idx, 0, false)).toBeUndefined();
    const young = recorderStream({ clusters: 3, keyAt: [0] });
    expect(
      liveJoinPoint(
        feed(young.bytes, () => 500),
        0,
        true,
      ),
    ).toBeUndefined();
    expect(liveJoinPoint(new ClusterIndex(), 0, true)).toBeUndefined();
  });

  it(`joins at the newest Cluster when the newest keyframe is more than ${MAX_LIVE_JOIN_BEHIND_MS} ms behind it (rare or stopped keyframes)`, () => {
    // Clusters 2 s apart: a keyframe 6 s behind the edge is joined at, one 12 s behind is not (a joiner would be handed 12 s at once).
    const near = recorderStream({ clusters: 9, keyAt: [0, 5], clusterMs: 2_000 });
    const nearIdx = feed(near.bytes, () => 700);
    expect(nearIdx.keyClusterBehindMs()).toBe(6_000);
    expect(liveJoinPoint(nearIdx, 0, true)).toBe(near.offsets[5]);
    const far = recorderStream({ clusters: 9, keyAt: [0, 2], clusterMs: 2_000 });
    for (const sizes of chunkings()) {
      const idx = feed(far.bytes, sizes);
      expect(idx.keyClusterBehindMs()).toBe(12_000);
      expect(liveJoinPoint(idx, 0, true)).toBe(far.offsets[8]);
    }
  });

  it('falls back to the newest Cluster when the index cannot tell keyframes', () => {
    const blind = {
      initBytes: s.init,
      latestCluster: () => s.offsets[8],
      latestKeyCluster: () => undefined,
      keyClusterBehindMs: () => undefined,
    };
    expect(liveJoinPoint(blind, 0, true)).toBe(s.offsets[8]);
  });
});

describe('a live source joins late when its viewer first reads', () => {
  const dirs: string[] = [];
  const writers: LiveWriter[] = [];
  afterEach(async () => {
    await Promise.all(writers.splice(0).map((w) => w.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a session opened while the stream had one Cluster starts at the newest keyframe Cluster once its channel opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-join-'));
    dirs.push(dir);
    const w = await LiveWriter.create({
      streamId: 'live-j',
      finalPath: join(dir, 'live-j.webm'),
      mime: 'video/webm',
      limits: { maxBitrateBps: 1e9, burstBytes: 1e9, maxBytes: 1e9 },
      fsyncIntervalMs: 10_000,
    });
    writers.push(w);
    const s = recorderStream({ clusters: 9, keyAt: [0, 4, 7] });
    w.append(0, 0, s.bytes.subarray(0, s.offsets[1]! - 10));
    // The hub opens the session now; the viewer's WebRTC set-up takes a while, the broadcast goes on.
    const src = createLiveSource(w, { offset: 0 });
    w.append(1, s.offsets[1]! - 10, s.bytes.subarray(s.offsets[1]! - 10));
    expect(src.joinedAt).toBe(s.offsets[7]);
    expect(src.skipBytes).toBe(s.offsets[7]! - s.init);
    expect(src.size()).toBe(s.init + s.bytes.byteLength - s.offsets[7]!);
    const head = await src.read(0, 1 << 20);
    expect(Buffer.from(head).equals(Buffer.from(s.bytes.subarray(0, s.init)))).toBe(true);
    const rest = await src.read(s.init, 1 << 20);
    expect(Buffer.from(rest).equals(Buffer.from(s.bytes.subarray(s.offsets[7]!)))).toBe(true);
    src.close();
  });
});
