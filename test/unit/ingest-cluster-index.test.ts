// The incremental Cluster index: same answer whatever the chunking, for known-size (ffmpeg) and unknown-size (MediaRecorder) Clusters.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterIndex } from '../../node-app/ingest/cluster-index.js';
import { probeWebm } from '../../node-app/storage/webm-probe.js';
import { MEDIA_DIR } from '../helpers/cluster.js';
import { cat, el, indexInChunks } from '../helpers/ebml-build.js';

const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];

/** A MediaRecorder-shaped stream: unknown-size Segment and Clusters. Returns it with the Cluster offsets. */
function recorderStream(clusters: number): { bytes: Uint8Array; offsets: number[]; init: number } {
  const header = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], new TextEncoder().encode('webm')));
  const info = el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], new Uint8Array([0x0f, 0x42, 0x40])));
  const tracks = el([0x16, 0x54, 0xae, 0x6b], el([0xae], el([0x86], new TextEncoder().encode('V_VP8'))));
  const segmentHead = cat(new Uint8Array([0x18, 0x53, 0x80, 0x67]), new Uint8Array([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  const parts = [header, segmentHead, info, tracks];
  let at = parts.reduce((n, p) => n + p.byteLength, 0);
  const init = at;
  const offsets: number[] = [];
  for (let c = 0; c < clusters; c++) {
    offsets.push(at);
    const blocks = [el([0xe7], new Uint8Array([c]))];
    for (let b = 0; b < 5 + c; b++) blocks.push(el([0xa3], new Uint8Array(100 + 37 * b).fill(c)));
    const cluster = cat(el(CLUSTER_ID, null), ...blocks);
    parts.push(cluster);
    at += cluster.byteLength;
  }
  return { bytes: cat(...parts), offsets, init };
}

const feed = indexInChunks;

describe('ClusterIndex', () => {
  it('indexes unknown-size Clusters (MediaRecorder) fed one byte at a time', () => {
    const s = recorderStream(6);
    const idx = feed(s.bytes, () => 1);
    expect(idx.initBytes).toBe(s.init);
    expect(idx.recentClusters()).toEqual(s.offsets);
    expect(idx.stopped).toBe(false);
  });

  it('gives the same index for any chunking', () => {
    const s = recorderStream(10);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 700;
    for (let run = 0; run < 20; run++) expect(feed(s.bytes, rnd).recentClusters()).toEqual(s.offsets);
  });

  it('indexes a demo clip (known-size Clusters): every offset is a Cluster id, the first ends the init segment', () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const idx = feed(bytes, () => 16_000);
    expect(idx.initBytes).toBe(probeWebm(bytes.subarray(0, 256 * 1024)).firstClusterOffset);
    // 20 s with a Cluster per second.
    expect(idx.clusterCount).toBeGreaterThanOrEqual(19);
    for (const at of idx.recentClusters()) expect([...bytes.subarray(at, at + 4)]).toEqual(CLUSTER_ID);
    expect(idx.latestCluster()).toBe(idx.recentClusters().at(-1));
    expect(idx.latestCluster(idx.recentClusters()[3]! + 1)).toBe(idx.recentClusters()[3]);
  });

  it('stops (keeping what it had) on garbage, and never throws', () => {
    const s = recorderStream(3);
    const idx = new ClusterIndex();
    idx.push(s.bytes.subarray(0, s.offsets[2]!));
    idx.push(new Uint8Array(64)); // a zero byte is never a valid element id
    idx.push(s.bytes.subarray(s.offsets[2]!));
    expect(idx.stopped).toBe(true);
    expect(idx.recentClusters()).toEqual(s.offsets.slice(0, 2));
    const junk = new ClusterIndex();
    junk.push(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    expect(junk.initBytes).toBeUndefined();
  });

  it('cuts after the last whole block of an unknown-size Cluster, never inside a block', () => {
    const s = recorderStream(3);
    const last = s.offsets[2]!;
    // Block ends of the last Cluster: its Timecode, then blocks of 100 + 37·b bytes (headers 9 B).
    const ends: number[] = [];
    let at = last + 12 + 10;
    for (let b = 0; b < 7; b++) ends.push((at += 9 + 100 + 37 * b));
    expect(ends.at(-1)).toBe(s.bytes.byteLength);
    for (const [limit, want] of [
      [ends[3]! + 50, ends[3]!],
      [ends[3]!, ends[3]!],
      [last + 15, last],
      [s.bytes.byteLength, ends.at(-1)!],
    ] as const) {
      for (const chunk of [1, 333, 100_000]) expect(feed(s.bytes.subarray(0, limit), () => chunk).latestCut()).toBe(want);
      // A limit below what was pushed (the disk lagging the memory) is honoured too.
      expect(feed(s.bytes, () => 333).latestCut(limit)).toBe(want);
    }
  });

  it('cuts a known-size Cluster stream only at Cluster boundaries', () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const idx = feed(bytes.subarray(0, idx0(bytes) + 5_000), () => 16_000);
    expect(idx.latestCut()).toBe(idx.latestCluster());
    const whole = feed(bytes, () => 16_000);
    expect(whole.latestCut(whole.recentClusters()[5]! + 10)).toBe(whole.recentClusters()[5]);
  });

  it('cuts after the Cues a file ends with, once they are whole: the whole file is a valid prefix of itself', () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const whole = feed(bytes, () => 16_000);
    const last = whole.recentClusters().at(-1)!;
    // The clip's last Cluster is followed by its Cues (0x1C53BB6B) up to the end.
    const lastEnd = feed(bytes.subarray(0, last + 1), () => 16_000).latestCut(Infinity);
    expect(lastEnd).toBe(last);
    const cuesAt = Buffer.from(bytes).indexOf(Buffer.from([0x1c, 0x53, 0xbb, 0x6b]), last);
    expect(cuesAt).toBeGreaterThan(last);
    expect(whole.latestCut()).toBe(bytes.length);
    // Torn inside the Cues: the cut stays at the end of the last Cluster.
    expect(feed(bytes.subarray(0, bytes.length - 1), () => 16_000).latestCut()).toBe(cuesAt);
  });
});

