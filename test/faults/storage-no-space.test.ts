// A full storage disk while a media server makes posters and renditions (ffmpeg in the background): the disk is the
// server's trouble, not the media's, so once there is room again both are made (before: each was given up on for that
// version of the file, until the server restarted). Real ffmpeg on a real full filesystem (a small tmpfs; needs root).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { RenditionMaker, type RenditionJob } from '../../node-app/storage/rendition-maker.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { mountTmpfs, type Tmpfs } from './helpers/tmpfs.js';

const CLIP = 'demo-testsrc';

/** Fills `dir`'s filesystem to the last page with `name` (64 KiB writes, then 4 KiB ones, until ENOSPC). */
function fill(dir: string, name: string): void {
  const path = join(dir, name);
  writeFileSync(path, '');
  for (const size of [64 * 1024, 4096]) {
    const chunk = Buffer.alloc(size, 7);
    for (;;) {
      try {
        writeFileSync(path, chunk, { flag: 'a' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
  }
}

describe('storage disk full while renditions are encoded', () => {
  let disk: Tmpfs | undefined;
  beforeAll(() => {
    disk = mountTmpfs(6 * 1024 * 1024);
  });
  afterAll(() => disk?.unmount());

  it('a rendition ffmpeg could not write for want of space waits and is made once there is room; not a failure of its source', async () => {
    const dir = disk!.dir;
    copyFileSync(join(MEDIA_DIR, `${CLIP}.webm`), join(dir, `${CLIP}.webm`));
    fill(dir, '.filler');
    const deferred: string[] = [];
    const failed: string[] = [];
    const made: string[] = [];
    const maker = new RenditionMaker({
      nice: false,
      // ffmpeg itself meets the full disk: no check of the free space before it starts.
      freeBytes: async () => undefined,
      retryMs: 300,
      made: (j: RenditionJob) => made.push(j.id),
      failed: (j, m) => failed.push(`${j.id}: ${m}`),
      deferred: (j, m) => deferred.push(`${j.id}: ${m}`),
    });
    const store = await DiskStore.open(dir, { renditions: maker });
    try {
      await waitFor('ffmpeg met the full disk', () => deferred.length + failed.length > 0, 60_000, 20);
      expect(failed, 'no rendition given up on for a full disk').toEqual([]);
      expect(deferred[0]).toMatch(/No space left on device/);
      expect(
        readdirSync(dir).filter((f) => f.endsWith('.tmp')),
        'no partial rendition left',
      ).toEqual([]);
      rmSync(join(dir, '.filler'));
      // The storage rescan (every 2 s in a server) keeps asking for them; after the retry they are made.
      await waitFor(
        'both renditions made once there is room',
        async () => {
          await store.refresh();
          return made.length === 2;
        },
        90_000,
        200,
      );
      expect(made.sort()).toEqual([`${CLIP}__144p`, `${CLIP}__240p`]);
      expect(failed).toEqual([]);
      expect(maker.status()).toMatchObject({ made: 2, failed: 0 });
    } finally {
      maker.close();
      store.close();
      for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
    }
  }, 150_000);
});

describe('a media server whose storage disk is full at start, then freed', () => {
  let disk: Tmpfs | undefined;
  let cluster: Cluster | undefined;
  const ID = 'full-1';
  beforeAll(async () => {
    // Room for the clip and its renditions, and for the reserve a rendition leaves to broadcasts (64 MiB).
    disk = mountTmpfs(80 * 1024 * 1024);
    cluster = new Cluster({ heartbeatMs: 1_000, rotationMs: 0, servers: [] });
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      disk?.unmount();
    }
  });

  it('makes the poster and the renditions once an operator frees space, without a restart', async () => {
    const dir = disk!.dir;
    copyFileSync(join(MEDIA_DIR, `${CLIP}.webm`), join(dir, `${CLIP}.webm`));
    fill(dir, '.filler');
    const server = await cluster!.startServer({
      id: ID,
      region: 'eu-central',
      lat: 50.11,
      lon: 8.68,
      assets: [],
      storageDir: dir,
      renditions: true,
    });
    // The server is up and lists the clip; the poster and the renditions cannot be written.
    await waitFor(
      'the poster and the renditions held up by the full disk',
      () =>
        /poster waits: the disk refused it|no poster for this asset/.test(server.output()) &&
        /rendition waits: the disk refused it|no rendition made/.test(server.output()),
      60_000,
    );
    const httpUrl = (await cluster!.state()).servers.find((s) => s.id === ID)!.httpUrl!;
    const status = async () =>
      ((await (await fetch(`${httpUrl}/api/status`)).json()) as { renditions: { made: number; failed: number } }).renditions;
    rmSync(join(dir, '.filler'));
    // Within the retry (30 s) and an encode of two rungs of a 20-s clip.
    await waitFor(
      'the poster and both renditions made',
      async () => existsSync(join(dir, `${CLIP}.poster.jpg`)) && (await status()).made === 2,
      120_000,
      500,
    );
    expect(await status()).toMatchObject({ made: 2, failed: 0 });
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith(`${CLIP}__`) && f.endsWith('.webm'))
        .sort(),
    ).toEqual([`${CLIP}__144p.webm`, `${CLIP}__240p.webm`]);
    // Never given up on: what the disk refused was waited out, not logged as the media's failure.
    expect(server.output()).not.toMatch(/no poster for this asset|no rendition made/);
    expect(server.child.exitCode).toBeNull();
  }, 240_000);
});
