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

describe('WhipManager.end', () => {
  const end = (m: WhipManager, resourceId: string) =>
    new Promise<Ack<object>>((resolve) => m.end({ resourceId }, resolve as (r: Ack<object>) => void));

  it("ends a broadcast for a hub that lost it (tokenHash) only with the POST's key digest, and only while on air", async () => {
    manager = new WhipManager({ emitToHub: () => {}, bindAddress: '127.0.0.1' });
    const digest = (c: string) => c.repeat(64);
    expect(await ask(manager, { ...offer('abcdefgh1'), tokenHash: digest('a') })).toMatchObject({ ok: true });
    expect(await ask(manager, offer('abcdefgh2'))).toMatchObject({ ok: true });
    const endWith = (resourceId: string, tokenHash: string) =>
      new Promise<Ack<object>>((resolve) => manager!.end({ resourceId, tokenHash }, resolve as (r: Ack<object>) => void));
    expect(await endWith('abcdefgh1', digest('b'))).toMatchObject({ ok: false, code: 'unauthorized' });
    // An offer that carried no digest (an older hub) cannot be checked: refused too.
    expect(await endWith('abcdefgh2', digest('a'))).toMatchObject({ ok: false, code: 'unauthorized' });
    expect(manager.size).toBe(2);
    const first = await endWith('abcdefgh1', digest('a'));
    expect(!first.ok && first.message).toMatch(/no media arrived/);
    // Over: a lost hub's DELETE of it is not answered with its result (the hub says 404).
    expect(await endWith('abcdefgh1', digest('a'))).toMatchObject({ ok: false, message: 'no such WHIP broadcast here' });
    expect(manager.size).toBe(1);
  });

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
