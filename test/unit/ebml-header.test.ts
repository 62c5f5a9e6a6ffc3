// The one EBML element-header and block-head reader: what every WebM reader in Baton builds on.
import { describe, expect, it } from 'vitest';
import { readBlockHead, readHeader } from '../../common/ebml-header.js';

describe('EBML headers', () => {
  it('reads an id with its marker bit, a size, and the unknown-size marker; tells short from malformed', () => {
    expect(readHeader(Uint8Array.of(0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toEqual({
      id: 0x1f43b675,
      size: undefined,
      headerBytes: 12,
    });
    expect(readHeader(Uint8Array.of(0xa3, 0x42, 0x10))).toEqual({ id: 0xa3, size: 0x210, headerBytes: 3 });
    expect(readHeader(Uint8Array.of(0x1f, 0x43))).toBe('short');
    expect(readHeader(Uint8Array.of(0x00, 0x81))).toBe('bad');
  });

  it("reads a block's head: a multi-byte track number, a negative timecode, the flags", () => {
    // Track 0x1234 (2-byte vint 0x52 0x34), timecode −2 (0xfffe), keyframe flag, then data.
    expect(readBlockHead(Uint8Array.of(0x52, 0x34, 0xff, 0xfe, 0x80, 9))).toEqual({
      track: 0x1234,
      relTicks: -2,
      flags: 0x80,
      key: true,
      headerBytes: 5,
    });
    expect(readBlockHead(Uint8Array.of(0x81, 0x00, 0x21, 0x00))).toMatchObject({ track: 1, relTicks: 33, key: false, headerBytes: 4 });
    expect(readBlockHead(Uint8Array.of(0x81, 0x00, 0x21))).toBeUndefined(); // no flags byte
    expect(readBlockHead(Uint8Array.of(0x00, 0x00, 0x00, 0x00))).toBeUndefined();
  });
});
