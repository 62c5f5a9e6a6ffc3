// The publisher's pure parts: the `publish` request it sends, which uploads a replacement answer starts, and when an upload the hub dropped counts as dead.
import { describe, expect, it } from 'vitest';
import type { PublisherOptions, PublisherPeer } from '../../client-sdk/publisher-types.js';
import { newUpload, overdue, UploadSet, type Upload } from '../../client-sdk/upload.js';
import { publishRequest } from '../../client-sdk/publish-request.js';
import { replacementPlan } from '../../client-sdk/replacement-plan.js';
import type { PublishReply } from '../../signaling/protocol/messages.js';

const opts = { streamKey: 'key', location: 'Lisbon', title: 'T' } as PublisherOptions;

describe('publishRequest', () => {
  it('the first asks with the key, the place and the title only', () => {
    expect(publishRequest(opts, { streamId: undefined, streamSecret: undefined }, [])).toEqual({
      streamKey: 'key',
      location: 'Lisbon',
      title: 'T',
    });
  });

  it('a later one names the stream it holds and passes over the latest 16 failed servers', () => {
    const failed = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const req = publishRequest(opts, { streamId: 'st', streamSecret: 'sec' }, failed);
    expect(req).toMatchObject({ streamId: 'st', streamSecret: 'sec' });
    expect(req.exclude).toEqual(failed.slice(4));
  });
});

describe('replacementPlan', () => {
  const choice = (serverId: string) => ({ serverId, sessionId: `sess-${serverId}` }) as PublishReply['primary'];
  const reply = (primary: string, backup: string | null) =>
    ({ streamId: 'st', primary: choice(primary), backup: backup ? choice(backup) : null }) as PublishReply;
  const uploads = (has: string[], missing: 'primary' | 'backup') => ({
    has: (id: string) => has.includes(id),
    missingRole: () => missing,
  });

  it('a lone server takes the missing role and replaces the latest lost server', () => {
    expect(replacementPlan(reply('c', null), uploads([], 'backup'), ['a', 'b'], [])).toEqual([
      { choice: choice('c'), role: 'backup', failover: { from: 'b', to: 'c', role: 'backup' } },
    ]);
  });

  it('two new servers keep the hub’s roles and replace two different lost servers; one already uploaded to is skipped', () => {
    const plan = replacementPlan(reply('c', 'd'), uploads([], 'primary'), ['a', 'b'], []);
    expect(plan.map((p) => p.failover)).toEqual([
      { from: 'b', to: 'c', role: 'primary' },
      { from: 'a', to: 'd', role: 'backup' },
    ]);
    expect(replacementPlan(reply('c', 'd'), uploads(['sess-c'], 'primary'), ['a'], []).map((p) => p.choice.serverId)).toEqual(['d']);
  });

  it('a lost server an earlier failover replaced is not named again', () => {
    const plan = replacementPlan(reply('e', null), uploads([], 'primary'), ['a', 'b'], [{ from: 'b', to: 'c', role: 'primary' }]);
    expect(plan[0]!.failover.from).toBe('a');
  });
});

describe('an upload whose server the hub dropped', () => {
  const upload = (over: Partial<Upload>): Upload => ({
    ...newUpload({ serverId: 's', region: 'r', sessionId: 'x' }, 'primary', {} as PublisherPeer),
    ...over,
  });
  const T = 1_000_000;

  it('is overdue only when it owes an answer and has heard nothing for the whole window, from the notice or its last frame', () => {
    const owing = upload({ state: 'streaming', next: 10, ackedSeq: 5, heardAt: T - 60_000 });
    expect(overdue(owing, T, T + 9_999, 10_000)).toBe(false);
    expect(overdue(owing, T, T + 10_000, 10_000)).toBe(true);
    // A frame after the notice restarts the window.
    expect(overdue({ ...owing, heardAt: T + 5_000 }, T, T + 10_000, 10_000)).toBe(false);
    // Everything sent is acknowledged: a quiet server is not a dead one.
    expect(overdue({ ...owing, ackedSeq: 9 }, T, T + 60_000, 10_000)).toBe(false);
    // `end` sent and not answered, or not ready yet: it owes an answer.
    expect(overdue({ ...owing, state: 'ending', ackedSeq: 9 }, T, T + 10_000, 10_000)).toBe(true);
    expect(overdue({ ...owing, state: 'connecting' }, T, T + 10_000, 10_000)).toBe(true);
    expect(overdue({ ...owing, state: 'done' }, T, T + 60_000, 10_000)).toBe(false);
  });

  it('no longer counts as placed: its replacement takes its role while it goes on', () => {
    const set = new UploadSet();
    set.add(upload({ sessionId: 'p', role: 'primary', state: 'streaming', hubGoneAt: T }));
    set.add(upload({ serverId: 'b', sessionId: 'b', role: 'backup', state: 'streaming' }));
    expect(set.alive().map((u) => u.sessionId)).toEqual(['p', 'b']);
    expect(set.placed().map((u) => u.sessionId)).toEqual(['b']);
    expect(set.missingRole()).toBe('primary');
  });
});
