// The media server's WHIP side: bad offers and the per-server broadcast bound, with a real libdatachannel peer.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_ENDED_KEPT, WhipManager } from '../../node-app/whip/whip-manager.js';
import type { Ack } from '../../signaling/protocol/index.js';

const OFFER = readFileSync(join(import.meta.dirname, '../fixtures/whip-offer.sdp'), 'utf8');
const choice = (serverId: string, sessionId: string) => ({
  serverId,
  region: 'r',
  rttMs: 1,
  from: { lat: 0, lon: 0, label: 'x', source: 'typed' },
  loadFactor: 0,
  sessionId,
});
const offer = (resourceId: string, sdp = OFFER) => ({
  resourceId,
  streamId: `s-${resourceId}`,
  sdp,
  assignment: {
    streamId: `s-${resourceId}`,
    streamSecret: 'A'.repeat(43),
    primary: choice('a', `sess-${resourceId}-p`),
    backup: null,
    ipUnknown: true,
    epoch: 1,
  },
});
const ask = (m: WhipManager, msg: unknown) => new Promise<Ack<{ sdp: string }>>((resolve) => m.offer(msg, resolve));

let manager: WhipManager | undefined;
afterEach(() => manager?.close());

describe('WhipManager', () => {
  it('refuses a malformed offer and one without VP8 or H.264, and holds nothing for them', async () => {
    manager = new WhipManager({ emitToHub: () => {}, bindAddress: '127.0.0.1' });
    const bad = await ask(manager, { resourceId: 'x' });
    expect(bad).toMatchObject({ ok: false, code: 'bad-request' });
    const h265 = await ask(manager, offer('abcdefgh1', OFFER.replace(/VP8\/90000/g, 'H265/90000')));
    expect(h265).toMatchObject({ ok: false, code: 'bad-request' });
    expect(!h265.ok && h265.message).toMatch(/VP8 or H\.264/);
    expect(manager.size).toBe(0);
  });

  it('refuses a broadcast past maxBroadcasts, and closes what it relays on close', async () => {
    const relayed: string[] = [];
    manager = new WhipManager({ emitToHub: (event) => relayed.push(event), bindAddress: '127.0.0.1', maxBroadcasts: 1 });
    const first = await ask(manager, offer('abcdefgh1'));
    expect(first).toMatchObject({ ok: true });
    expect(first.ok && first.sdp).toMatch(/^v=0/);
    expect(manager.size).toBe(1);
    const second = await ask(manager, offer('abcdefgh2'));
    expect(second).toMatchObject({ ok: false, code: 'no-capacity' });
    expect(manager.size).toBe(1);
    // The first one's relay offered to its entry server (through the hub).
    await expect.poll(() => relayed.includes('whip-signal')).toBe(true);
    manager.close();
    expect(manager.size).toBe(0);
    expect(await ask(manager, offer('abcdefgh3'))).toMatchObject({ ok: false, code: 'no-capacity' });
  });
});

describe('WhipManager.adopt', () => {
  const adopt = (m: WhipManager, msg: unknown) => new Promise<Ack<object>>((resolve) => m.adopt(msg, resolve as (r: Ack<object>) => void));
  const digest = (c: string) => c.repeat(64);

  it('names the stream and its secret only for the resource it relays and the key digest its offer carried', async () => {
    manager = new WhipManager({ emitToHub: () => {}, bindAddress: '127.0.0.1' });
    expect(await ask(manager, { ...offer('abcdefgh1'), keyDigest: digest('a') })).toMatchObject({ ok: true });
    expect(await ask(manager, offer('abcdefgh2'))).toMatchObject({ ok: true });
    expect(await adopt(manager, { resourceId: 'abcdefgh1', keyDigest: digest('a') })).toEqual({
      ok: true,
      streamId: 's-abcdefgh1',
      streamSecret: 'A'.repeat(43),
    });
    const none = { ok: false, message: 'no such WHIP broadcast here' };
    expect(await adopt(manager, { resourceId: 'abcdefgh1', keyDigest: digest('b') })).toMatchObject(none);
    expect(await adopt(manager, { resourceId: 'abcdefgh9', keyDigest: digest('a') })).toMatchObject(none);
    // An offer without a digest (an older hub's) is adopted by no key.
    expect(await adopt(manager, { resourceId: 'abcdefgh2', keyDigest: digest('a') })).toMatchObject(none);
    for (const bad of [
      { resourceId: 'abcdefgh1' },
      { resourceId: 'abcdefgh1', keyDigest: 'A'.repeat(64) },
      { resourceId: 'x', keyDigest: digest('a') },
    ])
      expect(await adopt(manager, bad)).toMatchObject({ ok: false, code: 'bad-request' });
  });
});

describe('WhipManager.end', () => {
  const end = (m: WhipManager, resourceId: string) =>
    new Promise<Ack<object>>((resolve) => m.end({ resourceId }, resolve as (r: Ack<object>) => void));

  it('answers a repeated whip-end (a hub that lost the connection while it finalized) as the first, and frees the broadcast', async () => {
    manager = new WhipManager({ emitToHub: () => {}, bindAddress: '127.0.0.1' });
    expect(await ask(manager, offer('abcdefgh1'))).toMatchObject({ ok: true });
    // No RTP ever came: the end fails, and says why; asked again, the same answer, not "no such WHIP broadcast".
    const first = await end(manager, 'abcdefgh1');
    expect(first).toMatchObject({ ok: false });
    expect(!first.ok && first.message).toMatch(/no media arrived/);
    expect(await end(manager, 'abcdefgh1')).toEqual(first);
    expect(manager.size).toBe(0);
    expect(await end(manager, 'abcdefgh9')).toMatchObject({ ok: false, message: 'no such WHIP broadcast here' });
    expect(manager.endedKept).toBe(1);
  });

  it(`keeps at most MAX_ENDED_KEPT results`, async () => {
    manager = new WhipManager({ emitToHub: () => {}, bindAddress: '127.0.0.1', maxBroadcasts: 200 });
    for (let i = 0; i < MAX_ENDED_KEPT + 3; i++) {
      const id = `abcd${String(i).padStart(5, '0')}`;
      expect(await ask(manager, offer(id))).toMatchObject({ ok: true });
      await end(manager, id);
    }
    expect(manager.endedKept).toBe(MAX_ENDED_KEPT);
    expect(manager.size).toBe(0);
    // The oldest went first.
    expect(await end(manager, 'abcd00000')).toMatchObject({ ok: false, message: 'no such WHIP broadcast here' });
  }, 120_000);
});
