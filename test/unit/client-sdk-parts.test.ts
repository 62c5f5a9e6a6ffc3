// The client SDK's small parts: the resend buffer's bound, reply parsing at the boundary,
// the one backoff rule and retry loop, the one error type.
import { describe, expect, it } from 'vitest';
import { ResendBuffer } from '../../client-sdk/resend-buffer.js';
import {
  ask,
  CATALOG_REPLY_BOUNDS,
  catalogPageReplySchema,
  parseAck,
  publishReplySchema,
  viewersReplySchema,
} from '../../client-sdk/hub-replies.js';
import { CatalogView } from '../../signaling/catalog-view.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { AssetInfo, ServerEntry } from '../../signaling/protocol/types.js';
import { serverEntry } from '../helpers/server-entry.js';
import { MAX_CHUNK_PAYLOAD_BYTES, encodeChunk } from '../../signaling/protocol/ingest-frames.js';
import { backoffMs, retry } from '../../common/retry.js';
import { CodedError, codeOf } from '../../common/coded-error.js';
import { PublishError } from '../../client-sdk/publisher.js';

const chunk = (n: number): Uint8Array => new Uint8Array(n).fill(7);

describe('ResendBuffer', () => {
  it('keeps every frame until acknowledged, and past its capacity drops only acknowledged ones', () => {
    const b = new ResendBuffer(1_000);
    for (let i = 0; i < 5; i++) b.push(chunk(400));
    expect(b.bufferedBytes).toBe(2_000);
    // Nothing acknowledged: over capacity, but every frame may still be needed.
    b.trim(-1);
    expect([b.firstSeq, b.nextSeq, b.bufferedBytes]).toEqual([0, 5, 2_000]);
    // Acknowledged up to seq 3: drops the oldest until back under capacity (and no further).
    b.trim(3);
    expect([b.firstSeq, b.bufferedBytes]).toEqual([3, 800]);
    expect(b.offsetOf(3)).toBe(1_200);
    expect(b.offsetOf(5)).toBe(2_000);
    expect(b.frame(2)).toBeUndefined();
  });

  it('over a stream that can be read again, makes dropped frames anew from the reads, and resends from chunk 0', async () => {
    const stream = Uint8Array.from({ length: 2_000 }, (_, i) => i % 251);
    const read = async (offset: number, length: number) => stream.subarray(offset, offset + length);
    const b = new ResendBuffer(1_000, undefined, true);
    for (let at = 0; at < 2_000; at += 400) b.push(stream.subarray(at, at + 400));
    b.trim(3);
    expect([b.firstSeq, b.resendFrom, b.offsetOf(1)]).toEqual([3, 0, 400]);
    const again = (await b.frameAt(1, read))!;
    expect([again.seq, again.offset, again.size]).toEqual([1, 400, 400]);
    expect(again.encoded).toEqual(encodeChunk(1, 400, stream.subarray(400, 800)));
    // A short read (the file shrank) makes no frame; a held frame needs no read; without rereads, nothing before firstSeq.
    expect(await b.frameAt(1, async () => new Uint8Array(10))).toBeUndefined();
    expect(await b.frameAt(4, async () => new Uint8Array(0))).toBe(b.frame(4));
    const plain = new ResendBuffer(1_000);
    for (let at = 0; at < 2_000; at += 400) plain.push(stream.subarray(at, at + 400));
    plain.trim(3);
    expect([plain.resendFrom, plain.offsetOf(1), await plain.frameAt(1, read)]).toEqual([3, undefined, undefined]);
  });

  it('continuing a copy that can be read again (a resumed WHIP relay), resends from chunk 0: the copy in even chunks', async () => {
    const stream = Uint8Array.from({ length: 2_500 }, (_, i) => i % 251);
    const read = async (offset: number, length: number) => stream.subarray(offset, offset + length);
    // The copy held 1,003 bytes in 7 chunks; this relay pushes the rest.
    const b = new ResendBuffer(1_000, { seq: 7, bytes: 1_003 }, true);
    for (let at = 1_003; at < 2_500; at += 500) b.push(stream.subarray(at, Math.min(2_500, at + 500)));
    b.trim(8);
    expect([b.resendFrom, b.firstSeq, b.nextSeq]).toEqual([0, 8, 10]);
    // Every chunk from 0 made anew: consecutive, none empty or larger than the copy's average rounded up, the whole stream.
    const frames = [];
    for (let seq = 0; seq < b.nextSeq; seq++) frames.push((await b.frameAt(seq, read))!);
    let at = 0;
    for (const f of frames) {
      expect(f.offset).toBe(at);
      at += f.size;
    }
    expect(at).toBe(2_500);
    expect(frames.slice(0, 7).map((f) => f.size)).toEqual([143, 143, 143, 144, 143, 143, 144]);
    expect(frames[6]!.encoded).toEqual(encodeChunk(6, 859, stream.subarray(859, 1_003)));
    // Without rereads the stored part cannot be sent: a new server could not be filled.
    const plain = new ResendBuffer(1_000, { seq: 7, bytes: 1_003 });
    plain.push(stream.subarray(1_003, 1_503));
    expect([plain.resendFrom, plain.offsetOf(3)]).toEqual([7, undefined]);
  });

  it('splits a chunk larger than one frame carries, offsets continuous', () => {
    const b = new ResendBuffer(1 << 30);
    b.push(chunk(MAX_CHUNK_PAYLOAD_BYTES * 2 + 10));
    expect(b.nextSeq).toBe(3);
    expect([b.frame(0)!.offset, b.frame(1)!.offset, b.frame(2)!.offset, b.frame(2)!.size]).toEqual([
      0,
      MAX_CHUNK_PAYLOAD_BYTES,
      MAX_CHUNK_PAYLOAD_BYTES * 2,
      10,
    ]);
  });

  it('wakes writers waiting for room once trimmed under capacity, or cleared', async () => {
    const b = new ResendBuffer(500);
    b.push(chunk(400));
    b.push(chunk(400));
    let woke = 0;
    const w = b.waitForRoom().then(() => woke++);
    b.trim(0);
    await w;
    expect(woke).toBe(1);
    const w2 = b.waitForRoom().then(() => woke++);
    b.clear();
    await w2;
    expect([woke, b.bufferedBytes]).toEqual([2, 0]);
  });
});

