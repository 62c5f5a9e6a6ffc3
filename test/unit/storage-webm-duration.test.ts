// lastBlockTimeMs: the duration of a WebM from its last Cluster, agreeing with the header where there is one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MEDIA_DIR } from '../helpers/cluster.js';
import { DURATION_TAIL_BYTES, lastBlockTimeMs } from '../../node-app/storage/webm-duration.js';
import { PROBE_HEAD_BYTES, probeWebm } from '../../node-app/storage/webm-probe.js';

describe('lastBlockTimeMs', () => {
  for (const id of ['demo-testsrc', 'demo-smpte']) {
    it(`${id}: within a frame of the Duration ffmpeg wrote`, () => {
      const file = readFileSync(join(MEDIA_DIR, `${id}.webm`));
      const probe = probeWebm(file.subarray(0, PROBE_HEAD_BYTES));
      const ms = lastBlockTimeMs(file.subarray(Math.max(0, file.length - DURATION_TAIL_BYTES)), probe.timecodeScaleNs);
      expect(probe.durationMs).toBeGreaterThan(0);
      expect(Math.abs(ms! - probe.durationMs!)).toBeLessThanOrEqual(50);
    });
  }

  it('reads the last complete Cluster of a tail cut mid-element', () => {
    const file = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
    const whole = lastBlockTimeMs(file, 1_000_000)!;
    const cut = lastBlockTimeMs(file.subarray(0, Math.floor(file.length * 0.6)), 1_000_000)!;
    expect(cut).toBeGreaterThan(0);
    expect(cut).toBeLessThan(whole);
  });

  it('never throws on arbitrary bytes, and finds nothing where there is no Cluster', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const r = lastBlockTimeMs(bytes, 1_000_000);
        expect(r === undefined || Number.isFinite(r)).toBe(true);
      }),
    );
    expect(lastBlockTimeMs(new Uint8Array(1000), 1_000_000)).toBeUndefined();
  });
});
