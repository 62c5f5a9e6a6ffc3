// The one EBML element-header and block-head reader: what every WebM reader in Baton builds on.
import { describe, expect, it } from 'vitest';
import { BLOCK_HEAD_BYTES, readBlockHead, readBlockHeadInto, readHeader } from '../../common/ebml-header.js';

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

  it('reads a head in place from the first `len` bytes of a reused buffer, and leaves the slot alone when it cannot', () => {
    const slot = { track: 0, relTicks: 0, flags: 0, key: false, headerBytes: 0 };
    const buf = new Uint8Array(BLOCK_HEAD_BYTES);
    buf.set([0x82, 0x00, 0x10, 0x80]);
    expect(readBlockHeadInto(buf, 4, slot)).toBe(true);
    expect(slot).toEqual({ track: 2, relTicks: 16, flags: 0x80, key: true, headerBytes: 4 });
    // The buffer holds more (stale) bytes than were filled: only `len` counts.
    expect(readBlockHeadInto(buf, 3, slot)).toBe(false);
    // An 8-byte track vint fits BLOCK_HEAD_BYTES exactly; a zero first byte (no vint) never reads.
    buf.set([0x01, 0, 0, 0, 0, 0, 0, 0x07, 0x00, 0x00, 0x00]);
    expect(readBlockHeadInto(buf, BLOCK_HEAD_BYTES, slot)).toBe(true);
    expect(slot).toMatchObject({ track: 7, key: false, headerBytes: 11 });
    buf[0] = 0;
    expect(readBlockHeadInto(buf, BLOCK_HEAD_BYTES, slot)).toBe(false);
    expect(slot.track).toBe(7);
  });
});