describe('hub replies', () => {
  const good = {
    ok: true,
    streamId: 's1',
    streamSecret: 'A'.repeat(43),
    primary: {
      serverId: 'fra-1',
      region: 'eu',
      rttMs: 3,
      from: { lat: 1, lon: 2, label: 'x', source: 'typed' },
      loadFactor: 0.1,
      sessionId: 'abcdefgh12345678',
    },
    backup: null,
    ipUnknown: false,
    epoch: 4,
  };

  it('a well-formed publish reply parses; a malformed one becomes an internal refusal saying what was wrong', () => {
    expect(parseAck(publishReplySchema, good, 'publish')).toMatchObject({ ok: true, streamId: 's1' });
    const bad = parseAck(publishReplySchema, { ...good, primary: { ...good.primary, serverId: '../x' } }, 'publish');
    expect(bad).toMatchObject({ ok: false, code: 'internal' });
    expect((bad as { message: string }).message).toMatch(/malformed publish reply: primary\.serverId/);
    expect(parseAck(publishReplySchema, { ok: false, code: 'conflict', message: 'taken' }, 'publish')).toEqual({
      ok: false,
      code: 'conflict',
      message: 'taken',
    });
  });

  it('ask: no answer in time is a timeout refusal; a throwing emit an internal one', async () => {
    expect(await ask({ emit: () => undefined }, 'publish', {}, publishReplySchema, 5)).toMatchObject({ ok: false, code: 'timeout' });
    expect(
      await ask(
        {
          emit: () => {
            throw new Error('boom');
          },
        },
        'publish',
        {},
        publishReplySchema,
        1_000,
      ),
    ).toEqual({ ok: false, code: 'internal', message: 'boom' });
    expect(await ask({ emit: (_e, _r, ack) => ack(good) }, 'publish', {}, publishReplySchema, 1_000)).toMatchObject({ ok: true });
  });
});