describe('ClusterIndex Cluster times', () => {
  const timesOf = (bytes: Uint8Array, sizes: () => number) => {
    const times: number[] = [];
    const idx = indexInChunks(bytes, sizes, (t) => times.push(t));
    return { times, clusters: idx.clusterCount };
  };

  it('reports each Cluster Timecode once it arrived, whatever the chunking (unknown-size Clusters)', () => {
    const s = recorderStream(6);
    for (const size of [1, 3, 7, 1 << 20]) expect(timesOf(s.bytes, () => size).times).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reports the Cluster times of an ffmpeg file (sized Clusters) in ms, the same in 1-byte and whole pushes', () => {
    const bytes = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const whole = timesOf(bytes, () => bytes.byteLength);
    expect(whole.times).toHaveLength(whole.clusters);
    expect(whole.times[0]).toBe(0);
    for (let i = 1; i < whole.times.length; i++) expect(whole.times[i]!).toBeGreaterThan(whole.times[i - 1]!);
    // A 20-s clip: its last Cluster starts within its last seconds.
    expect(whole.times.at(-1)!).toBeGreaterThan(15_000);
    expect(whole.times.at(-1)!).toBeLessThan(20_000);
    expect(timesOf(bytes, () => 1).times).toEqual(whole.times);
  });

  it('leaves out a Cluster whose first child is not a Timecode', () => {
    const s = recorderStream(2);
    const t = s.offsets[1]! + 4 + 8; // the second Cluster's first child, after its id and unknown size
    const bytes = s.bytes.slice();
    bytes[t] = 0xa3; // a SimpleBlock id where the Timecode was
    expect(timesOf(bytes, () => 5).times).toEqual([0]);
  });
});

/** A little way into the third Cluster of a clip. */
function idx0(bytes: Uint8Array): number {
  return feed(bytes, () => 16_000).recentClusters()[2]!;
}
