// A live WebM stream's frames block by block: SimpleBlocks and BlockGroups (Chromium's MediaRecorder writes its video in BlockGroups), keyframes told apart.
import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../../node-app/contracts.js';
import { MAX_LIVE_ELEMENT_BYTES, liveFrames } from '../../node-app/whep/live-frames.js';
import type { MediaFrame } from '../../node-app/whep/webm-packets.js';

/** An EBML element: its ID bytes, an 8-byte size (or the unknown-size marker), its payload. */
function el(id: number[], payload: Uint8Array | number[] | null): Uint8Array {
  const body = payload === null ? new Uint8Array(0) : Uint8Array.from(payload);
  const size = payload === null ? [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : [0x01, 0, 0, 0, 0, 0, 0, body.byteLength];
  return Uint8Array.from([...id, ...size, ...body]);
}
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
/** A block body: track 1 or 2 (one-byte vint), a relative time (ms), flags, the frame. */
const body = (track: number, relMs: number, flags: number, frame: number[]) => [
  0x80 | track,
  (relMs >> 8) & 0xff,
  relMs & 0xff,
  flags,
  ...frame,
];

function source(bytes: Uint8Array): ByteSource {
  return {
    assetId: 'a',
    size: () => bytes.byteLength,
    isLive: () => false,
    read: async (o, l) => bytes.subarray(o, o + l),
    close: () => undefined,
  };
}

describe('liveFrames', () => {
  it('reads SimpleBlocks and BlockGroups of an unknown-size Segment and Cluster, a BlockGroup without ReferenceBlock being a keyframe', async () => {
    const bytes = cat(
      el([0x1a, 0x45, 0xdf, 0xa3], [0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d]),
      el([0x18, 0x53, 0x80, 0x67], null),
      el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40])), // TimestampScale 1,000,000 ns
      el([0x16, 0x54, 0xae, 0x6b], [0xae, 0x80]), // Tracks: skipped whole
      el([0x1f, 0x43, 0xb6, 0x75], null),
      el([0xe7], [0x07, 0xd0]), // Cluster timestamp 2,000 ms
      el([0xa0], el([0xa1], body(1, 0, 0, [1, 2, 3]))),
      el([0xa3], body(2, 5, 0x80, [9])),
      el([0xa0], cat(el([0xa1], body(1, 33, 0, [4, 5])), el([0xfb], [0xdf]))),
      el([0xa3], body(3, 40, 0x80, [7])), // a track nobody plays
    );
    const out: MediaFrame[] = [];
    const tracks = new Map([
      [1, 'video' as const],
      [2, 'audio' as const],
    ]);
    for await (const f of liveFrames(source(bytes), { tracks, pollMs: 5, closed: () => false })) out.push(f);
    expect(out.map((f) => [f.kind, f.timestampS, f.key, [...f.data]])).toEqual([
      ['video', 2, true, [1, 2, 3]],
      ['audio', 2.005, true, [9]],
      ['video', 2.033, false, [4, 5]],
    ]);
  });

  it('refuses an element larger than MAX_LIVE_ELEMENT_BYTES instead of holding it', async () => {
    const n = MAX_LIVE_ELEMENT_BYTES + 1;
    const huge = Uint8Array.from([0xa3, 0x01, 0, 0, 0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, 0x81, 0, 0, 0x80]);
    const bytes = cat(el([0x18, 0x53, 0x80, 0x67], null), el([0x1f, 0x43, 0xb6, 0x75], null), huge);
    const read = async () => {
      for await (const _ of liveFrames(source(bytes), { tracks: new Map([[1, 'video']]), pollMs: 5, closed: () => false }));
    };
    await expect(read()).rejects.toThrow(/no usable size/);
  });
});
