// The interval cache's reader over a real DiskStore whose file changes under the id while the reader is open.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, createCachedSource, DEFAULT_CACHE_POLICY } from '../../node-app/cache/index.js';
import { AssetChangedError } from '../../node-app/cache/errors.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { rescanStill } from '../helpers/rescan-still.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';

const MEDIA_DIR = resolve(import.meta.dirname, '../../var/media');
const OLD = join(MEDIA_DIR, 'demo-mandelbrot.webm');
const NEW = join(MEDIA_DIR, 'demo-smpte.webm');
const root = mkdtempSync(join(tmpdir(), 'storage-cached-reader-'));
let store: DiskStore;

beforeAll(async () => {
  await ensureDemoMedia(MEDIA_DIR);
  store = await DiskStore.open(root);
}, 60_000);
afterAll(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

describe('cached reader on a DiskStore', () => {
  it('copied over in place (same inode, another size), before any rescan: the next read is refused, never the new bytes', async () => {
    copyFileSync(OLD, join(root, 'inplace.webm'));
    await rescanStill(store);
    const cache = createCache({ policy: DEFAULT_CACHE_POLICY, budgetBytes: 8 * 1024 * 1024 });
    const source = createCachedSource(store, cache, 'inplace', Date.now);
    expect(Buffer.from(await source.read(0, 100_000)).equals(readFileSync(OLD).subarray(0, 100_000))).toBe(true);
    copyFileSync(NEW, join(root, 'inplace.webm'));
    await expect(source.read(100_000, 100_000)).rejects.toBeInstanceOf(AssetChangedError);
    // Its size stays the one it started on, so a delivery loop reads again (and is refused) rather than end short.
    expect(source.size()).toBe(readFileSync(OLD).length);
    source.close();
  });

  it('rewritten in place with the same size, then rescanned: the next read is refused, even within the block it read last', async () => {
    copyFileSync(OLD, join(root, 'samesize.webm'));
    await rescanStill(store);
    const cache = createCache({ policy: DEFAULT_CACHE_POLICY, budgetBytes: 8 * 1024 * 1024 });
    const source = createCachedSource(store, cache, 'samesize', Date.now);
    await source.read(0, 1_000);
    const other = readFileSync(OLD);
    other[10] ^= 0xff;
    writeFileSync(join(root, 'samesize.webm'), other);
    // What MediaServer's rescan does with a changed id.
    const r = await rescanStill(store);
    for (const id of [...r.changed.map((a) => a.id), ...r.moving]) cache.forget(id);
    await expect(source.read(1_000, 1_000)).rejects.toBeInstanceOf(AssetChangedError);
    source.close();
  });
});
