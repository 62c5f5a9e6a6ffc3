// The seek index: keyframe Clusters and their times from the Cues, or from a Cluster scan for recordings without Cues.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSeekIndex,
  MAX_SCANNED_CLUSTERS,
  MAX_SEEK_POINTS,
  MIN_SEEK_POINT_GAP_MS,
  SCAN_CHUNK_BYTES,
  seekPointAt,
  type SeekIndex,
} from '../../node-app/storage/seek-index.js';
import { PROBE_HEAD_BYTES, probeWebm, readHeader } from '../../node-app/storage/webm-probe.js';
import { makeOpusClusterPerFrame, remuxAsRecording } from '../helpers/test-clip.js';

const CLUSTER = [0x1f, 0x43, 0xb6, 0x75];
const KEYFRAME_EVERY_S = 2;
const CLIP_S = 20;

let dir = '';
let withCues: Uint8Array;
let noCues: Uint8Array;

/** A reader over bytes that counts what it read. */
function reader(bytes: Uint8Array) {
  const r = {
    bytesRead: 0,
    read: async (o: number, l: number) => {
      const out = bytes.slice(o, Math.min(bytes.byteLength, o + l));
      r.bytesRead += out.byteLength;
      return out;
    },
  };
  return r;
}

const index = (bytes: Uint8Array) => buildSeekIndex(reader(bytes).read, bytes.byteLength);

/** What MediaRecorder writes: every Cluster with the "unknown size" marker (same vint length, all ones). */
function unknownSizeClusters(bytes: Uint8Array, clusters: number[]): Uint8Array {
  const out = bytes.slice();
  for (const at of clusters) {
    const len = Math.clz32(out[at + 4]!) - 23;
    out[at + 4] = (0x100 >> len) | (0xff >> len);
    for (let i = 1; i < len; i++) out[at + 4 + i] = 0xff;
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-seek-index-'));
  const cues = join(dir, 'cues.webm');
  const live = join(dir, 'live.webm');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=160x120:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(CLIP_S),
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-g',
    String(30 * KEYFRAME_EVERY_S),
    '-keyint_min',
    String(30 * KEYFRAME_EVERY_S),
    '-b:v',
    '200k',
    '-c:a',
    'libopus',
    '-b:a',
    '32k',
    cues,
  ]);
  // `-live 1`: no Cues, no Duration, as a recording of a broadcast is stored.
  remuxAsRecording(cues, live);
  withCues = new Uint8Array(readFileSync(cues));
  noCues = new Uint8Array(readFileSync(live));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectKeyframeClusters(idx: SeekIndex | undefined, bytes: Uint8Array): void {
  expect(idx).toBeDefined();
  const points = idx!.points;
  expect(points.length).toBe(CLIP_S / KEYFRAME_EVERY_S);
  points.forEach((p, i) => {
    expect([...bytes.subarray(p.offset, p.offset + 4)]).toEqual(CLUSTER);
    // One point per keyframe interval, at (about) its keyframe.
    expect(Math.abs(p.timeMs - i * KEYFRAME_EVERY_S * 1000)).toBeLessThan(100);
  });
  expect(points[0]!.offset).toBe(idx!.initBytes);
}

