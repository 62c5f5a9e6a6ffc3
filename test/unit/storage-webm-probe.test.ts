// The minimal WebM head reader: codecs and MIME, duration, init-segment end, and garbage tolerance.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { mimeFor, probeWebm } from '../../node-app/storage/webm-probe.js';

const MEDIA_DIR = resolve(import.meta.dirname, '../../var/media');
const head = (id: string, n = 256 * 1024) => new Uint8Array(readFileSync(resolve(MEDIA_DIR, `${id}.webm`)).subarray(0, n));

/** One EBML element: id bytes, a size vint (8 bytes, or the unknown-size marker), then data. */
function el(id: number[], data: number[] | null): number[] {
  if (data === null) return [...id, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  if (data.length > 126) throw new Error('fixture elements stay small');
  return [...id, 0x80 | data.length, ...data];
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** What MediaRecorder writes for a live stream: unknown-size Segment and Cluster, no Duration. */
function liveRecording(codecIds: Array<[type: number, codec: string]>): Uint8Array {
  const header = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], ascii('webm')));
  const info = el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40]));
  const entries = codecIds.flatMap(([type, codec], i) =>
    el([0xae], [...el([0xd7], [i + 1]), ...el([0x83], [type]), ...el([0x86], ascii(codec))]),
  );
  const tracks = el([0x16, 0x54, 0xae, 0x6b], entries);
  const cluster = [...el([0x1f, 0x43, 0xb6, 0x75], null), ...el([0xe7], [0])];
  const segmentHead = el([0x18, 0x53, 0x80, 0x67], null);
  return Uint8Array.from([...header, ...segmentHead, ...info, ...tracks, ...cluster]);
}

describe('probeWebm', () => {
  it.each([
    ['demo-testsrc', 'video/webm; codecs="vp8, opus"', 20_008],
    ['demo-mandelbrot', 'video/webm; codecs="vp9, opus"', 20_008],
    ['demo-smpte', 'video/webm; codecs="vp8, opus"', 30_008],
  ])('reads %s: %s, about %d ms', (id, mime, durationMs) => {
    const bytes = head(id);
    const p = probeWebm(bytes);
    expect(p.docType).toBe('webm');
    expect(p.complete).toBe(true);
    expect(mimeFor(p)).toBe(mime);
    expect(Math.abs(p.durationMs! - durationMs)).toBeLessThan(100);
    // The init segment ends where the first Cluster element starts.
    expect([...bytes.subarray(p.firstClusterOffset!, p.firstClusterOffset! + 4)]).toEqual([0x1f, 0x43, 0xb6, 0x75]);
  });

  it('reads a live recording with unknown sizes and no duration', () => {
    const bytes = liveRecording([
      [1, 'V_VP9'],
      [2, 'A_OPUS'],
    ]);
    const p = probeWebm(bytes);
    expect(p.complete).toBe(true);
    expect(p.durationMs).toBeUndefined();
    expect(mimeFor(p)).toBe('video/webm; codecs="vp9, opus"');
    expect(bytes[p.firstClusterOffset!]).toBe(0x1f);
  });

  it('names audio-only files audio/webm and puts video first whatever the track order', () => {
    expect(mimeFor(probeWebm(liveRecording([[2, 'A_VORBIS']])))).toBe('audio/webm; codecs="vorbis"');
    expect(
      mimeFor(
        probeWebm(
          liveRecording([
            [2, 'A_OPUS'],
            [1, 'V_VP8'],
          ]),
        ),
      ),
    ).toBe('video/webm; codecs="vp8, opus"');
  });

  it('leaves codecs out rather than guessing an unknown CodecID', () => {
    expect(mimeFor(probeWebm(liveRecording([[1, 'V_XXX']])))).toBe('video/webm');
    // H.264 without its AVCDecoderConfigurationRecord: Matroska, profile unknown.
    expect(mimeFor(probeWebm(liveRecording([[1, 'V_MPEG4/ISO/AVC']])))).toBe('video/x-matroska');
  });

  it('reports an incomplete head instead of failing', () => {
    const p = probeWebm(head('demo-testsrc', 200));
    expect(p.complete).toBe(false);
    expect(p.tracks).toEqual([]);
    expect(mimeFor(p)).toBe('video/webm');
  });

  it('never throws on arbitrary bytes', () => {
    const real = head('demo-smpte', 4096);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 0, max: 4095 }), (noise, at) => {
        expect(() => probeWebm(noise)).not.toThrow();
        const corrupted = real.slice();
        corrupted.set(noise.subarray(0, Math.min(64, corrupted.length - at)), at);
        expect(() => mimeFor(probeWebm(corrupted))).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
