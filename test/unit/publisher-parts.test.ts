// The publisher's pure parts: the `publish` request it sends, which uploads a replacement answer starts, and when an upload the hub dropped counts as dead.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PublisherOptions, PublisherPeer } from '../../client-sdk/publisher-types.js';
import { newUpload, overdue, silenceBound, UploadSet, type Upload } from '../../client-sdk/upload.js';
import { driveUpload, onHubSessionClose, type UploadHost } from '../../client-sdk/upload-driver.js';
import { ResendBuffer } from '../../client-sdk/resend-buffer.js';
import { encodeIngestControl } from '../../signaling/protocol/ingest-frames.js';
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
  const uploads = (has: string[], missing: 'primary' | 'backup', holds: string[] = []) => ({
    has: (id: string) => has.includes(id),
    holds: (serverId: string) => holds.includes(serverId),
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

  it('starts only the copies missing: a server already holding ours is passed over, and a lone one takes the missing role', () => {
    // A hub that no longer knows our sessions (after the end, or another hub) names two servers, one with our copy.
    const plan = replacementPlan(reply('b', 'c'), uploads([], 'backup', ['b']), ['a'], [], 1);
    expect(plan).toEqual([{ choice: choice('c'), role: 'backup', failover: { from: 'a', to: 'c', role: 'backup' } }]);
    expect(replacementPlan(reply('c', 'd'), uploads([], 'primary'), ['a'], [], 1).map((p) => p.choice.serverId)).toEqual(['c']);
    expect(replacementPlan(reply('c', 'd'), uploads([], 'primary'), ['a'], [], 0)).toEqual([]);
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

  it('may stay silent UPLOAD_SILENT_MS, and END_SILENT_MS once the stream ended or it sent `end`; connecting, the longer', () => {
    const b = { silentMs: 10_000, endSilentMs: 5_000 };
    const live = { ...b, ended: () => false };
    const ended = { ...b, ended: () => true };
    expect(silenceBound(upload({ state: 'streaming' }), live)).toBe(10_000);
    expect(silenceBound(upload({ state: 'ending' }), live)).toBe(5_000);
    expect(silenceBound(upload({ state: 'streaming' }), ended)).toBe(5_000);
    expect(silenceBound(upload({ state: 'connecting' }), ended)).toBe(10_000);
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

describe("the hub's notice that a server closed an upload's session", () => {
  const SESSION = 'TNvYHB6gwGctmgmG';
  /** An upload wired to a peer whose events the test fires, and the host's record of failures. */
  function wired() {
    // biome-ignore lint/suspicious/noExplicitAny: the peer's listeners take the event's own argument
    const listeners = new Map<string, ((x?: any) => void)[]>();
    const peer: PublisherPeer = {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      on: (event: string, listener: (x?: any) => void) => listeners.set(event, [...(listeners.get(event) ?? []), listener]),
      signal: () => undefined,
      send: () => undefined,
      write: () => true,
      destroy: () => undefined,
    };
    const u = newUpload({ serverId: 'fra-1', region: 'eu', sessionId: SESSION }, 'primary', peer);
    const failures: { code: string; message: string }[] = [];
    const gone: string[] = [];
    const host = {
      buffer: new ResendBuffer(1 << 20),
      closed: false,
      ending: false,
      sha256: undefined,
      streamId: 'flood-1',
      mime: 'video/webm',
      signal: () => undefined,
      fail: (up: Upload, code: string, message: string) => {
        if (up.state === 'failed') return;
        up.state = 'failed';
        failures.push({ code, message });
      },
      hubGone: (_u: Upload, message: string) => void gone.push(message),
      warn: () => undefined,
      health: () => undefined,
      sent: () => undefined,
      acked: () => undefined,
      stored: () => undefined,
      ended: () => undefined,
    } satisfies UploadHost;
    driveUpload(host, u);
    const fire = (event: string, x?: unknown) => {
      for (const l of listeners.get(event) ?? []) l(x);
    };
    const notice = (reason: string) => onHubSessionClose(host, (id) => (id === SESSION ? u : undefined), { sessionId: SESSION, reason });
    return { fire, notice, failures, gone };
  }
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("waits for the server's own reason, which came a second after the notice on a loaded machine", () => {
    const { fire, notice, failures } = wired();
    notice('closed-by-server');
    vi.advanceTimersByTime(1_000); // the 250-ms grace before 903fd47 had failed it as session-closed by now
    expect(failures).toEqual([]);
    fire('data', encodeIngestControl({ t: 'error', code: 'unsupported-media', message: 'not media', fatal: true }));
    fire('close');
    vi.advanceTimersByTime(10_000);
    expect(failures).toEqual([{ code: 'unsupported-media', message: 'fra-1: not media' }]);
  });

  it('fails as session-closed when the server says nothing in 5 s; hands a server-gone one on at once', () => {
    const quiet = wired();
    quiet.notice('closed-by-server');
    vi.advanceTimersByTime(4_999);
    expect(quiet.failures).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(quiet.failures.map((f) => f.code)).toEqual(['session-closed']);
    const dead = wired();
    dead.notice('server-gone');
    vi.advanceTimersByTime(250);
    expect(dead.gone).toHaveLength(1);
    expect(dead.failures).toEqual([]);
  });
});
