// What a viewer is told about the asset: a stored asset's duration and init segment, a live one's start and seam.
import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../../node-app/contracts.js';
import { metaFrame } from '../../node-app/delivery/meta-frame.js';

function source(live: boolean, extra: Partial<ByteSource> = {}): ByteSource {
  return { assetId: 'a', size: () => 5000, isLive: () => live, read: async () => new Uint8Array(), close: () => undefined, ...extra };
}
const facts = { mime: 'video/webm', bitrateBps: 999_999.6, durationMs: 4000, initBytes: 300 };

describe('metaFrame', () => {
  it('a stored asset: size, rounded bitrate, duration and init segment, at the given offset', () => {
    expect(metaFrame(source(false), facts, 1200)).toEqual({
      t: 'meta',
      assetId: 'a',
      mime: 'video/webm',
      bytes: 5000,
      live: false,
      offset: 1200,
      bitrateBps: 1_000_000,
      durationMs: 4000,
      initBytes: 300,
    });
  });

  it('a live asset: no duration or init length (they grow), its start time, and a late joiner’s seam', () => {
    const m = metaFrame(source(true, { joinedAt: 80_000, skipBytes: 79_700, startedAtMs: 1_700_000_000_000.4 }), facts, 0);
    expect(m).toEqual({
      t: 'meta',
      assetId: 'a',
      mime: 'video/webm',
      bytes: 5000,
      live: true,
      offset: 0,
      bitrateBps: 1_000_000,
      joinedAt: 80_000,
      skipBytes: 79_700,
      startedAtMs: 1_700_000_000_000,
    });
  });

  it('tells only what is known', () => {
    expect(metaFrame(source(false), { mime: 'video/webm' }, 0)).toEqual({
      t: 'meta',
      assetId: 'a',
      mime: 'video/webm',
      bytes: 5000,
      live: false,
      offset: 0,
    });
  });
});