describe('buildSeekIndex', () => {
  it('reads the Cues of an ffmpeg file, without reading the media', async () => {
    const r = reader(withCues);
    const idx = await buildSeekIndex(r.read, withCues.byteLength);
    expect(idx?.from).toBe('cues');
    expectKeyframeClusters(idx, withCues);
    // The head, the Cues and two Cluster headers: none of the media between them.
    expect(r.bytesRead).toBeLessThan(PROBE_HEAD_BYTES + 16 * 1024);
  });

  it('scans the Clusters of a recording without Cues', async () => {
    const idx = await index(noCues);
    expect(idx?.from).toBe('clusters');
    expectKeyframeClusters(idx, noCues);
  });

  it('stops scanning at Clusters that are not media: a stored file of empty Clusters is not read through', async () => {
    const head = noCues.subarray(0, Buffer.from(noCues).indexOf(Buffer.from(CLUSTER)));
    const withEmpties = (before: Uint8Array) => {
      const out = new Uint8Array(before.byteLength + 2_000_000 * 5);
      out.set(before);
      for (let at = before.byteLength; at < out.byteLength; at += 5) out.set([0x1f, 0x43, 0xb6, 0x75, 0x80], at);
      return out;
    };
    const flood = withEmpties(head);
    const r = reader(flood);
    expect(await buildSeekIndex(r.read, flood.byteLength)).toBeUndefined();
    // 10 MB of empty Clusters: the scan gave up in its first window.
    expect(r.bytesRead).toBeLessThan(PROBE_HEAD_BYTES + 2 * SCAN_CHUNK_BYTES);
    // After real media the points before them stay.
    expect((await index(withEmpties(noCues)))?.points).toEqual((await index(noCues))?.points);
  });

  it('scans a recording with a Cluster per 20-ms Opus frame through: a point each 500 ms, a seek to 50 s of 60 starts at 50 s', async () => {
    const path = join(dir, 'opus-20ms-live.webm');
    makeOpusClusterPerFrame(path, 20, 60, true);
    const idx = await index(new Uint8Array(readFileSync(path)));
    expect(idx?.from).toBe('clusters');
    // Every Cluster of an audio-only file could be a point: 3,000 of about 126 bytes, none refused; one each 500 ms kept.
    expect(idx!.points.length).toBe(60_000 / MIN_SEEK_POINT_GAP_MS);
    const p = seekPointAt(idx!, 50_000);
    expect(p.timeMs).toBeGreaterThan(50_000 - MIN_SEEK_POINT_GAP_MS);
    expect(p.timeMs).toBeLessThanOrEqual(50_000);
    // The same file with its Cues (a cue per Cluster) is thinned alike.
    const withCuesPath = join(dir, 'opus-20ms.webm');
    makeOpusClusterPerFrame(withCuesPath, 20, 60);
    const fromCues = await index(new Uint8Array(readFileSync(withCuesPath)));
    expect(fromCues?.from).toBe('cues');
    expect(fromCues!.points.length).toBe(60_000 / MIN_SEEK_POINT_GAP_MS);
  });

  it('keeps points to the end of a 2-hour file with a Cluster per 20-ms frame (360,000 Clusters, past MAX_SEEK_POINTS)', async () => {
    const path = join(dir, 'opus-20ms-head.webm');
    makeOpusClusterPerFrame(path, 20, 1, true);
    const real = new Uint8Array(readFileSync(path));
    const head = real.subarray(0, Buffer.from(real).indexOf(Buffer.from(CLUSTER)));
    const probe = probeWebm(head);
    expect(probe.timecodeScaleNs).toBe(1_000_000);
    const track = probe.tracks.find((t) => t.type === 'audio')!.number!;
    // A Cluster of 26 bytes: a 3-byte Timecode and one SimpleBlock of 8 bytes of payload (1,300 B a media-second: real
    // Opus at its lowest rate makes more, and nothing a scan refuses).
    const cluster = (t: number) => [
      ...[0x1f, 0x43, 0xb6, 0x75, 0x80 | 21, 0xe7, 0x83, (t >>> 16) & 255, (t >>> 8) & 255, t & 255],
      ...[0xa3, 0x80 | 12, 0x80 | track, 0x00, 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8],
    ];
    const n = 2 * 3600 * 50;
    expect(n).toBeGreaterThan(MAX_SEEK_POINTS);
    const file = new Uint8Array(head.byteLength + n * 26);
    file.set(head);
    for (let i = 0; i < n; i++) file.set(cluster(i * 20), head.byteLength + i * 26);
    const idx = (await index(file))!;
    expect(idx.points.length).toBe((2 * 3600 * 1000) / MIN_SEEK_POINT_GAP_MS);
    // A seek near the end starts at most MIN_SEEK_POINT_GAP_MS before it, at a Cluster.
    const target = 2 * 3600 * 1000 - 1_234;
    const p = seekPointAt(idx, target);
    expect(target - p.timeMs).toBeLessThan(MIN_SEEK_POINT_GAP_MS);
    expect(target - p.timeMs).toBeGreaterThanOrEqual(0);
    expect(p.offset).toBe(head.byteLength + (p.timeMs / 20) * 26);
  }, 60_000);

  it(`reads Clusters the ingest would refuse (17 bytes, 1 ms apart) and stops after ${MAX_SCANNED_CLUSTERS}, points or not`, async () => {
    const head = noCues.subarray(0, Buffer.from(noCues).indexOf(Buffer.from(CLUSTER)));
    // 17-byte Clusters with a video block that is no keyframe: none is a point, each costs the scan a read. Only
    // frameless runs stop a scan: these are 1,000 a second of media time and 17 KB a second, refused on ingest.
    const video = probeWebm(head).tracks.find((t) => t.type === 'video')!.number!;
    const block = (t: number, key: boolean) => [
      ...[0x1f, 0x43, 0xb6, 0x75, 0x8c, 0xe7, 0x84, (t >>> 24) & 255, (t >>> 16) & 255, (t >>> 8) & 255, t & 255],
      ...[0xa3, 0x84, 0x80 | video, 0x00, 0x00, key ? 0x80 : 0x00],
    ];
    const n = MAX_SCANNED_CLUSTERS + 1;
    const file = new Uint8Array(head.byteLength + n * 17);
    file.set(head);
    for (let i = 0; i < n; i++) file.set(block(i, i === 0 || i >= n - 2), head.byteLength + i * 17);
    // The last keyframe Cluster within the bound is a point; the one past it is not read.
    const idx = await index(file);
    expect(idx?.points.map((p) => p.offset)).toEqual([head.byteLength, head.byteLength + (n - 2) * 17]);
  }, 120_000);

  it('scans unknown-size Clusters (what MediaRecorder writes) to the same points', async () => {
    const known = (await index(noCues))!;
    const unknown = unknownSizeClusters(
      noCues,
      known.points.map((p) => p.offset),
    );
    const h = readHeader(new DataView(unknown.buffer), known.points[1]!.offset);
    expect(h?.size).toBeUndefined();
    const idx = await index(unknown);
    expect(idx?.points).toEqual(known.points);
  });

  it('does not trust Cues that point outside the file: it scans instead', async () => {
    const idx = (await index(withCues))!;
    // Cut the file inside its last Cluster: the Cues (at the end) are gone, the SeekHead still names them.
    const cut = withCues.slice(0, idx.points[idx.points.length - 1]!.offset + 1000);
    const scanned = await index(cut);
    expect(scanned?.from).toBe('clusters');
    expect(scanned?.points.map((p) => p.offset)).toEqual(idx.points.map((p) => p.offset));
  });

  it('gives nothing for bytes that are not WebM', async () => {
    expect(await index(new Uint8Array(4096).fill(7))).toBeUndefined();
    expect(await index(withCues.slice(0, 200))).toBeUndefined();
  });
});

describe('seekPointAt', () => {
  const idx: SeekIndex = {
    from: 'cues',
    initBytes: 100,
    points: [
      { timeMs: 0, offset: 100 },
      { timeMs: 2000, offset: 900 },
      { timeMs: 4000, offset: 2000 },
    ],
  };
  it.each([
    [-5, 100],
    [0, 100],
    [1999, 100],
    [2000, 900],
    [3500, 900],
    [4000, 2000],
    [3_600_000, 2000],
  ])('plays %d ms from byte %d', (t, offset) => {
    expect(seekPointAt(idx, t).offset).toBe(offset);
  });

  it('finds 2:30 of a 5-minute index at the keyframe before it', () => {
    const points = Array.from({ length: 150 }, (_, i) => ({ timeMs: i * 2000 + 7, offset: 1000 + i * 50_000 }));
    const p = seekPointAt({ from: 'cues', initBytes: 1000, points }, 150_000);
    expect(p).toEqual({ timeMs: 148_007, offset: 1000 + 74 * 50_000 });
  });
});
