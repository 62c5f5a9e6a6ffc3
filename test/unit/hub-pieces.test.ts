// Server → hub messages in pieces under the hub's message limit (node-app/server/hub-pieces.ts).
import { describe, expect, it } from 'vitest';
import {
  MAX_DELTAS_PER_REPORT,
  MAX_LIST_BYTES_PER_MESSAGE,
  inPieces,
  registrationOf,
  reportsOf,
} from '../../node-app/server/hub-pieces.js';
import type { AssetInfo, OwnDelta, ServerDescriptor } from '../../signaling/protocol/index.js';
import { MAX_MESSAGE_BYTES, reportSchema } from '../../signaling/protocol/index.js';

const asset = (i: number): AssetInfo => ({
  id: `clip-${i}`,
  bytes: 1_605_253,
  mime: 'video/webm; codecs="vp8, opus"',
  fingerprint: `ycgd-${i.toString(16).padStart(16, '0')}`,
  durationMs: 20_008,
  bitrateBps: 641_844,
  heightPx: 360,
  title: `Clip number ${i}`,
});
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe('hub pieces', () => {
  it('cuts a list into runs of at most the budget, in order, nothing lost', () => {
    const items = Array.from({ length: 5_000 }, (_, i) => asset(i));
    const pieces = inPieces(items);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(bytes(p)).toBeLessThanOrEqual(MAX_LIST_BYTES_PER_MESSAGE);
    expect(pieces.flat()).toEqual(items);
    expect(inPieces([])).toEqual([]);
  });

  it('a registration of 20,000 assets: the first message under the limit, the rest as storage-add reports', () => {
    const storage = Array.from({ length: 20_000 }, (_, i) => asset(i));
    const d: ServerDescriptor = {
      id: 'lib-1',
      region: 'eu',
      lat: 50,
      lon: 8,
      roles: ['edge'],
      maxSessions: 100,
      uplinkMbps: 1000,
      load: { cpu: 0, egressMbps: 0, sessions: 0 },
      cache: storage.slice(0, 9_000).map((a) => a.id),
      storage,
      live: [],
    } as unknown as ServerDescriptor;
    const { descriptor, after } = registrationOf(d);
    expect(bytes(descriptor)).toBeLessThan(MAX_MESSAGE_BYTES);
    for (const r of after) {
      expect(bytes(r)).toBeLessThanOrEqual(MAX_LIST_BYTES_PER_MESSAGE);
      expect(reportSchema.safeParse(r).success).toBe(true);
    }
    const deltas = after.flat();
    const added = deltas.flatMap((x) => (x.type === 'storage-add' ? x.assets : []));
    const cached = deltas.flatMap((x) => (x.type === 'cache-add' ? x.assets : []));
    expect([...descriptor.storage, ...added]).toEqual(storage);
    expect([...descriptor.cache, ...cached]).toEqual(d.cache);
  });

  it('reports: a long delta split by type, at most MAX_DELTAS_PER_REPORT deltas each, order kept', () => {
    const many: OwnDelta[] = Array.from({ length: 2_500 }, (_, i) => ({ type: 'live-remove', assetId: `s-${i}` }));
    const removed: OwnDelta = { type: 'storage-remove', assets: Array.from({ length: 30_000 }, (_, i) => `gone-${i}`) };
    const reports = reportsOf([...many, removed]);
    for (const r of reports) {
      expect(r.length).toBeLessThanOrEqual(MAX_DELTAS_PER_REPORT);
      expect(bytes(r)).toBeLessThanOrEqual(MAX_LIST_BYTES_PER_MESSAGE);
    }
    const flat = reports.flat();
    expect(flat.slice(0, 2_500)).toEqual(many);
    expect(flat.slice(2_500).flatMap((x) => (x.type === 'storage-remove' ? x.assets : []))).toEqual(removed.assets);
  });
});
