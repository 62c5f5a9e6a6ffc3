// Renditions for adaptive playback: their ids, which rungs an asset lacks, how the catalog lists them under their
// source, and real ffmpeg making them from a clip on disk with keyframe Clusters at the same times in each.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRenditionId, renditionId } from '../../signaling/protocol/ids.js';
import { StateTable } from '../../signaling/protocol/state-table.js';
import type { AssetInfo, ServerEntry } from '../../signaling/protocol/types.js';
import { assetInfoSchema, MAX_PICTURE_HEIGHT_PX, parse } from '../../signaling/protocol/index.js';
import { CatalogView } from '../../signaling/catalog-view.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { rescanStill } from '../helpers/rescan-still.js';
import { makeTestClip } from '../helpers/test-clip.js';
import { serverEntry } from '../helpers/server-entry.js';
import {
  RENDITION_GOP_S,
  RenditionMaker,
  missingRenditions,
  removePartialOutputs,
  type RenditionStatus,
} from '../../node-app/storage/rendition-maker.js';

const video = (id: string, extra: Partial<AssetInfo> = {}): AssetInfo => ({
  id,
  bytes: 1_000,
  mime: 'video/webm; codecs="vp9, opus"',
  durationMs: 20_000,
  heightPx: 720,
  bitrateBps: 2_000_000,
  ...extra,
});
const scanned = (info: AssetInfo) => ({ info, path: `/media/${info.id}.webm`, version: '1:1000' });

describe('rendition ids', () => {
  it('name a rendition `<source>__<height>p` and read it back; anything else is not a rendition', () => {
    expect(renditionId('talk', 240)).toBe('talk__240p');
    expect(parseRenditionId('talk__240p')).toEqual({ source: 'talk', heightPx: 240 });
    expect(parseRenditionId('my__talk__1080p')).toEqual({ source: 'my__talk', heightPx: 1080 });
    for (const id of ['talk', 'talk__p', 'talk__0p', 'talk_240p', '__240p', 'talk__240p.webm'])
      expect(parseRenditionId(id)).toBeUndefined();
    // A source id so long that the suffix would make an invalid asset id gets no rendition.
    expect(renditionId('a'.repeat(59), 240)).toBeUndefined();
    expect(renditionId('a'.repeat(58), 240)).toBe(`${'a'.repeat(58)}__240p`);
  });

  it('a picture height is part of an asset’s entry, bounded', () => {
    expect(parse(assetInfoSchema, video('a')).ok).toBe(true);
    expect(parse(assetInfoSchema, video('a', { heightPx: MAX_PICTURE_HEIGHT_PX + 1 })).ok).toBe(false);
  });
});

describe('which renditions an asset lacks', () => {
  it('one per rung below the source’s height, the bitrate capped by what the source spends per line', () => {
    const jobs = missingRenditions(scanned(video('talk')), () => false);
    expect(jobs.map((j) => [j.id, j.heightPx, j.videoBps])).toEqual([
      ['talk__144p', 144, 150_000],
      ['talk__240p', 240, 300_000],
      ['talk__360p', 360, 600_000],
      ['talk__480p', 480, 1_000_000],
    ]);
    // A thrifty 360p source (210 kb/s): its 240p rendition spends 2/3 of its video bitrate, not the rung's 300 kb/s.
    const thrifty = missingRenditions(scanned(video('bars', { heightPx: 360, bitrateBps: 210_000 })), () => false);
    expect(thrifty.map((j) => [j.heightPx, j.videoBps])).toEqual([
      [144, 58_400],
      [240, 97_333],
    ]);
  });

  it('none for one already stored, for a rendition, for audio, or without a height or duration', () => {
    expect(missingRenditions(scanned(video('talk')), (id) => id !== 'talk__240p').map((j) => j.id)).toEqual(['talk__240p']);
    expect(missingRenditions(scanned(video('talk__480p', { heightPx: 480 })), () => false)).toEqual([]);
    expect(missingRenditions(scanned(video('song', { mime: 'audio/webm; codecs="opus"' })), () => false)).toEqual([]);
    const { heightPx: _h, ...noHeight } = video('x');
    expect(missingRenditions(scanned(noHeight), () => false)).toEqual([]);
    const { durationMs: _d, ...noDuration } = video('y');
    expect(missingRenditions(scanned(noDuration), () => false)).toEqual([]);
    expect(missingRenditions(scanned(video('tiny', { heightPx: 144 })), () => false)).toEqual([]);
  });
});

