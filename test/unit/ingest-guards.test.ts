// Pure guards of the ingest and delivery paths: chunk floods, restart loops, the WebM head check, stream owners.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_CHUNKS_PER_S, ChunkFloodMeter } from '../../node-app/ingest/chunk-flood.js';
import { MAX_INIT_SEGMENT_BYTES, WebmHeadCheck } from '../../node-app/ingest/webm-head-check.js';
import { BURSTS_PER_WINDOW, MAX_RESTARTS_PER_WINDOW, RESTART_WINDOW_MS, RestartPolicy } from '../../node-app/delivery/restart-policy.js';
import { MAX_RELEASED_STARTS, RELEASED_START_MS, StreamOwners, keyIdOf, ownerHash } from '../../signaling/stream-owners.js';
import { MEDIA_DIR } from '../helpers/cluster.js';
import { ENDED_COPY_MS, EndedCopies, MAX_ENDED_STREAMS } from '../../signaling/core/ended-copies.js';

describe('ChunkFloodMeter', () => {
  it('lets 64 KiB frames and MediaRecorder slices through, and flags 1-byte chunks past the base rate', () => {
    const big = new ChunkFloodMeter();
    for (let i = 0; i < 5_000; i++) expect(big.record(65_000, i * 0.1)).toBe(false);
    const small = new ChunkFloodMeter();
    let flagged = -1;
    for (let i = 0; i < 5_000 && flagged < 0; i++) if (small.record(1, i * 0.01)) flagged = i;
    // 1-byte chunks earn one extra chunk per 256 of them: flagged just past the base rate.
    expect(flagged).toBeGreaterThanOrEqual(BASE_CHUNKS_PER_S);
    expect(flagged).toBeLessThan(BASE_CHUNKS_PER_S + 10);
    const resend = new ChunkFloodMeter(); // a resend of 400 B audio chunks, back to back
    for (let i = 0; i < 20_000; i++) expect(resend.record(400, i * 0.01)).toBe(false);
  });
});

describe('RestartPolicy', () => {
  it('gives a few fresh bursts, then continues the budget, then refuses a loop; the window slides', () => {
    const p = new RestartPolicy();
    p.started(0);
    const verdicts = Array.from({ length: MAX_RESTARTS_PER_WINDOW + 2 }, (_, i) => p.restart(i));
    expect(verdicts.filter((v) => v === 'burst')).toHaveLength(BURSTS_PER_WINDOW - 1);
    expect(verdicts.slice(0, MAX_RESTARTS_PER_WINDOW).every((v) => v !== 'refused')).toBe(true);
    expect(verdicts.slice(MAX_RESTARTS_PER_WINDOW)).toEqual(['refused', 'refused']);
    expect(p.restart(RESTART_WINDOW_MS + 100)).not.toBe('refused');
  });
});

describe('WebmHeadCheck', () => {
  const clip = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
  it('passes a real WebM fed one byte at a time, and then keeps nothing', () => {
    const c = new WebmHeadCheck();
    let i = 0;
    for (; i < clip.byteLength && !c.passed; i++) expect(c.check(clip.subarray(i, i + 1))).toBeUndefined();
    expect(c.passed).toBe(true);
    expect(i).toBeLessThan(4096);
  });
  it('refuses another container, an unknown codec, and a head without Tracks', () => {
    expect(new WebmHeadCheck().check(new TextEncoder().encode('ID3\x04'))).toMatch(/EBML header/);
    const bad = new Uint8Array(clip.subarray(0, 10_000));
    bad.set(new TextEncoder().encode('V_XXX'), Buffer.from(bad).indexOf('V_VP'));
    expect(new WebmHeadCheck().check(bad)).toMatch(/codec "V_XXX"/);
    const noTracks = new Uint8Array(MAX_INIT_SEGMENT_BYTES + 10);
    noTracks.set(clip.subarray(0, 40)); // an EBML header, then zeros
    expect(new WebmHeadCheck().check(noTracks)).toBeDefined();
  });
  it('refuses Matroska for the codec it carries, and a WebM-able one with how to remux it', () => {
    const mkv = (codec: string) =>
      new Uint8Array(
        execFileSync(
          'ffmpeg',
          ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=5:duration=0.4', '-c:v', codec, '-f', 'matroska', '-'],
          {
            maxBuffer: 8 << 20,
          },
        ),
      );
    expect(new WebmHeadCheck().check(mkv('mpeg4'))).toMatch(/codec "V_MPEG4\/ISO\/ASP" is not accepted/);
    expect(new WebmHeadCheck().check(mkv('libvpx'))).toMatch(/not a WebM stream: DocType "matroska".*remux/);
  });
});

