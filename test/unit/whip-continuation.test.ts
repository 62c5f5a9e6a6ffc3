// Resuming a WHIP broadcast on the copy its backup holds: where the copy ends, what completes it, and the muxer that continues it.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import { LiveWriter } from '../../node-app/ingest/live-writer.js';
import { CONTINUATION_GAP_MS, continuationOf, lastTimeMs } from '../../node-app/ingest/continuation.js';
import { RtpToWebm, shiftedCluster } from '../../node-app/whip/rtp-to-webm.js';
import { videoStream } from '../helpers/rtp-fixtures.js';

const dirs: string[] = [];
const writers: LiveWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The WHIP muxer's output for `frames` VP8 frames at 30 fps, one chunk per element. */
function whipChunks(frames: number, gop: number, continueAt?: { timeMs: number }): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const mux = new RtpToWebm({ audio: false, onBytes: (b) => chunks.push(b.slice()), onNeedKeyframe: () => undefined, continueAt });
  for (const f of videoStream(frames, gop, 1_000)) for (const p of f) mux.push('video', p);
  mux.end();
  return chunks;
}

async function writer(): Promise<LiveWriter> {
  const d = mkdtempSync(join(tmpdir(), 'baton-cont-'));
  dirs.push(d);
  const w = await LiveWriter.create({
    streamId: 'cont',
    finalPath: join(d, 'cont.webm'),
    mime: 'video/webm; codecs="vp8"',
    limits: { maxBitrateBps: 1e9, burstBytes: 1e9, maxBytes: 1e9 },
    fsyncIntervalMs: 10_000,
  });
  writers.push(w);
  return w;
}

async function videoTimes(bytes: Uint8Array): Promise<number[]> {
  const input = new Input({ source: new BufferSource(bytes), formats: ALL_FORMATS });
  const out: number[] = [];
  for await (const p of new EncodedPacketSink((await input.getPrimaryVideoTrack())!).packets()) out.push(Math.round(p.timestamp * 1000));
  return out;
}

describe('WHIP continuation', () => {
  it('continues a copy torn inside a block: the block is completed, the new Clusters follow on one timeline', async () => {
    const first = whipChunks(45, 15);
    const w = await writer();
    let seq = 0;
    let at = 0;
    // Everything but the Cues, and only half of the last frame's block: where a killed primary leaves the backup.
    const media = first.slice(0, -1);
    for (const [i, c] of media.entries()) {
      const part = i === media.length - 1 ? c.subarray(0, c.byteLength >> 1) : c;
      w.append(seq++, at, part);
      at += part.byteLength;
    }
    const c = await continuationOf(w);
    if (c instanceof Error) throw c;
    expect(c).toMatchObject({ nextSeq: seq, bytes: at, fillerBytes: media.at(-1)!.byteLength - (media.at(-1)!.byteLength >> 1) });
    // After the torn block's time (its header is stored): the 45th frame's.
    const stored = await videoTimes(Buffer.concat(first));
    expect(stored.length).toBe(45);
    expect(c.nextTimeMs).toBe(stored[44]! + CONTINUATION_GAP_MS);

    const more = whipChunks(30, 15, { timeMs: c.nextTimeMs });
    // No second init segment and no Cues: Clusters and blocks only, the first Cluster at the continuation's time.
    expect([...more[0]!.subarray(0, 4)]).toEqual([0x1f, 0x43, 0xb6, 0x75]);
    expect(lastTimeMs(more[0]!)).toBe(c.nextTimeMs);
    for (const chunk of [new Uint8Array(c.fillerBytes), ...more]) {
      w.append(seq++, at, chunk);
      at += chunk.byteLength;
    }
    const done = await w.end(at);
    const times = await videoTimes(new Uint8Array(readFileSync(done.path)));
    expect(times.length).toBe(75);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(times[45]).toBe(c.nextTimeMs);
  });

  it('refuses what cannot be continued: no media yet, or a copy that is not open', async () => {
    const w = await writer();
    w.append(0, 0, whipChunks(3, 15)[0]!); // the init segment only
    expect(await continuationOf(w)).toMatchObject({ code: 'cannot-resume', message: /no media/ });
    await w.abandon('gone');
    expect(await continuationOf(w)).toMatchObject({ code: 'cannot-resume', message: /failed/ });
  });

  it('shifts a werift Cluster opening by whole milliseconds, growing its Timecode as needed', () => {
    const c = shiftedCluster(
      Uint8Array.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0x81, 0x21]),
      70_000 - 33,
    );
    expect(lastTimeMs(c)).toBe(70_000);
    expect(() => shiftedCluster(Uint8Array.from([1, 2, 3]), 5)).toThrow(/unexpected Cluster/);
  });
});