describe('the catalog lists renditions under their source', () => {
  const entry = (id: string, storage: AssetInfo[]): ServerEntry => serverEntry(id, { storage });

  it('tallest first, with height and bitrate; a rendition without its source stays an entry of its own', () => {
    const table = new StateTable();
    table.commit({
      type: 'server-joined',
      server: entry('s1', [
        video('talk'),
        video('talk__240p', { heightPx: 240, bitrateBps: 360_000 }),
        video('gone__144p', { heightPx: 144 }),
      ]),
    });
    table.commit({ type: 'server-joined', server: entry('s2', [video('talk__480p', { heightPx: 480, bitrateBps: 1_060_000 })]) });
    const all = new CatalogView(table).all();
    expect(all.map((e) => e.id)).toEqual(['gone__144p', 'talk']);
    expect(all[1]!.renditions).toEqual([
      { id: 'talk__480p', heightPx: 480, bitrateBps: 1_060_000 },
      { id: 'talk__240p', heightPx: 240, bitrateBps: 360_000 },
    ]);
    expect(all[0]!.renditions).toBeUndefined();
  });

  it('while its source is live again (carried on, or a copy salvaged while it went on) a rendition of the earlier part is not listed', () => {
    const table = new StateTable();
    const live = { id: 'show', bytes: 5_000, live: true, mime: 'video/webm; codecs="vp8, opus"', startedAtMs: 0 };
    table.commit({ type: 'server-joined', server: entry('s1', [video('show'), video('show__144p', { heightPx: 144 })]) });
    table.commit({ type: 'server-joined', server: serverEntry('s2', { live: [live] }) });
    const all = new CatalogView(table).all();
    expect(all.map((e) => [e.id, e.live])).toEqual([['show', true]]);
    expect(all[0]!.renditions).toBeUndefined();
  });

  it('counts the viewers of a rendition as viewers of its source too', () => {
    const table = new StateTable();
    const view = new CatalogView(table);
    table.commit({ type: 'server-joined', server: entry('s1', [video('talk'), video('talk__240p', { heightPx: 240 })]) });
    table.commit({ type: 'server-joined', server: entry('s2', [video('talk')]) });
    table.commit({
      type: 'load',
      id: 's1',
      load: {
        sessions: 3,
        egressMbps: 1,
        cpu: 0,
        viewers: [
          { id: 'talk__240p', n: 2 },
          { id: 'talk', n: 1 },
        ],
      },
    });
    table.commit({ type: 'load', id: 's2', load: { sessions: 1, egressMbps: 1, cpu: 0, viewers: [{ id: 'talk', n: 1 }] } });
    view.noteDelta('load');
    expect(view.viewersOf('talk')).toBe(4);
    expect(view.viewersOf('talk__240p')).toBe(2);
  });
});

