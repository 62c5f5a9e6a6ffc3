// A media server's WHEP bound under concurrent offers, and its sessions of a stored file that changes: real WhepSessions
// (libdatachannel on loopback) over a real disk store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCache, createCachedSource, DEFAULT_CACHE_POLICY } from '../../node-app/cache/index.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { rescanStill } from '../helpers/rescan-still.js';
import { WhepManager } from '../../node-app/whep/whep-manager.js';
import { renditionsAmong } from '../../node-app/storage/rendition-maker.js';
import type { Ack } from '../../signaling/protocol/index.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { MEDIA_DIR, ROOT } from '../helpers/cluster.js';

const OFFER = readFileSync(join(ROOT, 'test/fixtures/whep-offer.sdp'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'whep-capacity-'));
let store: DiskStore;

beforeAll(async () => {
  await ensureDemoMedia(MEDIA_DIR);
  linkSync(join(MEDIA_DIR, 'demo-smpte.webm'), join(dir, 'demo-smpte.webm'));
  store = await DiskStore.open(dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WhepManager', () => {
  it('offers arriving together cannot overshoot maxSessions (each holds its slot across the await)', async () => {
    const cache = createCache({ policy: DEFAULT_CACHE_POLICY, budgetBytes: 8 * 1024 * 1024 });
    const whep = new WhepManager({
      openSource: (id) => (store.stat(id) ? { source: createCachedSource(store, cache, id, Date.now), stored: true } : undefined),
      emitToHub: () => undefined,
      bindAddress: '127.0.0.1',
      maxSessions: 2,
    });
    try {
      let most = 0;
      const replies = await Promise.all(
        Array.from(
          { length: 6 },
          (_, i) =>
            new Promise<Ack<{ sdp: string }>>((resolve) =>
              whep.offer({ resourceId: `res-${i}-aaaaaaaaaaaa`, assetId: 'demo-smpte', sdp: OFFER }, (r) => {
                most = Math.max(most, whep.size);
                resolve(r);
              }),
            ),
        ),
      );
      expect(replies.filter((r) => r.ok)).toHaveLength(2);
      expect(replies.filter((r) => !r.ok).map((r) => !r.ok && r.code)).toEqual([
        'no-capacity',
        'no-capacity',
        'no-capacity',
        'no-capacity',
      ]);
      expect(most).toBe(2);
      expect(whep.size).toBe(2);
    } finally {
      whep.close();
    }
  }, 30_000);

  it('an asset in a codec WHEP does not play (VP9) is refused naming its tallest VP8 rendition held here, which plays', async () => {
    linkSync(join(MEDIA_DIR, 'demo-mandelbrot.webm'), join(dir, 'demo-mandelbrot.webm'));
    // Renditions are VP8 files named `<source>__<height>p` (a VP8 clip stands in for the encoder's output).
    for (const rung of ['144p', '240p']) copyFileSync(join(MEDIA_DIR, 'demo-smpte.webm'), join(dir, `demo-mandelbrot__${rung}.webm`));
    await rescanStill(store);
    const cache = createCache({ policy: DEFAULT_CACHE_POLICY, budgetBytes: 8 * 1024 * 1024 });
    const whep = new WhepManager({
      openSource: (id) => (store.stat(id) ? { source: createCachedSource(store, cache, id, Date.now), stored: true } : undefined),
      emitToHub: () => undefined,
      bindAddress: '127.0.0.1',
      renditionsOf: (id) => renditionsAmong(store.list(), id),
    });
    const offer = (assetId: string, n: number) =>
      new Promise<Ack<{ sdp: string }>>((resolve) => whep.offer({ resourceId: `vp9-${n}-aaaaaaaaaaaa`, assetId, sdp: OFFER }, resolve));
    try {
      const refused = await offer('demo-mandelbrot', 1);
      expect(refused).toMatchObject({ ok: false, code: 'bad-request' });
      expect(!refused.ok && refused.message).toBe(
        "the asset's video is vp9; WHEP plays VP8 and H.264: play its VP8 rendition instead, POST /whep/demo-mandelbrot__240p",
      );
      expect((await offer('demo-mandelbrot__240p', 2)).ok).toBe(true);
    } finally {
      whep.close();
    }
  }, 30_000);

  it('a stored file rewritten in place and rescanned: endAsset ends the sessions reading it (asset-changed), no other', async () => {
    const path = join(dir, 'rewritten.webm');
    copyFileSync(join(MEDIA_DIR, 'demo-smpte.webm'), path);
    await rescanStill(store);
    const cache = createCache({ policy: DEFAULT_CACHE_POLICY, budgetBytes: 8 * 1024 * 1024 });
    const closed: unknown[] = [];
    const whep = new WhepManager({
      openSource: (id) => (store.stat(id) ? { source: createCachedSource(store, cache, id, Date.now), stored: true } : undefined),
      emitToHub: (_event, msg) => closed.push(msg),
      bindAddress: '127.0.0.1',
    });
    try {
      const offer = (resourceId: string, assetId: string) =>
        new Promise<Ack<{ sdp: string }>>((resolve) => whep.offer({ resourceId, assetId, sdp: OFFER }, resolve));
      expect((await offer('res-rewritten-aaaaaaaa', 'rewritten')).ok).toBe(true);
      expect((await offer('res-other-aaaaaaaaaaaa', 'demo-smpte')).ok).toBe(true);
      const bytes = readFileSync(path);
      bytes[10] ^= 0xff;
      writeFileSync(path, bytes);
      // What MediaServer's rescan does with a changed id.
      const changed = (await rescanStill(store)).changed.map((a) => a.id);
      expect(changed).toEqual(['rewritten']);
      expect(changed.map((id) => whep.endAsset(id))).toEqual([1]);
      expect(closed).toEqual([{ resourceId: 'res-rewritten-aaaaaaaa', reason: 'asset-changed' }]);
      expect(whep.size).toBe(1);
    } finally {
      whep.close();
      rmSync(path, { force: true });
    }
  }, 30_000);
});
