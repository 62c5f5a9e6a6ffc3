// The media server's load meter and its pure rule for when a heartbeat carries the load.
import { describe, expect, it } from 'vitest';
import { LOAD_REFRESH_MS, LoadMeter, loadWorthReporting } from '../../node-app/server/load-meter.js';
import { parse, serverLoadSchema } from '../../signaling/protocol/index.js';

const idle = { sessions: 0, ingestSessions: 0, egressMbps: 10, cpu: 0.2, storageReadBytes: 0 };

describe('loadWorthReporting', () => {
  const prev = { load: idle, atMs: 1_000 };
  it('reports the first load, real changes, a session opened since the last beat, and a periodic refresh', () => {
    expect(loadWorthReporting(undefined, idle, false, 0)).toBe(true);
    expect(loadWorthReporting(prev, { ...idle, sessions: 1 }, false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, { ...idle, egressMbps: 11.5 }, false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, { ...idle, cpu: 0.3 }, false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, idle, true, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, idle, false, 1_000 + LOAD_REFRESH_MS + 1)).toBe(true);
    // Storage that stops (or starts again) taking files: the director must hear it before the next broadcast.
    expect(loadWorthReporting(prev, { ...idle, storageWritable: false }, false, 1_500)).toBe(true);
    expect(loadWorthReporting({ load: { ...idle, storageWritable: false }, atMs: 1_000 }, idle, false, 1_500)).toBe(true);
    expect(parse(serverLoadSchema, { ...idle, storageWritable: false }).ok).toBe(true);
    expect(parse(serverLoadSchema, { ...idle, storageWritable: true }).ok).toBe(false);
  });
  it('stays quiet for noise: under 10 % of egress, under 0.05 cores, before the refresh', () => {
    expect(loadWorthReporting(prev, { ...idle, egressMbps: 10.9, cpu: 0.24, storageReadBytes: 5 }, false, 1_000 + LOAD_REFRESH_MS)).toBe(
      false,
    );
  });
});

describe('loadWorthReporting: the rendition being made (the dashboard shows its progress)', () => {
  const making = (id: string, progress: number) => ({ ...idle, renditions: { id, progress, queued: 1 } });
  const prev = { load: making('talk__240p', 0.3), atMs: 1_000 };
  it('reports a rendition started, finished, or another tenth done; not less', () => {
    expect(loadWorthReporting({ load: idle, atMs: 1_000 }, making('talk__240p', 0), false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, idle, false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, making('talk__144p', 0), false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, making('talk__240p', 0.4), false, 1_500)).toBe(true);
    expect(loadWorthReporting(prev, making('talk__240p', 0.35), false, 1_500)).toBe(false);
  });
  it('the load schema takes it bounded', () => {
    expect(parse(serverLoadSchema, making('talk__240p', 0.5)).ok).toBe(true);
    expect(parse(serverLoadSchema, making('talk__240p', 1.5)).ok).toBe(false);
    expect(parse(serverLoadSchema, making('../x', 0.5)).ok).toBe(false);
  });
});

describe('LoadMeter', () => {
  it('measures egress and CPU as rates since the previous measurement', () => {
    let now = 0;
    let cpuUs = 0;
    const m = new LoadMeter(
      () => now,
      () => ({ user: cpuUs, system: 0 }),
    );
    m.addEgress(1_250_000); // 10 Mbit
    now = 1_000;
    cpuUs = 500_000; // half a core for a second
    expect(m.measure({ sessions: 2, ingestSessions: 1, storageReadBytes: 7 })).toEqual({
      sessions: 2,
      ingestSessions: 1,
      egressMbps: 10,
      cpu: 0.5,
      storageReadBytes: 7,
    });
    now = 2_000;
    expect(m.measure({ sessions: 2, ingestSessions: 1, storageReadBytes: 7 })).toMatchObject({ egressMbps: 0, cpu: 0 });
    expect(m.egressBytes).toBe(1_250_000);
  });
});
