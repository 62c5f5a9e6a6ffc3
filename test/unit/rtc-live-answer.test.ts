// The low-latency player reads a WHEP answer only up to its bound.
import { describe, expect, it } from 'vitest';
import { boundedText } from '../../web-client/components/rtc-live.js';

/** A response whose body comes in `chunks` pieces of `size` bytes; counts the pieces pulled. */
function chunked(chunks: number, size: number): { res: Response; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === chunks) return c.close();
      pulled++;
      c.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
  return { res: new Response(body), pulled: () => pulled };
}

describe('boundedText', () => {
  it('reads a body within the bound whole, across chunks and multi-byte characters', async () => {
    expect(await boundedText(new Response('v=0\r\nétoile'), 100)).toBe('v=0\r\nétoile');
    const { res } = chunked(4, 1_000);
    expect(await boundedText(res, 4_000)).toBe('a'.repeat(4_000));
  });

  it('gives null past the bound and stops reading there', async () => {
    const { res, pulled } = chunked(1_000, 1_000);
    expect(await boundedText(res, 4_000)).toBeNull();
    expect(pulled()).toBeLessThanOrEqual(6);
  });

  it('reads an empty body as empty', async () => {
    expect(await boundedText(new Response(null), 10)).toBe('');
  });
});
