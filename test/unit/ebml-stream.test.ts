// Element headers read from a growing stream: complete, cut short by the chunk's end, or malformed.
import { describe, expect, it } from 'vitest';
import { Id, readHeader } from '../../node-app/ingest/ebml-stream.js';

const cluster = [0x1f, 0x43, 0xb6, 0x75];

describe('readHeader', () => {
  it('reads the id with its marker bit, the size without it, and the header length', () => {
    expect(readHeader(Uint8Array.from([...cluster, 0x81, 0xaa]))).toEqual({ id: Id.cluster, size: 1, headerBytes: 5 });
    expect(readHeader(Uint8Array.from([0xa3, 0x40, 0x02]))).toEqual({ id: 0xa3, size: 2, headerBytes: 3 });
  });

  it('reads an all-ones size as unknown (what MediaRecorder writes for a Cluster)', () => {
    expect(readHeader(Uint8Array.from([...cluster, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toEqual({
      id: Id.cluster,
      size: undefined,
      headerBytes: 12,
    });
  });

  it('asks for more bytes when the header is cut short', () => {
    expect(readHeader(new Uint8Array(0))).toBe('short');
    expect(readHeader(Uint8Array.from(cluster.slice(0, 3)))).toBe('short');
    expect(readHeader(Uint8Array.from(cluster))).toBe('short');
    expect(readHeader(Uint8Array.from([...cluster, 0x40]))).toBe('short');
  });

  it('refuses a zero first byte and an id longer than 4 bytes', () => {
    expect(readHeader(Uint8Array.from([0x00, 0x81]))).toBe('bad');
    expect(readHeader(Uint8Array.from([0x08, 0, 0, 0, 0, 0x81]))).toBe('bad');
  });
});
