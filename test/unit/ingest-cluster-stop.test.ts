// Where a file broadcast stopped early (Ctrl-C) ends: the first Cluster start at or after what was sent, whatever the chunking.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterStop } from '../../node-app/ingest/cluster-stop.js';
import { MEDIA_DIR } from '../helpers/cluster.js';
import { cat, el, indexInChunks } from '../helpers/ebml-build.js';

const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];

/** `bytes` up to `from` sent in `piece`-byte chunks, a stop, then looked ahead at in `piece`-byte chunks until a boundary shows. */
function stopAt(bytes: Uint8Array, from: number, piece: number): number | undefined {
  const s = new ClusterStop();
  for (let at = 0; at < from; at += piece) s.push(bytes.subarray(at, Math.min(from, at + piece)));
  s.stop();
  for (let at = from; s.boundary === undefined && at < bytes.byteLength; at += piece) s.push(bytes.subarray(at, at + piece));
  return s.boundary;
}

describe('ClusterStop', () => {
  const file = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm')));
  const offsets = indexInChunks(file, () => 64 * 1024).recentClusters();

  it('ends a real file at the first Cluster that starts at or after the stop, for stops anywhere and any chunking', () => {
    expect(offsets.length).toBeGreaterThan(3);
    const last = offsets.at(-1)!;
    for (const piece of [1_000, 7_919, 64 * 1024])
      for (let from = 0; from <= last; from += 9_973) expect(stopAt(file, from, piece)).toBe(offsets.find((o) => o >= from));
    // At a Cluster start: nothing more is sent.
    for (const o of offsets.slice(0, 3)) expect(stopAt(file, o, 4_096)).toBe(o);
    // Inside the last Cluster: no boundary before the file's end, which ends the stream.
    expect(stopAt(file, last + 1, 4_096)).toBeUndefined();
  });

  it('is not fooled by the Cluster id inside a frame, and only the first stop counts', () => {
    const header = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], new TextEncoder().encode('webm')));
    const tracks = el([0x16, 0x54, 0xae, 0x6b], el([0xae], el([0x86], new TextEncoder().encode('V_VP8'))));
    const segmentHead = new Uint8Array([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const frame = el([0xa3], cat(new Uint8Array([0x81, 0, 0, 0x80]), ...Array.from({ length: 50 }, () => new Uint8Array(CLUSTER_ID))));
    const cluster = (t: number) => cat(el(CLUSTER_ID, null), el([0xe7], new Uint8Array([t])), frame, frame);
    const head = cat(header, segmentHead, tracks);
    const bytes = cat(head, cluster(0), cluster(1), cluster(2));
    const second = head.byteLength + cluster(0).byteLength;
    // Stopped inside the first Cluster's frames, where the id shows over and over: the second Cluster's start.
    expect(stopAt(bytes, head.byteLength + 30, 16)).toBe(second);
    const s = new ClusterStop();
    s.push(bytes.subarray(0, head.byteLength + 30));
    s.stop();
    s.push(bytes.subarray(head.byteLength + 30, second + 20));
    s.stop();
    expect(s.boundary).toBe(second);
  });
});