describe('StreamOwners', () => {
  const none = { liveOwners: [], stored: false };
  it('reserves an id synchronously: a second client is refused until the owner releases it', () => {
    const o = new StreamOwners(() => 's'.repeat(43));
    const a = o.claim('show', 'client-a', undefined, none);
    expect(a).toMatchObject({ ok: true, fresh: true });
    expect(o.claim('show', 'client-b', undefined, none)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'client-b', 'x'.repeat(43), none)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'client-a2', 's'.repeat(43), none)).toMatchObject({ ok: true, fresh: false });
    o.release('show');
    expect(o.claim('show', 'client-b', undefined, none)).toMatchObject({ ok: true, fresh: true });
  });
  it('after a restart, a live id needs the secret whose hash the servers report', () => {
    const secret = 'k'.repeat(43);
    const o = new StreamOwners();
    const facts = { liveOwners: [ownerHash(secret), ownerHash(secret)], stored: false };
    expect(o.claim('show', 'intruder', undefined, facts)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'intruder', 'j'.repeat(43), facts)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'owner', secret, facts)).toMatchObject({ ok: true, secret, fresh: false });
    expect(new StreamOwners().claim('old', 'c', undefined, { liveOwners: [], stored: true })).toMatchObject({
      ok: false,
      code: 'conflict',
    });
  });
  it("an id live moments ago and now neither live nor stored stays its publisher's while the ended record lasts", () => {
    const secret = 'e'.repeat(43);
    // Its copies failed, and the kept one is not in the catalog yet (or none was kept).
    const facts = { liveOwners: [], stored: false, ended: { owners: [ownerHash(secret)], startedAtMs: 1_000 } };
    const o = new StreamOwners();
    expect(o.claim('show', 'intruder', undefined, facts)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'intruder', 'j'.repeat(43), facts)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'owner', secret, facts)).toMatchObject({ ok: true, secret, fresh: false, startedAtMs: 1_000 });
  });

  it('a stream key holds at most its cap of ids; a resume does not count twice; every release frees its slot', () => {
    const o = new StreamOwners();
    const key = { keyId: keyIdOf('shared-key'), max: 2 };
    const other = { keyId: keyIdOf('other-key'), max: 2 };
    const a = o.claim('a', 'c1', undefined, none, key);
    expect(a).toMatchObject({ ok: true, fresh: true });
    expect(o.claim('b', 'c1', undefined, none, key)).toMatchObject({ ok: true });
    expect(o.claim('c', 'c2', undefined, none, key)).toMatchObject({ ok: false, code: 'too-many-broadcasts' });
    // A refused claim reserves nothing: the id is free for another key.
    expect(o.claim('c', 'c3', undefined, none, other)).toMatchObject({ ok: true, fresh: true });
    // The same id again (its publisher back on a new connection with its secret): no second slot.
    const secret = (a as { secret: string }).secret;
    expect(o.claim('a', 'c1-again', secret, none, key)).toMatchObject({ ok: true, fresh: false });
    expect(o.heldBy(key.keyId)).toBe(2);
    // Resumed with another key, it still counts against the key that made it (once).
    expect(o.claim('a', 'c1-other', secret, none, other)).toMatchObject({ ok: true, fresh: false });
    expect([o.heldBy(key.keyId), o.heldBy(other.keyId), o.keyOf('a')]).toEqual([2, 1, key.keyId]);
    // After a hub restart, a live id proven by its secret takes a slot like a new one.
    const restarted = new StreamOwners();
    const live = { liveOwners: [ownerHash(secret)], stored: false };
    expect(restarted.claim('a', 'c1', secret, live, { ...key, max: 1 })).toMatchObject({ ok: true, fresh: false });
    expect(restarted.claim('z', 'c1', undefined, none, { ...key, max: 1 })).toMatchObject({ ok: false, code: 'too-many-broadcasts' });
    o.release('a');
    expect(o.heldBy(key.keyId)).toBe(1);
    expect(o.claim('d', 'c2', undefined, none, key)).toMatchObject({ ok: true });
    for (const id of ['b', 'c', 'd']) o.release(id);
    expect([o.heldBy(key.keyId), o.heldBy(other.keyId), o.size]).toEqual([0, 0, 0]);
  });
  it('keeps the stream start of a released id for its publisher (proven by its secret) for RELEASED_START_MS', () => {
    let now = 1_000_000;
    const o = new StreamOwners(undefined, () => now);
    const first = o.claim('show', 'c1', undefined, none) as { ok: true; secret: string; startedAtMs: number };
    expect(first).toMatchObject({ ok: true, fresh: true, startedAtMs: 1_000_000 });
    now += 5_000;
    // Held: the same start to its owner, whenever asked.
    expect(o.claim('show', 'c1', undefined, none)).toMatchObject({ ok: true, startedAtMs: 1_000_000 });
    // Both entry servers lost: the last publish session ends, the id is released.
    o.release('show');
    now += 1_000;
    // Another publisher (no secret, a wrong one) gets no old start: it is a new stream whose clock starts now.
    const other = new StreamOwners(undefined, () => now);
    other.claim('show', 'c1', undefined, none);
    other.release('show');
    expect(other.claim('show', 'c2', 'x'.repeat(43), none)).toMatchObject({ ok: true, fresh: true, startedAtMs: now });
    // Its publisher, with its secret: the same secret, and the start of the stream.
    expect(o.claim('show', 'c1-again', first.secret, none)).toMatchObject({
      ok: true,
      fresh: true,
      secret: first.secret,
      startedAtMs: 1_000_000,
    });
    // Released again and asked for too late: a new start.
    o.release('show');
    now += RELEASED_START_MS + 1;
    expect(o.claim('show', 'c1', first.secret, none)).toMatchObject({ ok: true, fresh: true, startedAtMs: now });
    expect(o.claim('show', 'c1', first.secret, none)).not.toMatchObject({ secret: first.secret });
  });
  it('a stored id is taken, but its publisher may add a copy while the stream has just ended (proven by its secret)', () => {
    let now = 1_000_000;
    const o = new StreamOwners(undefined, () => now);
    const secret = (o.claim('show', 'c1', undefined, none) as { secret: string }).secret;
    const ended = { owners: [ownerHash(secret)], startedAtMs: 990_000 };
    const stored = { liveOwners: [], stored: true };
    // Another hub (no reservation, no release of its own), from the copies that ended lately: its publisher gets the
    // stream's start; nobody else gets the name.
    const other = new StreamOwners(undefined, () => now);
    expect(other.claim('show', 'c9', secret, { ...stored, ended })).toMatchObject({ ok: true, fresh: false, secret, startedAtMs: 990_000 });
    const fresh = new StreamOwners(undefined, () => now);
    expect(fresh.claim('show', 'c2', 'x'.repeat(43), { ...stored, ended })).toMatchObject({ ok: false, code: 'conflict' });
    expect(fresh.claim('show', 'c2', undefined, { ...stored, ended })).toMatchObject({ ok: false, code: 'conflict' });
    expect(fresh.claim('show', 'c2', secret, stored)).toMatchObject({ ok: false, code: 'conflict' });
    // The hub that released it: its own memory of the release is proof enough, for RELEASED_START_MS.
    o.release('show');
    now += 1_000;
    expect(o.claim('show', 'c1', 'y'.repeat(43), stored)).toMatchObject({ ok: false, code: 'conflict' });
    expect(o.claim('show', 'c1', secret, stored)).toMatchObject({ ok: true, fresh: false, startedAtMs: 1_000_000 });
    o.release('show');
    now += RELEASED_START_MS + 1;
    expect(o.claim('show', 'c1', secret, stored)).toMatchObject({ ok: false, code: 'conflict' });
  });
  it(`EndedCopies keeps owners and the earliest start for ENDED_COPY_MS, at most MAX_ENDED_STREAMS (${MAX_ENDED_STREAMS}) streams`, () => {
    const e = new EndedCopies();
    const info = (id: string, owner: string | undefined, startedAtMs: number) => ({
      id,
      bytes: 1,
      live: false,
      mime: 'video/webm',
      startedAtMs,
      owner,
    });
    e.note(info('a', 'h1', 20), 0);
    e.note(info('a', 'h2', 10), 5);
    e.note(info('a', undefined, 1), 6);
    expect(e.get('a', 100)).toEqual({ owners: ['h1', 'h2'], startedAtMs: 10 });
    expect(e.get('a', 5 + ENDED_COPY_MS + 1)).toBeUndefined();
    expect(e.size).toBe(0);
    for (let i = 0; i <= MAX_ENDED_STREAMS; i++) e.note(info(`s-${i}`, 'h', 0), 1_000);
    expect(e.size).toBe(MAX_ENDED_STREAMS);
    expect(e.get('s-0', 1_000)).toBeUndefined();
    expect(e.get(`s-${MAX_ENDED_STREAMS}`, 1_000)).toBeDefined();
  });
  it(`keeps at most MAX_RELEASED_STARTS (${MAX_RELEASED_STARTS}) released starts, the oldest going first`, () => {
    let now = 0;
    const o = new StreamOwners(undefined, () => now);
    const secrets: string[] = [];
    for (let i = 0; i <= MAX_RELEASED_STARTS; i++) {
      secrets.push((o.claim(`s-${i}`, 'c', undefined, none) as { secret: string }).secret);
      o.release(`s-${i}`);
    }
    expect(o.releasedStarts).toBe(MAX_RELEASED_STARTS);
    now = 10;
    // The oldest was dropped: its claim starts now; the newest still has its start.
    expect(o.claim('s-0', 'c', secrets[0], none)).toMatchObject({ startedAtMs: 10 });
    expect(o.claim(`s-${MAX_RELEASED_STARTS}`, 'c', secrets[MAX_RELEASED_STARTS], none)).toMatchObject({ startedAtMs: 0 });
    // Expired ones go as new ones come.
    now += RELEASED_START_MS + 1;
    o.release('s-0');
    expect(o.releasedStarts).toBe(1);
  });
});
