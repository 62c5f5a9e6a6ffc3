// The delivery channel's framing: round trips, and strict, non-throwing decoding of bad input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_CONTROL_FRAME_CHARS,
  MAX_FRAME_BYTES,
  MAX_MEDIA_PAYLOAD_BYTES,
  MEDIA_HEADER_BYTES,
  decodeClientFrame,
  decodeServerFrame,
  encodeControl,
  encodeMedia,
  type ClientControl,
  type ServerControl,
} from '../../signaling/protocol/frames.js';

const meta: ServerControl = {
  t: 'meta',
  assetId: 'demo-testsrc',
  mime: 'video/webm; codecs="vp8, opus"',
  bytes: 1_593_557,
  live: false,
  bitrateBps: 637_168,
  offset: 0,
};

describe('control frames', () => {
  it.each<ClientControl>([
    { t: 'play', offset: 0 },
    { t: 'play', offset: 123_456_789, fast: true },
    { t: 'pause' },
    { t: 'resume' },
    { t: 'stop' },
    { t: 'stats' },
  ])('client %j round-trips', (msg) => {
    expect(decodeClientFrame(encodeControl(msg))).toEqual({ ok: true, frame: { kind: 'control', msg } });
  });

  it.each<ServerControl>([
    meta,
    { t: 'meta', assetId: 'live-1', mime: 'video/webm', bytes: 0, live: true, offset: 0 },
    { t: 'end', bytes: 42 },
    { t: 'error', code: 'bad-request', message: 'offset beyond end' },
    { t: 'stats', bytesSent: 10, egressBps: 1e6, queuedBytes: 0, offset: 10, paceBps: 1.5e6 },
  ])('server %j round-trips', (msg) => {
    expect(decodeServerFrame(encodeControl(msg))).toEqual({ ok: true, frame: { kind: 'control', msg } });
  });

  it.each([
    ['not JSON', '{"t":"play"', 'bad-frame'],
    ['an unknown type', '{"t":"warp"}', 'bad-request'],
    ['a negative offset', '{"t":"play","offset":-1}', 'bad-request'],
    ['a fractional offset', '{"t":"play","offset":1.5}', 'bad-request'],
    ['an unsafe offset', '{"t":"play","offset":9007199254740993}', 'bad-request'],
    ['an extra field', '{"t":"pause","x":1}', 'bad-request'],
    ['a string offset', '{"t":"play","offset":"0"}', 'bad-request'],
    ['an array', '[]', 'bad-request'],
    ['null', 'null', 'bad-request'],
    ['an oversized frame', `{"t":"stats","pad":"${'x'.repeat(MAX_CONTROL_FRAME_CHARS)}"}`, 'bad-frame'],
    ['a prototype key', '{"__proto__":{"t":"stop"}}', 'bad-request'],
  ])('the server refuses %s with a reason', (_what, text, code) => {
    const r = decodeClientFrame(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.message.length).toBeGreaterThan(0);
      expect(r.message.length).toBeLessThanOrEqual(300);
    }
  });

  it('the server refuses binary and non-frame values from clients', () => {
    for (const v of [new Uint8Array([1, 2, 3]), new ArrayBuffer(4), 42, undefined, null, {}, Symbol('x')]) {
      expect(decodeClientFrame(v).ok).toBe(false);
    }
  });

  it('a viewer refuses server frames that break the schema', () => {
    for (const bad of [
      { ...meta, assetId: '../etc/passwd' },
      { ...meta, bytes: -1 },
      { ...meta, mime: '' },
      { t: 'end' },
      { t: 'error', code: '', message: 'x' },
      { t: 'play', offset: 0 },
    ]) {
      const r = decodeServerFrame(JSON.stringify(bad));
      expect(r.ok).toBe(false);
    }
  });
});

describe('media frames', () => {
  it('carries the offset in a 9-byte header and the payload after it', () => {
    const payload = new Uint8Array([10, 20, 30]);
    const frame = encodeMedia(0x0102030405, payload);
    expect(frame.byteLength).toBe(MEDIA_HEADER_BYTES + 3);
    expect([...frame]).toEqual([0x01, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 10, 20, 30]);
    const r = decodeServerFrame(frame);
    expect(r).toEqual({ ok: true, frame: { kind: 'media', offset: 0x0102030405, payload } });
  });

  it('round-trips any offset and payload size up to the frame limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: MAX_MEDIA_PAYLOAD_BYTES }),
        (offset, n) => {
          const payload = new Uint8Array(n).map((_, i) => (i * 31 + offset) & 0xff);
          const frame = encodeMedia(offset, payload);
          expect(frame.byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
          const r = decodeServerFrame(frame);
          expect(r).toMatchObject({ ok: true, frame: { kind: 'media', offset } });
          if (!r.ok || r.frame.kind !== 'media') throw new Error('unreachable: asserted just above');
          expect(Buffer.from(r.frame.payload).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('decodes from a Buffer view and an ArrayBuffer alike', () => {
    const frame = encodeMedia(7, new Uint8Array([1, 2]));
    const inBigger = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(frame)]).subarray(3);
    expect(decodeServerFrame(inBigger)).toMatchObject({ ok: true, frame: { kind: 'media', offset: 7 } });
    expect(decodeServerFrame(frame.slice().buffer)).toMatchObject({ ok: true, frame: { kind: 'media', offset: 7 } });
  });

  it('refuses to encode an empty, oversized or badly placed chunk', () => {
    expect(() => encodeMedia(0, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeMedia(0, new Uint8Array(MAX_MEDIA_PAYLOAD_BYTES + 1))).toThrow(RangeError);
    expect(() => encodeMedia(-1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => encodeMedia(1.5, new Uint8Array(1))).toThrow(RangeError);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['header only', encodeMedia(0, new Uint8Array(1)).subarray(0, MEDIA_HEADER_BYTES)],
    ['unknown kind', Uint8Array.from([0x07, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
    ['offset past 2^53', Uint8Array.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1])],
    ['over 64 KiB', new Uint8Array(MAX_FRAME_BYTES + 1).fill(1)],
  ])('a viewer refuses a binary frame that is %s', (_what, bytes) => {
    const r = decodeServerFrame(bytes);
    expect(r).toMatchObject({ ok: false, code: 'bad-frame' });
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 70_000 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (input) => {
          expect(() => decodeServerFrame(input)).not.toThrow();
          expect(() => decodeClientFrame(input)).not.toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });
});
