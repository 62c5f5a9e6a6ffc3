// A session of a live stream reading far behind its edge is paced as a stored asset of the stream's average bitrate;
// near the edge (a late joiner, a viewer keeping up) it is not. The pump runs on a virtual clock: each sleep moves it.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { createLiveSource } from '../../node-app/ingest/live-source.js';
import { MEDIA_DIR } from '../helpers/cluster.js';
import type { ByteSource } from '../../node-app/contracts.js';
import { MediaPump } from '../../node-app/delivery/media-pump.js';
import { MIN_BURST_BYTES, PACE_FACTOR } from '../../node-app/delivery/pacer.js';
import { SendGate } from '../../node-app/delivery/send-gate.js';
import type { Peer } from '../../node-app/webrtc/peer.js';

const MB = 1_000_000;

/** A gate whose sleeps take no real time: they move the virtual clock. */
class VirtualGate extends SendGate {
  constructor(readonly clock: { ms: number }) {
    super(() => clock.ms);
  }
  override sleep(ms: number): Promise<void> {
    this.clock.ms += ms;
    return Promise.resolve();
  }
}

/** A live stream of `size` bytes that started `ageS` seconds ago, growing by `growBps` bytes a virtual second. */
function liveSource(clock: { ms: number }, size: number, ageS: number, growBps = 0): ByteSource & { live: boolean } {
  const t0 = clock.ms;
  const now = () => Math.floor(size + ((clock.ms - t0) / 1000) * growBps);
  return {
    assetId: 'live-x',
    live: true,
    size: now,
    // What LiveWriter.averageBps says: bytes over the time since the publish started, on the cluster's clock.
    averageBps: () => (now() * 8_000) / (clock.ms - (t0 - ageS * 1000)),
    isLive() {
      return this.live;
    },
    read: async (offset, length) => new Uint8Array(Math.max(0, Math.min(length, now() - offset))),
    close() {},
  };
}

/** Runs a pump from `offset` until `untilMs` of virtual time passed; the bytes it sent. */
async function pump(source: ByteSource, offset: number, clock: { ms: number }, untilMs: number, live = true): Promise<number> {
  const gate = new VirtualGate(clock);
  const end = clock.ms + untilMs;
  let sent = 0;
  const peer = { bufferSize: 0, write: (_f: Uint8Array, cb: (e?: Error | null) => void) => cb() } as unknown as Peer;
  const p = new MediaPump(source, offset, gate, () => clock.ms, {
    state: () => (clock.ms < end ? 'streaming' : 'closed'),
    peer: () => peer,
    active: () => {},
    ended: () => {},
    sent: (n) => {
      sent += n;
    },
    failed: (err) => {
      throw err;
    },
  });
  // What ServeSession does for a live source: no pacer (the edge paces it), paced behind the edge.
  p.paceBy(null, live);
  p.burst();
  await p.run();
  return sent;
}

describe('a live session far behind the edge', () => {
  it('asking a 200-s-old, 60-MB broadcast from byte 1: a burst, then 1.5× its average bitrate', async () => {
    const clock = { ms: 1_000_000 };
    const source = liveSource(clock, 60 * MB, 200); // 300 KB/s on average
    const sent = await pump(source, 1, clock, 10_000);
    // Before: all 60 MB at once. Now: 1 MiB (3 s at 300 KB/s, at least MIN_BURST_BYTES) + 1.5 × 300 KB/s × 10 s.
    const allowed = MIN_BURST_BYTES + PACE_FACTOR * 300_000 * 10 + 64 * 1024;
    expect(sent).toBeLessThanOrEqual(allowed);
    expect(sent).toBeGreaterThan(allowed - 256 * 1024);
  });

  it('a stream that ended under the session is paced by its final size', async () => {
    const clock = { ms: 1_000_000 };
    const source = liveSource(clock, 60 * MB, 200);
    source.live = false;
    // The session was described while live (paceBy(null, true)); a play from byte 1 after the end is paced too.
    expect(await pump(source, 1, clock, 10_000)).toBeLessThan(6 * MB);
  });

  it('near the edge nothing is held back: a late joiner 3 MB behind, and the stream growing at 1 MB/s', async () => {
    const clock = { ms: 1_000_000 };
    const source = liveSource(clock, 60 * MB, 200, MB);
    // 3 MB is the lead (10 s at 300 KB/s): all of it goes at once, then the stream's growth (3× its average) as it comes.
    const sent = await pump(source, 57 * MB, clock, 10_000);
    expect(sent).toBeGreaterThanOrEqual(3 * MB + 9.5 * MB);
  });

  it('a session not described as live (pacing off) is not paced here', async () => {
    const clock = { ms: 1_000_000 };
    const source = liveSource(clock, 60 * MB, 200);
    expect(await pump(source, 1, clock, 10_000, false)).toBe(60 * MB - 1);
  });
});

describe("a live stream's average bitrate", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('counts from the publish start on the cluster clock, not the Timecodes, and stops at the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-avg-'));
    dirs.push(dir);
    const clock = { ms: 5_000_000 };
    const w = await LiveWriter.create({
      streamId: 'live-avg',
      finalPath: join(dir, 'live-avg.webm'),
      mime: 'video/webm',
      limits: { maxBitrateBps: 1e9, burstBytes: 1e9, maxBytes: 1e9 },
      startedAtMs: clock.ms - 500,
      now: () => clock.ms,
      fsyncIntervalMs: 10_000,
    });
    const src = createLiveSource(w, { offset: 0 });
    const clip = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-smpte.webm')));
    expect(w.append(0, 0, clip).kind).toBe('stored');
    // In its first second nothing is told.
    expect(src.averageBps?.()).toBeUndefined();
    clock.ms += 9_500;
    expect(src.averageBps?.()).toBeCloseTo((clip.byteLength * 8) / 10, 0);
    await w.end(clip.byteLength);
    clock.ms += 90_000;
    expect(src.averageBps?.()).toBeCloseTo((clip.byteLength * 8) / 10, 0);
    src.close();
    await w.close();
  });
});
