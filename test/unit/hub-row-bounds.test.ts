// A media server's row in the table holds at most what one registration may list: 100,000 stored assets, 100,000
// cached ones, 10,000 live streams. Every replica (media servers, dashboards, other hubs) parses a snapshot's rows with
// the registration's schema, so before, a server that grew its row past it with reports (a compromised one, or an honest
// one with more files than that) made every snapshot malformed for everyone: each replica dropped it and asked again,
// for ever (found by review attackb30). A report delta that would pass a bound is refused; the others are taken.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HubCore } from '../../signaling/core/hub-core.js';
import { NODE_CLOCK, type HubLink, type ServerPeer } from '../../signaling/core/link.js';
import { MAX_ASSETS_PER_MESSAGE, MAX_LIVE_PER_MESSAGE } from '../../signaling/protocol/messages.js';
import { parse } from '../../signaling/protocol/index.js';
import { TABLE_BOUNDS, tableSnapshotSchema } from '../../signaling/protocol/table-messages.js';
import type { AssetInfo, LiveInfo } from '../../signaling/protocol/types.js';
import { bareDescriptor } from '../helpers/descriptor.js';

const log = pino({ level: 'silent' });
const link: HubLink = { publishDeltas: () => {}, publishDecision: () => {}, toClient: () => {} };
const peer = (): ServerPeer => ({ connected: true, send: () => {}, disconnect: () => {}, ask: () => Promise.reject(new Error('no')) });
function hub(): HubCore {
  return new HubCore({
    link,
    clock: NODE_CLOCK,
    log,
    heartbeatMs: 1_000,
    rotationMs: 0,
    directorTimeoutMs: 20,
    publish: { streamKeys: [], streamKeySecret: undefined, resolveLocation: () => null, ipPlace: () => null },
  });
}
const asset = (id: string): AssetInfo => ({ id, bytes: 1, mime: 'video/webm' });
const ids = (prefix: string, from: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);
const live = (id: string): LiveInfo => ({ id, bytes: 0, live: true, mime: 'video/webm', startedAtMs: 1 });
const snapshotParses = (core: HubCore) => parse(tableSnapshotSchema, core.snapshot(), TABLE_BOUNDS).ok;
const row = (core: HubCore, id: string) => core.snapshot().servers.find((s) => s.id === id)!;

describe("a server's row in the table", () => {
  it('stored assets: a storage-add past 100,000 is refused, the snapshot stays valid for every replica', () => {
    const core = hub();
    expect(core.register(peer(), bareDescriptor('big'), log)).toMatchObject({ ok: true });
    const half = MAX_ASSETS_PER_MESSAGE / 2;
    expect(core.report('big', [{ type: 'storage-add', assets: ids('a', 0, half).map(asset) }])).toMatchObject({ ok: true });
    // Ids it already lists are not counted again.
    expect(core.report('big', [{ type: 'storage-add', assets: ids('a', 0, half).map(asset) }])).toMatchObject({ ok: true });
    expect(core.report('big', [{ type: 'storage-add', assets: ids('a', half, half).map(asset) }])).toMatchObject({ ok: true });
    const r = core.report('big', [
      { type: 'storage-add', assets: [asset('one-more')] },
      { type: 'storage-remove', assets: ['a0'] },
      { type: 'load', load: { sessions: 3, egressMbps: 1, cpu: 0.5 } },
    ]);
    expect(r).toMatchObject({ ok: false, code: 'bad-request' });
    expect((r as { message: string }).message).toMatch(/100001 stored assets \(at most 100000 a server\)/);
    // The rest of the report is taken; the refused delta changed nothing.
    expect(row(core, 'big').storage).toHaveLength(MAX_ASSETS_PER_MESSAGE - 1);
    expect(row(core, 'big').load.sessions).toBe(3);
    expect(snapshotParses(core)).toBe(true);
    // Room again after the remove: taken.
    expect(core.report('big', [{ type: 'storage-add', assets: [asset('one-more')] }])).toMatchObject({ ok: true });
    expect(row(core, 'big').storage).toHaveLength(MAX_ASSETS_PER_MESSAGE);
    expect(snapshotParses(core)).toBe(true);
  });

  it('cached assets and live streams are bounded the same way; the registration counts', () => {
    const core = hub();
    const reg = bareDescriptor('s', { cache: ids('c', 0, MAX_ASSETS_PER_MESSAGE), live: ids('l', 0, MAX_LIVE_PER_MESSAGE).map(live) });
    expect(core.register(peer(), reg, log)).toMatchObject({ ok: true });
    expect(core.report('s', [{ type: 'cache-add', assets: ['c-extra'] }])).toMatchObject({ ok: false, code: 'bad-request' });
    expect(core.report('s', [{ type: 'live', stream: live('l-extra') }])).toMatchObject({ ok: false, code: 'bad-request' });
    // A live stream it already lists is updated, not counted again.
    expect(core.report('s', [{ type: 'live', stream: { ...live('l0'), bytes: 5 } }])).toMatchObject({ ok: true });
    expect(row(core, 's').cache).toHaveLength(MAX_ASSETS_PER_MESSAGE);
    expect(row(core, 's').live).toHaveLength(MAX_LIVE_PER_MESSAGE);
    expect(snapshotParses(core)).toBe(true);
  });

  it('a report for a server not registered here changes nothing', () => {
    const core = hub();
    expect(core.report('ghost', [{ type: 'storage-add', assets: [asset('x')] }])).toMatchObject({ ok: false });
    expect(core.snapshot().servers).toHaveLength(0);
  });
});
