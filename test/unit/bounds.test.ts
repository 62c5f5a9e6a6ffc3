// checkBounds: depth, size and key bounds found without recursion, and stopping at the bound.
import { describe, expect, it } from 'vitest';
import { checkBounds, MESSAGE_BOUNDS, parse, signalSchema, watchSchema } from '../../signaling/protocol/index.js';
import { parseJson } from '../../signaling/protocol/frames.js';

function deepArray(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function deepObject(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('checkBounds', () => {
  it('measures depth, keys and approximate bytes of an ordinary message', () => {
    const r = checkBounds({ sessionId: 'abc', data: { type: 'offer', sdp: 'v=0' } });
    expect(r).toMatchObject({ ok: true, depth: 2, keys: 4 });
    expect(r.ok && r.bytes).toBeGreaterThan(20);
  });

  it('refuses a 200,000-deep array or object without overflowing the stack', () => {
    // JSON.stringify of these throws RangeError: the walk must not.
    expect(() => JSON.stringify(deepArray(200_000))).toThrow(RangeError);
    expect(checkBounds(deepArray(200_000))).toEqual({ ok: false, message: `nested deeper than ${MESSAGE_BOUNDS.maxDepth} levels` });
    expect(checkBounds(deepObject(200_000)).ok).toBe(false);
  });

  it('accepts exactly maxDepth levels and refuses one more', () => {
    const b = { maxDepth: 5, maxBytes: 1_000, maxKeys: 100 };
    expect(checkBounds(deepArray(5), b).ok).toBe(true);
    expect(checkBounds(deepArray(6), b).ok).toBe(false);
  });

  it('refuses by size and by key count, stopping early', () => {
    expect(checkBounds('x'.repeat(2_000), { maxDepth: 4, maxBytes: 1_000, maxKeys: 10 })).toMatchObject({
      ok: false,
      message: 'larger than 1000 bytes',
    });
    const wide = Array.from({ length: 1_000_000 }, () => 0);
    expect(checkBounds(wide, { maxDepth: 4, maxBytes: 1e9, maxKeys: 1_000 })).toMatchObject({
      ok: false,
      message: 'more than 1000 keys and elements',
    });
    expect(checkBounds(new Uint8Array(5_000), { maxDepth: 4, maxBytes: 4_096, maxKeys: 10 }).ok).toBe(false);
  });

  it('guards parse(): a 7,000-deep signal is a clear refusal, not a RangeError', () => {
    const r = parse(signalSchema, { sessionId: 'AAAAAAAAAAAAAAAA', data: { a: deepArray(7_000) } });
    expect(r).toEqual({ ok: false, message: `message nested deeper than ${MESSAGE_BOUNDS.maxDepth} levels` });
    // Within the message bounds but deeper than a signal payload may be: refused by the schema.
    const s = parse(signalSchema, { sessionId: 'AAAAAAAAAAAAAAAA', data: { a: deepArray(20) } });
    expect(s).toMatchObject({ ok: false, message: expect.stringMatching(/^data: signal payload nested deeper than 8 levels/) });
    expect(parse(watchSchema, { assetId: deepArray(50_000) }).ok).toBe(false);
  });

  it('guards control frames: deep JSON within 4 KiB is refused after JSON.parse, before zod', () => {
    expect(parseJson(`{"t":"play","x":${'['.repeat(1_500)}${']'.repeat(1_500)}}`)).toEqual({
      ok: false,
      code: 'bad-frame',
      message: 'control frame nested deeper than 8 levels',
    });
    expect(parseJson('{"t":"play","offset":0}')).toEqual({ ok: true, value: { t: 'play', offset: 0 } });
  });
});
