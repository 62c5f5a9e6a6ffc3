// Depth, size and key-count bounds checked with an explicit stack, before any recursive walk
// (zod, JSON.stringify, structured clone) sees an inbound value: a 7,000-deep array must be a
// clear refusal, never a stack overflow.

export interface Bounds {
  /** Deepest nesting of arrays/objects allowed (a scalar is depth 0, `[1]` is depth 1). */
  maxDepth: number;
  /** Approximate encoded size, bytes (JSON-like: strings by length, numbers 8, binary by byteLength). */
  maxBytes: number;
  /** Total object keys plus array elements over the whole value. */
  maxKeys: number;
}

export type BoundsResult = { ok: true; bytes: number; keys: number; depth: number } | { ok: false; message: string };

/** What any socket.io message may be: deep enough for every schema, as large as the transport allows. */
export const MESSAGE_BOUNDS: Bounds = Object.freeze({ maxDepth: 32, maxBytes: 256 * 1024, maxKeys: 200_000 });

/**
 * Walks `value` iteratively (an explicit stack, no recursion) and stops at the first bound it
 * crosses, so the cost is at most O(bound) whatever the input. Cycles cannot occur in decoded
 * JSON; a value reached twice is simply counted twice (and so still bounded).
 */
export function checkBounds(value: unknown, bounds: Bounds = MESSAGE_BOUNDS): BoundsResult {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  let bytes = 0;
  let keys = 0;
  let depth = 0;
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (d > depth) {
      depth = d;
      if (depth > bounds.maxDepth) return { ok: false, message: `nested deeper than ${bounds.maxDepth} levels` };
    }
    if (typeof v === 'string') bytes += v.length + 2;
    else if (v === null || v === undefined || typeof v === 'boolean') bytes += 4;
    else if (typeof v === 'number' || typeof v === 'bigint') bytes += 8;
    else if (typeof v === 'object') {
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) bytes += v.byteLength;
      else if (Array.isArray(v)) {
        bytes += 2;
        keys += v.length;
        if (keys > bounds.maxKeys) return { ok: false, message: `more than ${bounds.maxKeys} keys and elements` };
        for (let i = 0; i < v.length; i++) stack.push({ v: v[i], d: d + 1 });
      } else {
        bytes += 2;
        for (const k in v) {
          if (!Object.hasOwn(v, k)) continue;
          if (++keys > bounds.maxKeys) return { ok: false, message: `more than ${bounds.maxKeys} keys and elements` };
          bytes += k.length + 3;
          stack.push({ v: (v as Record<string, unknown>)[k], d: d + 1 });
        }
      }
    } else bytes += 8; // functions, symbols: not JSON, but counted rather than walked
    if (bytes > bounds.maxBytes) return { ok: false, message: `larger than ${bounds.maxBytes} bytes` };
  }
  return { ok: true, bytes, keys, depth };
}