describe('renditions made by ffmpeg', () => {
  let root: string;
  const stores: DiskStore[] = [];
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'baton-renditions-'));
    // 6 s at 360p with a keyframe every 1.5 s: the renditions must not follow the source's keyframes but their own grid.
    makeTestClip(join(root, 'clip.webm'), { seconds: 6, size: '640x360', codec: 'libvpx', gop: 37, videoKbps: 400, fps: 25 });
    // ≈ 2 s on a quiet machine; over 60 s once at load 17 (a CI run beside three other agents).
  }, 180_000);
  afterAll(() => {
    for (const s of stores) s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('makes 240p and 144p in the background, one at a time, with progress, keyframe Clusters on the same 2-s grid', async () => {
    const seen: RenditionStatus[] = [];
    const failed: string[] = [];
    let made = 0;
    const maker = new RenditionMaker({ made: () => made++, failed: (j, m) => failed.push(`${j.id}: ${m}`) });
    const store = await DiskStore.open(root, { renditions: maker });
    stores.push(store);
    expect(store.list().find((a) => a.id === 'clip')?.heightPx).toBe(360);
    await expect
      .poll(
        () => {
          seen.push(maker.status());
          return made;
        },
        { timeout: 60_000, interval: 20, message: failed.join('; ') },
      )
      .toBe(2);
    // Never two at once: while one runs the other waits; progress goes from 0 towards 1.
    expect(seen.some((s) => s.running && s.queued === 1)).toBe(true);
    expect(seen.some((s) => s.running && s.running.progress > 0 && s.running.progress <= 1)).toBe(true);
    expect(maker.status()).toEqual({ running: null, queued: 0, made: 2, failed: 0 });
    // No partial file is left, and the next scan lists both as assets (with no renditions of their own queued).
    expect(readdirSync(root).sort()).toEqual(['clip.webm', 'clip__144p.webm', 'clip__240p.webm']);
    await rescanStill(store);
    expect(maker.status().queued).toBe(0);
    expect(maker.status().running).toBeNull();
    const grid = RENDITION_GOP_S * 1000;
    for (const [id, height] of [
      ['clip__240p', 240],
      ['clip__144p', 144],
    ] as const) {
      const info = store.list().find((a) => a.id === id);
      expect(info?.heightPx).toBe(height);
      expect(info?.mime).toBe('video/webm; codecs="vp8, opus"');
      const index = await store.seekIndex(id);
      expect(index?.points.map((p) => p.timeMs)).toEqual([0, grid, 2 * grid]);
    }
  }, 90_000);

  it('makes the same bytes from the same source on another server, so a failover can resume at a byte offset', async () => {
    const other = mkdtempSync(join(tmpdir(), 'baton-renditions-other-'));
    try {
      linkSync(join(root, 'clip.webm'), join(other, 'clip.webm'));
      let made = 0;
      const maker = new RenditionMaker({ made: () => made++ });
      const store = await DiskStore.open(other, { renditions: maker });
      stores.push(store);
      await expect.poll(() => made, { timeout: 60_000, interval: 50 }).toBe(2);
      for (const id of ['clip__240p', 'clip__144p']) {
        expect(readFileSync(join(other, `${id}.webm`)).equals(readFileSync(join(root, `${id}.webm`)))).toBe(true);
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }, 90_000);

  it('makes a rendition again when its source is newer (replaced), once per source version', async () => {
    let made = 0;
    const maker = new RenditionMaker({ made: () => made++ });
    const store = await DiskStore.open(root, { renditions: maker });
    stores.push(store);
    // Both renditions are newer than the source: nothing to do.
    expect(maker.status()).toMatchObject({ running: null, queued: 0 });
    const renditions = readdirSync(root).filter((f) => /^clip__\d+p\.webm$/.test(f));
    const inodes = () => renditions.map((f) => statSync(join(root, f)).ino);
    const before = inodes();
    // The source now looks newer than its renditions (dated a day ahead, as a copy from a skewed clock would be).
    const ahead = new Date(Date.now() + 86_400_000);
    utimesSync(join(root, 'clip.webm'), ahead, ahead);
    await rescanStill(store);
    await expect.poll(() => made, { timeout: 60_000, interval: 50 }).toBe(2);
    // The same source bytes make the same renditions: the files viewers read are kept (same inodes), so the next
    // scan sees no changed rendition and ends none of their sessions.
    expect(renditions.length).toBe(2);
    expect(inodes()).toEqual(before);
    expect((await store.refresh()).changed.map((a) => a.id)).toEqual([]);
    // Still older than the source, but made from this very version: not again (no loop).
    await store.refresh();
    await store.refresh();
    expect(maker.status()).toMatchObject({ running: null, queued: 0, made: 2 });
    maker.close();
  }, 90_000);

  it('takes the shortest source first, so a long upload does not hold back the clips behind it', () => {
    const maker = new RenditionMaker({ ffmpeg: 'no-such-ffmpeg-binary' });
    maker.scanned([
      { info: video('film', { durationMs: 7_200_000 }), path: join(root, 'clip.webm'), version: '1' },
      { info: video('short', { durationMs: 6_000 }), path: join(root, 'clip.webm'), version: '1' },
    ]);
    expect(maker.status().running).toMatchObject({ source: 'short', heightPx: 144 });
    maker.close();
  });

  it('a missing ffmpeg means no renditions and no retries', async () => {
    const failed: string[] = [];
    const maker = new RenditionMaker({ ffmpeg: 'no-such-ffmpeg-binary', failed: (j, m) => failed.push(`${j.id}: ${m}`) });
    maker.scanned([{ info: video('talk'), path: join(root, 'clip.webm'), version: '1' }]);
    await expect.poll(() => failed.length, { timeout: 10_000 }).toBe(1);
    expect(maker.status()).toMatchObject({ running: null, queued: 0 });
    maker.scanned([{ info: video('talk'), path: join(root, 'clip.webm'), version: '1' }]);
    expect(maker.status().queued).toBe(0);
    maker.close();
  });

  it('a rendition goes with its source when this server saw the source go; a rendition-named file whose source never was here stays', async () => {
    const dir = mkdtempSync(join(root, 'orphans-'));
    copyFileSync(join(root, 'clip.webm'), join(dir, 'talk.webm'));
    copyFileSync(join(root, 'clip.webm'), join(dir, 'talk__144p.webm'));
    copyFileSync(join(root, 'clip.webm'), join(dir, 'other__144p.webm'));
    const removed: string[] = [];
    // No ffmpeg: nothing is made, only what is stored is looked at.
    const maker = new RenditionMaker({ ffmpeg: 'no-such-ffmpeg-binary', nice: false, removed: (id) => removed.push(id) });
    const store = new DiskStore(dir, { renditions: maker, posters: undefined });
    stores.push(store);
    await store.refresh();
    await store.refresh();
    // `other` was never here: a file named like a rendition of it is not this server's to remove (an operator's own).
    expect(existsSync(join(dir, 'other__144p.webm'))).toBe(true);
    expect(existsSync(join(dir, 'talk__144p.webm'))).toBe(true);
    rmSync(join(dir, 'talk.webm'));
    const gone = await store.refresh();
    expect(gone.removed).toEqual(['talk']);
    await expect.poll(() => removed, { timeout: 5_000 }).toEqual(['talk__144p']);
    expect(existsSync(join(dir, 'talk__144p.webm'))).toBe(false);
    expect((await store.refresh()).removed).toEqual(['talk__144p']);
    expect(store.list().map((a) => a.id)).toEqual(['other__144p']);
    expect(removed).toEqual(['talk__144p']);
    maker.close();
  });

  it('partial renditions, posters and sidecars of a process that died are swept; one being written by a live process is not', async () => {
    const dir = mkdtempSync(join(root, 'partials-'));
    const dead = spawnSync('true').pid!;
    const swept = [`talk__240p.webm.${dead}.tmp`, `talk.poster.jpg.${dead}.tmp`, `talk.json.${dead}.tmp`];
    const kept = [
      `talk__144p.webm.${process.ppid}.tmp`,
      `talk.poster.jpg.${process.ppid}.tmp`,
      `talk.json.${process.ppid}.tmp`,
      `notes.webm.${dead}.tmp`,
      'talk.webm',
    ];
    for (const n of [...swept, ...kept]) writeFileSync(join(dir, n), 'x');
    expect((await removePartialOutputs(dir)).sort()).toEqual(swept.sort());
    expect(readdirSync(dir).sort()).toEqual(kept.sort());
  });
});