describe('catalog replies', () => {
  const server = (id: string, storage: AssetInfo[], extra: Partial<ServerEntry> = {}): ServerEntry =>
    serverEntry(id, { storage, httpUrl: `http://127.0.0.1:4000/${id}`, ...extra });
  const clip = (id: string, extra: Partial<AssetInfo> = {}): AssetInfo => ({ id, bytes: 1_000, mime: 'video/webm', ...extra });

  it('a page the hub makes parses to itself: every field of every kind of entry is in the schema', () => {
    const table = new StateTable();
    const long = `${'word '.repeat(100)}end`;
    table.commit({
      type: 'server-joined',
      server: server('s1', [
        clip('film', { title: 'A film', description: long, poster: 'k3x9', durationMs: 60_000, bitrateBps: 1.5e6, heightPx: 720 }),
        clip('film__360p', { heightPx: 360, bitrateBps: 4e5 }),
      ]),
    });
    table.commit({
      type: 'server-joined',
      server: server('s2', [clip('film')], {
        load: { sessions: 2, egressMbps: 1, cpu: 0, viewers: [{ id: 'film', n: 2 }] },
        live: [{ id: 'show', bytes: 5, live: true, mime: 'video/webm', startedAtMs: 1, title: 'On air', poster: 'p1' }],
      }),
    });
    const view = new CatalogView(table);
    const page = { ok: true, ...view.page() };
    expect(page.assets.map((e) => e.id)).toEqual(['film', 'show']);
    expect(page.assets[0]).toMatchObject({ viewers: 2, renditions: [{ id: 'film__360p' }], posterUrl: expect.any(String) });
    expect(parseAck(catalogPageReplySchema, page, 'catalog', CATALOG_REPLY_BOUNDS)).toEqual(page);
    const one = { ok: true, ...view.query({ id: 'film' }) };
    expect(parseAck(catalogPageReplySchema, one, 'catalog-query', CATALOG_REPLY_BOUNDS)).toEqual(one);
  });

  it('a full page passes the catalog bounds (the default ones would refuse it); a malformed one is an internal refusal', () => {
    const table = new StateTable();
    const assets = Array.from({ length: 1_000 }, (_, i) =>
      clip(`a${String(i).padStart(4, '0')}`, { title: 't'.repeat(200), description: 'd'.repeat(280) }),
    );
    for (const id of ['s1', 's2', 's3']) table.commit({ type: 'server-joined', server: server(id, assets) });
    const page = { ok: true, ...new CatalogView(table).page() };
    expect(page.assets).toHaveLength(1_000);
    expect(parseAck(catalogPageReplySchema, page, 'catalog', CATALOG_REPLY_BOUNDS)).toEqual(page);
    expect(parseAck(catalogPageReplySchema, page, 'catalog')).toMatchObject({ ok: false, code: 'internal' });
    const bad = parseAck(catalogPageReplySchema, { ...page, assets: [{ ...page.assets[0], holders: ['../x'] }] }, 'catalog');
    expect(bad).toMatchObject({
      ok: false,
      code: 'internal',
      message: expect.stringMatching(/malformed catalog reply: assets\.0\.holders/),
    });
    expect(parseAck(viewersReplySchema, { ok: true, counts: [3] }, 'viewers')).toEqual({ ok: true, counts: [3] });
    expect(parseAck(viewersReplySchema, { ok: true, counts: [-1] }, 'viewers')).toMatchObject({ ok: false, code: 'internal' });
  });
});

describe('backoff and retry', () => {
  it('backoffMs doubles from the base, is capped, and jitters within ± the share', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffMs(n, { baseMs: 100, maxMs: 500 }))).toEqual([100, 200, 400, 500, 500]);
    expect(backoffMs(0, { baseMs: 1_000, jitter: 0.25, rng: () => 0 })).toBe(750);
    expect(backoffMs(0, { baseMs: 1_000, jitter: 0.25, rng: () => 0.999_999 })).toBeCloseTo(1_250, 0);
  });

  it('retry: tries until accepted or out of attempts, waiting the backoff between, and stops when told', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    let calls = 0;
    const r = await retry(async () => ++calls, { attempts: 5, baseMs: 10, sleep, retryIf: (o) => o.ok && o.value < 3 });
    expect([r, calls, waits]).toEqual([3, 3, [10, 20]]);
    await expect(
      retry(
        async () => {
          throw new CodedError('timeout', 'no');
        },
        { attempts: 2, baseMs: 1, sleep },
      ),
    ).rejects.toMatchObject({ code: 'timeout' });
    let n = 0;
    await retry(async () => ++n, { attempts: 10, baseMs: 1, sleep, retryIf: () => true, stopped: () => n >= 2 });
    expect(n).toBe(2);
  });
});

describe('CodedError', () => {
  it('named subclasses keep instanceof, their name, the code and the cause', () => {
    const cause = new Error('disk');
    const e = new PublishError('no-ingest', 'nobody', { cause });
    expect(e).toBeInstanceOf(PublishError);
    expect(e).toBeInstanceOf(CodedError);
    expect([e.name, e.code, e.message, e.cause]).toEqual(['PublishError', 'no-ingest', 'nobody', cause]);
    expect(codeOf(e)).toBe('no-ingest');
    expect(codeOf(new Error('x'))).toBe('internal');
  });
});
