// The client SDK's small parts: the resend buffer's bound, reply parsing at the boundary,
// the one backoff rule and retry loop, the one error type.
import { describe, expect, it } from 'vitest';
import { ResendBuffer } from '../../client-sdk/resend-buffer.js';
import { ask, parseAck, publishReplySchema } from '../../client-sdk/hub-replies.js';
import { MAX_CHUNK_PAYLOAD_BYTES } from '../../signaling/protocol/ingest-frames.js';
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
