// The ingest index's bounds: what it keeps per stream stays bounded, and Clusters that make no sense as media are refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FIRST_CLUSTERS, MAX_RECENT_CLUSTERS } from '../../node-app/ingest/cluster-offsets.js';
import {
  MAX_CLUSTERS_PER_MEDIA_SECOND,
  MAX_FRAMELESS_CLUSTERS,
  MIN_BYTES_PER_MEDIA_SECOND,
  MIN_MEAN_CLUSTER_BYTES,
  SENSE_WINDOW_CLUSTERS,
} from '../../node-app/ingest/cluster-sense.js';
import { cat, el, indexInChunks } from '../helpers/ebml-build.js';
import { makeOpusClusterPerFrame } from '../helpers/test-clip.js';

const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];
const text = (s: string) => new TextEncoder().encode(s);
/** The flood the reviewer sent: a Cluster id and a zero size, five bytes. */
const EMPTY_CLUSTER = new Uint8Array([0x1f, 0x43, 0xb6, 0x75, 0x80]);

/** EBML header, unknown-size Segment, Info, Tracks with one Opus track (every Cluster is a start point). */
function head(): Uint8Array {
  const header = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], text('webm')));
  const info = el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], new Uint8Array([0x0f, 0x42, 0x40])));
  const entry = el([0xae], cat(el([0xd7], new Uint8Array([1])), el([0x83], new Uint8Array([2])), el([0x86], text('A_OPUS'))));
  const segment = new Uint8Array([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  return cat(header, segment, info, el([0x16, 0x54, 0xae, 0x6b], entry));
}

/** A sized Cluster of exactly `bytes` bytes: its Timecode (ms), then one SimpleBlock of track 1 filling the rest. */
function cluster(timeMs: number, bytes: number): Uint8Array {
  const time = el([0xe7], new Uint8Array([(timeMs >>> 24) & 255, (timeMs >>> 16) & 255, (timeMs >>> 8) & 255, timeMs & 255]));
  // A Cluster's header and a SimpleBlock's are 12 and 9 bytes here (8-byte sizes); the block's head is 4.
  const payload = new Uint8Array(Math.max(4, bytes - 12 - time.byteLength - 9));
  payload[0] = 0x81;
  payload[3] = 0x80;
  return el(CLUSTER_ID, cat(time, el([0xa3], payload)));
}

function stream(n: number, stepMs: number, bytes: number): { bytes: Uint8Array; offsets: number[] } {
  const parts = [head()];
  const offsets: number[] = [];
  let at = parts[0]!.byteLength;
  for (let i = 0; i < n; i++) {
    const c = cluster(i * stepMs, bytes);
    offsets.push(at);
    parts.push(c);
    at += c.byteLength;
  }
  return { bytes: cat(...parts), offsets };
}

const chunks64k = () => 64 * 1024;

describe('ClusterIndex bounds', () => {
  it(`refuses ${MAX_FRAMELESS_CLUSTERS} Clusters in a row without a frame (the empty-Cluster flood), and stops indexing`, () => {
    const h = head();
    const flood = new Uint8Array(h.byteLength + 200_000 * EMPTY_CLUSTER.byteLength);
    flood.set(h);
    for (let at = h.byteLength; at < flood.byteLength; at += EMPTY_CLUSTER.byteLength) flood.set(EMPTY_CLUSTER, at);
    for (const size of [1, 7, 64 * 1024]) {
      const idx = indexInChunks(flood, () => size);
      expect(idx.refusal).toBe(`${MAX_FRAMELESS_CLUSTERS} Clusters in a row hold no frame`);
      expect(idx.stopped).toBe(true);
      // Indexing stopped at the refusal: the rest of the megabyte cost nothing and is not remembered.
      expect(idx.clusterCount).toBe(MAX_FRAMELESS_CLUSTERS);
      expect(idx.firstFrameEnd).toBeUndefined();
    }
  });

  it('takes frameless Clusters short of the run, and a run broken by a frame', () => {
    const framed = cluster(0, 400);
    const empties = (n: number) => Array.from({ length: n }, () => EMPTY_CLUSTER);
    const bytes = cat(head(), ...empties(MAX_FRAMELESS_CLUSTERS - 1), framed, ...empties(MAX_FRAMELESS_CLUSTERS - 1), framed);
    const idx = indexInChunks(bytes, chunks64k);
    expect(idx.refusal).toBeUndefined();
    expect(idx.clusterCount).toBe(2 * MAX_FRAMELESS_CLUSTERS);
  });

  it(`refuses Clusters averaging under ${MIN_MEAN_CLUSTER_BYTES} bytes over ${SENSE_WINDOW_CLUSTERS}, each with a frame`, () => {
    const tiny = stream(SENSE_WINDOW_CLUSTERS + 1, 100, 40);
    const idx = indexInChunks(tiny.bytes, chunks64k);
    expect(idx.refusal).toMatch(new RegExp(`^${SENSE_WINDOW_CLUSTERS} Clusters in \\d+ bytes`));
    expect(idx.firstFrameEnd).toBeDefined();
    // The same count of Clusters at the floor passes.
    expect(indexInChunks(stream(4 * SENSE_WINDOW_CLUSTERS, 100, MIN_MEAN_CLUSTER_BYTES).bytes, chunks64k).refusal).toBeUndefined();
  });

  it(`takes small Clusters carrying ${MIN_BYTES_PER_MEDIA_SECOND} bytes a second of media time or more, from the first window on`, () => {
    // 100-byte Clusters 20 ms apart (5 KB a second) pass; 100 bytes every 250 ms (400 a second) do not.
    expect(indexInChunks(stream(4 * SENSE_WINDOW_CLUSTERS, 20, 100).bytes, chunks64k).refusal).toBeUndefined();
    const sparse = indexInChunks(stream(SENSE_WINDOW_CLUSTERS + 1, 250, 100).bytes, chunks64k);
    expect(sparse.refusal).toMatch(new RegExp(`^${SENSE_WINDOW_CLUSTERS} Clusters in \\d+ bytes over 63750 ms of media time`));
  });

  it(`refuses more than ${MAX_CLUSTERS_PER_MEDIA_SECOND} Clusters a second of media time`, () => {
    // The first window sets the start time; the second is judged.
    const crowded = indexInChunks(stream(2 * SENSE_WINDOW_CLUSTERS + 1, 1, 400).bytes, chunks64k);
    expect(crowded.refusal).toMatch(new RegExp(`^${SENSE_WINDOW_CLUSTERS} Clusters in 256 ms of media time`));
    // 100 a second (10 ms apart) passes, and so do Timecodes that go back (a spliced file).
    expect(indexInChunks(stream(4 * SENSE_WINDOW_CLUSTERS, 10, 400).bytes, chunks64k).refusal).toBeUndefined();
    const spliced = cat(stream(2 * SENSE_WINDOW_CLUSTERS, 1_000, 400).bytes, ...Array.from({ length: 300 }, () => cluster(0, 400)));
    expect(indexInChunks(spliced, chunks64k).refusal).toBeUndefined();
  });

  it('keeps a bounded index of a long stream: the first and the newest Clusters, the newest cuts', () => {
    const n = 20_000;
    const s = stream(n, 40, 300);
    const idx = indexInChunks(s.bytes, chunks64k);
    expect(idx.refusal).toBeUndefined();
    expect(idx.clusterCount).toBe(n);
    expect(idx.recentClusters()).toEqual(s.offsets.slice(-MAX_RECENT_CLUSTERS));
    expect(idx.recentKeyClusters()).toEqual(s.offsets.slice(-MAX_RECENT_CLUSTERS));
    expect(idx.firstClusters).toEqual(s.offsets.slice(0, MAX_FIRST_CLUSTERS));
    expect(idx.latestCluster()).toBe(s.offsets[n - 1]);
    expect(idx.latestKeyCluster()).toBe(s.offsets[n - 1]);
    // A sized Cluster's end is a cut; a limit older than the newest Clusters falls back to the stream's first ones.
    expect(idx.latestCut()).toBe(s.bytes.byteLength);
    expect(idx.latestCut(s.offsets[n - 2]! + 5)).toBe(s.offsets[n - 2]);
    expect(idx.latestCluster(s.offsets[5]! + 1)).toBe(s.offsets[5]);
    expect(idx.latestKeyCluster(s.offsets[5]! + 1)).toBe(s.offsets[0]);
  });
});

describe('ClusterSense on low-latency audio (ffmpeg: a Cluster per Opus frame)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-cluster-sense-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // 20-ms frames: 50 Clusters a second of about 117 bytes; 10-ms frames: 100 a second of about 60.
  it.each([20, 10])('ingests 20 s of Opus at 32 kbit/s with a Cluster per %d-ms frame whole', (frameMs) => {
    const path = join(dir, `opus-${frameMs}.webm`);
    makeOpusClusterPerFrame(path, frameMs, 20);
    const bytes = new Uint8Array(readFileSync(path));
    const idx = indexInChunks(bytes, () => 4096);
    expect(idx.refusal).toBeUndefined();
    expect(idx.stopped).toBe(false);
    expect(idx.clusterCount).toBe(20_000 / frameMs);
    // Its Clusters are under the mean a Cluster must otherwise hold: the media-time rule is what lets it in.
    expect(bytes.byteLength / idx.clusterCount).toBeLessThan(MIN_MEAN_CLUSTER_BYTES);
  });
});
