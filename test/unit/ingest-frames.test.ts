// The ingest channel's framing: chunks round-trip, and every malformed or oversized frame is refused, never thrown.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHUNK_HEADER_BYTES,
  MAX_CHUNK_PAYLOAD_BYTES,
  MAX_SEQ,
  decodeIngestClientFrame,
  decodeIngestServerFrame,
  encodeChunk,
  encodeIngestControl,
} from '../../signaling/protocol/ingest-frames.js';
import { MAX_FRAME_BYTES, encodeMedia } from '../../signaling/protocol/frames.js';

describe('ingest frames', () => {
  it('round-trips chunks of any size up to the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_SEQ }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: MAX_CHUNK_PAYLOAD_BYTES }),
        (seq, offset, n) => {
          const payload = new Uint8Array(n).map((_, i) => (i * 7 + seq) & 0xff);
          const frame = encodeChunk(seq, offset, payload);
          expect(frame.byteLength).toBe(n + CHUNK_HEADER_BYTES);
          expect(frame.byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
          const r = decodeIngestClientFrame(frame);
          expect(r.ok).toBe(true);
          if (!r.ok || r.frame.kind !== 'chunk') return;
          expect(r.frame.seq).toBe(seq);
          expect(r.frame.offset).toBe(offset);
          expect(Buffer.from(r.frame.payload).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses to encode empty or oversized payloads and bad sequence numbers', () => {
    expect(() => encodeChunk(0, 0, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeChunk(0, 0, new Uint8Array(MAX_CHUNK_PAYLOAD_BYTES + 1))).toThrow(RangeError);
    expect(() => encodeChunk(-1, 0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => encodeChunk(MAX_SEQ + 1, 0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => encodeChunk(0, -5, new Uint8Array(1))).toThrow(RangeError);
  });

  it('refuses an oversized binary frame with too-large', () => {
    const big = new Uint8Array(MAX_FRAME_BYTES + 1);
    big[0] = 0x02;
    const r = decodeIngestClientFrame(big);
    expect(r).toMatchObject({ ok: false, code: 'too-large' });
  });

  it('refuses delivery media frames, header-only frames and unknown kinds', () => {
    expect(decodeIngestClientFrame(encodeMedia(0, new Uint8Array(4)))).toMatchObject({ ok: false, code: 'bad-frame' });
    expect(decodeIngestClientFrame(new Uint8Array(CHUNK_HEADER_BYTES).fill(0).map((_, i) => (i === 0 ? 2 : 0)))).toMatchObject({
      ok: false,
      code: 'bad-frame',
    });
    expect(decodeIngestClientFrame(new Uint8Array([0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]))).toMatchObject({
      ok: false,
      code: 'bad-frame',
    });
    expect(decodeIngestClientFrame(42)).toMatchObject({ ok: false, code: 'bad-frame' });
  });

  it('validates control messages', () => {
    expect(decodeIngestClientFrame(encodeIngestControl({ t: 'hello', streamId: 'live-1', mime: 'video/webm' }))).toMatchObject({
      ok: true,
      frame: { kind: 'control', msg: { t: 'hello' } },
    });
    expect(decodeIngestClientFrame(JSON.stringify({ t: 'hello', streamId: '../etc', mime: 'video/webm' }))).toMatchObject({
      ok: false,
      code: 'bad-request',
    });
    expect(decodeIngestClientFrame(JSON.stringify({ t: 'end', bytes: 10, sha256: 'nothex' }))).toMatchObject({
      ok: false,
      code: 'bad-request',
    });
    expect(decodeIngestClientFrame(JSON.stringify({ t: 'end', bytes: 10, extra: 1 }))).toMatchObject({ ok: false, code: 'bad-request' });
    expect(decodeIngestClientFrame('{not json')).toMatchObject({ ok: false, code: 'bad-frame' });
    expect(decodeIngestClientFrame('x'.repeat(10_000))).toMatchObject({ ok: false, code: 'bad-frame' });
    expect(decodeIngestServerFrame(encodeIngestControl({ t: 'ack', seq: 3, bytes: 100 }))).toMatchObject({
      ok: true,
      frame: { msg: { t: 'ack', seq: 3 } },
    });
    expect(decodeIngestServerFrame(JSON.stringify({ t: 'ack', seq: -1, bytes: 0 }))).toMatchObject({ ok: false });
    expect(decodeIngestServerFrame(new Uint8Array(3))).toMatchObject({ ok: false, code: 'bad-frame' });
  });
});
