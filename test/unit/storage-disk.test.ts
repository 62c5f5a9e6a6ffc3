// DiskStore: the catalog, ids that must never escape the root, reads, growing files, rescans, bounded fds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DiskStore, type DiskStoreOptions, MAX_READ_BYTES } from '../../node-app/storage/disk-store.js';
import { remuxAsRecording } from '../helpers/test-clip.js';
import { rescanStill } from '../helpers/rescan-still.js';
import { FINGERPRINT_PATTERN } from '../../signaling/protocol/ids.js';
import { StorageError } from '../../node-app/storage/errors.js';

const MEDIA_DIR = resolve(import.meta.dirname, '../../var/media');
const DEMO = ['demo-mandelbrot', 'demo-smpte', 'demo-testsrc'];

/** How many of this process's open file descriptors point inside `dir`. */
function openFdsUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir + '/')) n++;
    } catch {
      // The fd closed while we looked.
    }
  }
  return n;
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return { code: (err as StorageError).code, message: (err as StorageError).message };
  }
  throw new Error('expected a rejection');
}

describe('DiskStore', () => {
  let base: string;
  let root: string;
  const stores: DiskStore[] = [];
  const open = async (opts?: DiskStoreOptions) => {
    const s = await DiskStore.open(root, opts);
    stores.push(s);
    return s;
  };

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'baton-store-'));
    root = join(base, 'root');
    mkdirSync(root);
    for (const id of DEMO) linkSync(join(MEDIA_DIR, `${id}.webm`), join(root, `${id}.webm`));
    // An audio-only clip, so the catalog shows audio/webm and Vorbis.
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-t',
      '2',
      '-i',
      'sine=frequency=220:sample_rate=48000',
      '-c:a',
      'libvorbis',
      '-f',
      'webm',
      join(root, 'tone-vorbis.webm'),
    ]);
    // Things that must never be served.
    writeFileSync(join(base, 'secret.webm'), 'outside the root');
    writeFileSync(join(root, 'notes.txt'), 'not an asset');
    writeFileSync(join(root, '.demo-testsrc.1234.tmp'), 'half-written');
    writeFileSync(join(root, 'bad name.webm'), 'invalid id');
    mkdirSync(join(root, 'folder.webm'));
    symlinkSync(join(base, 'secret.webm'), join(root, 'evil.webm'));
    symlinkSync(join(root, 'demo-smpte.webm'), join(root, 'alias.webm'));
  });

  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('catalogs exactly the regular <id>.webm files, with MIME types from their tracks', async () => {
    const store = await open();
    const list = store.list();
    expect(list.map((a) => a.id)).toEqual([...DEMO, 'tone-vorbis']);
    const byId = Object.fromEntries(list.map((a) => [a.id, a]));
    expect(byId['demo-testsrc']!.mime).toBe('video/webm; codecs="vp8, opus"');
    expect(byId['demo-mandelbrot']!.mime).toBe('video/webm; codecs="vp9, opus"');
    expect(byId['tone-vorbis']!.mime).toBe('audio/webm; codecs="vorbis"');
    for (const id of DEMO) {
      const a = byId[id]!;
      expect(a.bytes).toBe(readFileSync(join(root, `${id}.webm`)).byteLength);
      expect(a.durationMs).toBeGreaterThan(19_000);
      expect(a.bitrateBps).toBe(Math.round((a.bytes * 8 * 1000) / a.durationMs!));
    }
    expect(store.stat('demo-smpte')).toEqual(byId['demo-smpte']);
  });

  const tricks = [
    '../secret',
    '..%2fsecret',
    '%2e%2e/secret',
    '%2e%2e%2fsecret',
    '..\\secret',
    '/etc/passwd',
    resolve(tmpdir(), 'secret'),
    'C:\\Windows\\win',
    'demo-testsrc\0',
    'demo-testsrc\0../../secret',
    'demo-testsrc.webm',
    'demo-testsrc/',
    './demo-testsrc',
    '',
    '.',
    '..',
    'a'.repeat(10_000),
    'evil',
    'alias',
    'folder',
    'bad name',
    'notes',
    'constructor',
    '__proto__',
    'no-such-asset',
  ];

  it.each(tricks.map((t) => [JSON.stringify(t).slice(0, 40), t]))('refuses %s exactly like an unknown id', async (_label, id) => {
    const store = await open();
    expect(store.stat(id)).toBeUndefined();
    expect(await refusal(store.read(id, 0, 16))).toEqual({ code: 'unknown-asset', message: 'unknown asset' });
    const p = store.pathOf(id);
    if (p !== undefined) expect(p.startsWith(root + '/')).toBe(true);
  });

  it('refuses non-string ids without throwing synchronously', async () => {
    const store = await open();
    for (const id of [undefined, null, 42, {}, ['demo-smpte']] as unknown as string[]) {
      expect(store.stat(id)).toBeUndefined();
      expect((await refusal(store.read(id, 0, 1))).code).toBe('unknown-asset');
    }
  });

  it('reads ranges exactly, short at the end, empty past it, and counts bytesRead', async () => {
    const store = await open();
    const file = readFileSync(join(root, 'demo-smpte.webm'));
    expect(store.bytesRead).toBe(0);
    expect(Buffer.from(await store.read('demo-smpte', 0, 100)).equals(file.subarray(0, 100))).toBe(true);
    expect(Buffer.from(await store.read('demo-smpte', 123_457, 65_536)).equals(file.subarray(123_457, 123_457 + 65_536))).toBe(true);
    const tail = await store.read('demo-smpte', file.byteLength - 10, 65_536);
    expect(Buffer.from(tail).equals(file.subarray(-10))).toBe(true);
    expect((await store.read('demo-smpte', file.byteLength, 10)).byteLength).toBe(0);
    expect((await store.read('demo-smpte', file.byteLength + 1000, 10)).byteLength).toBe(0);
    expect((await store.read('demo-smpte', 5, 0)).byteLength).toBe(0);
    expect(store.bytesRead).toBe(100 + 65_536 + 10);
  });

  it('reads a range the disk is already reading once: a flash crowd of readers shares the read', async () => {
    const store = await open();
    const file = readFileSync(join(root, 'demo-smpte.webm'));
    const block = file.subarray(65_536, 2 * 65_536);
    // Fifty viewers missing the same block at once, and one reading another range beside them.
    const same = Array.from({ length: 50 }, () => store.read('demo-smpte', 65_536, 65_536));
    const other = store.read('demo-smpte', 0, 65_536);
    expect(store.readsInFlight).toBe(2);
    for (const bytes of await Promise.all(same)) expect(Buffer.from(bytes).equals(block)).toBe(true);
    expect(Buffer.from(await other).equals(file.subarray(0, 65_536))).toBe(true);
    expect(store.bytesRead).toBe(2 * 65_536);
    expect(store.readsInFlight).toBe(0);
    // Once it is done, the next read of the range reads the disk again (nothing is kept here: that is the cache's job).
    expect(Buffer.from(await store.read('demo-smpte', 65_536, 65_536)).equals(block)).toBe(true);
    expect(store.bytesRead).toBe(3 * 65_536);
    // A failed read is shared too, and leaves nothing behind.
    const gone = join(root, 'gone-soon.webm');
    linkSync(join(MEDIA_DIR, 'demo-testsrc.webm'), gone);
    const store2 = await open();
    await rescanStill(store2);
    expect(store2.stat('gone-soon')).toBeDefined();
    unlinkSync(gone);
    const failed = await Promise.allSettled(Array.from({ length: 5 }, () => store2.read('gone-soon', 0, 1024)));
    expect(failed.every((r) => r.status === 'rejected' && (r.reason as StorageError).code === 'unknown-asset')).toBe(true);
    expect(store2.readsInFlight).toBe(0);
  });

  it.each([
    [-1, 10],
    [0, -1],
    [0.5, 10],
    [0, 1.5],
    [Number.NaN, 1],
    [0, MAX_READ_BYTES + 1],
    [2 ** 60, 1],
  ])('refuses the range offset=%d length=%d', async (offset, length) => {
    const store = await open();
    expect((await refusal(store.read('demo-smpte', offset, length))).code).toBe('bad-range');
    expect(store.bytesRead).toBe(0);
  });

  it('reads a growing file as it is now, and a rescan reports it changed', async () => {
    const store = await open();
    const path = join(root, 'live-growing.webm');
    const first = readFileSync(join(root, 'demo-testsrc.webm')).subarray(0, 70_000);
    writeFileSync(path, first.subarray(0, 50_000));
    try {
      const r1 = await rescanStill(store);
      expect(r1.added.map((a) => a.id)).toEqual(['live-growing']);
      expect(store.stat('live-growing')!.bytes).toBe(50_000);
      expect((await store.read('live-growing', 40_000, 65_536)).byteLength).toBe(10_000);
      appendFileSync(path, first.subarray(50_000));
      // No rescan needed to see the new bytes.
      expect(store.stat('live-growing')!.bytes).toBe(70_000);
      const more = await store.read('live-growing', 40_000, 65_536);
      expect(Buffer.from(more).equals(first.subarray(40_000))).toBe(true);
      const r2 = await rescanStill(store);
      expect(r2.changed.map((a) => [a.id, a.bytes])).toEqual([['live-growing', 70_000]]);
      expect(store.stat('live-growing')!.mime).toBe('video/webm; codecs="vp8, opus"');
    } finally {
      unlinkSync(path);
    }
    const r3 = await store.refresh();
    expect(r3.removed).toEqual(['live-growing']);
    expect(store.stat('live-growing')).toBeUndefined();
    expect((await refusal(store.read('live-growing', 0, 1))).code).toBe('unknown-asset');
  });

  it('serves the new content after a file is atomically replaced and rescanned', async () => {
    const store = await open();
    const path = join(root, 'swap-me.webm');
    const [before, after] = [readFileSync(join(root, 'demo-testsrc.webm')), readFileSync(join(root, 'demo-smpte.webm'))];
    writeFileSync(path, before);
    await rescanStill(store);
    expect(Buffer.from(await store.read('swap-me', 0, before.length)).equals(before)).toBe(true);
    writeFileSync(join(root, '.swap.tmp'), after);
    renameSync(join(root, '.swap.tmp'), path);
    const r = await rescanStill(store);
    expect(r.changed.map((a) => a.id)).toEqual(['swap-me']);
    expect(Buffer.from(await store.read('swap-me', 0, after.length)).equals(after)).toBe(true);
    unlinkSync(path);
    await store.refresh();
  });

  it('fingerprints each copy: the same bytes alike in any store, another file under the id not', async () => {
    const store = await open();
    const a = store.stat('demo-testsrc')!.fingerprint!;
    expect(a).toMatch(FINGERPRINT_PATTERN);
    const path = join(root, 'fp-copy.webm');
    writeFileSync(path, readFileSync(join(root, 'demo-testsrc.webm')));
    await rescanStill(store);
    expect(store.stat('fp-copy')!.fingerprint).toBe(a);
    // Its last byte only: the tail is hashed too.
    const other = readFileSync(join(root, 'demo-testsrc.webm'));
    other[other.length - 1] ^= 0xff;
    writeFileSync(`${path}.new`, other);
    renameSync(`${path}.new`, path);
    const r = await rescanStill(store);
    expect(r.changed.map((x) => x.id)).toEqual(['fp-copy']);
    expect(store.stat('fp-copy')!.fingerprint).not.toBe(a);
    unlinkSync(path);
    await store.refresh();
  });

  it('isAsListed: false from a replace or a copy over in place until a rescan lists the file anew', async () => {
    const store = await open();
    const path = join(root, 'as-listed.webm');
    writeFileSync(path, readFileSync(join(root, 'demo-testsrc.webm')));
    expect(store.isAsListed('as-listed')).toBe(false); // not listed yet
    await rescanStill(store);
    expect(store.isAsListed('as-listed')).toBe(true);
    // Replaced: another inode, under the old listing (and its fingerprint) until the rescans.
    writeFileSync(`${path}.new`, readFileSync(join(root, 'demo-smpte.webm')));
    renameSync(`${path}.new`, path);
    expect(store.stat('as-listed')).toBeDefined();
    expect(store.isAsListed('as-listed')).toBe(false);
    await rescanStill(store);
    expect(store.isAsListed('as-listed')).toBe(true);
    // Copied over in place: the same inode, another size.
    writeFileSync(path, readFileSync(join(root, 'demo-testsrc.webm')));
    expect(store.isAsListed('as-listed')).toBe(false);
    await rescanStill(store);
    expect(store.isAsListed('as-listed')).toBe(true);
    unlinkSync(path);
    expect(store.isAsListed('as-listed')).toBe(false);
    await store.refresh();
  });

  it('reports a file rewritten in place (same inode and size, another mtime) as changed', async () => {
    const store = await open();
    const path = join(root, 'rewrite-me.webm');
    const bytes = readFileSync(join(root, 'demo-testsrc.webm'));
    writeFileSync(path, bytes);
    await rescanStill(store);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(path, bytes);
    const later = new Date(statSync(path).mtimeMs + 5_000);
    utimesSync(path, later, later);
    const r = await rescanStill(store);
    expect(r.changed.map((a) => a.id)).toEqual(['rewrite-me']);
    expect((await store.refresh()).changed).toEqual([]);
    unlinkSync(path);
    await store.refresh();
  });

  it('lists only media Baton plays: an empty file, text, a cut head, unknown codecs (one track is enough), a name that is no id, a symlink are left out, each said once', async () => {
    const said: string[] = [];
    const store = await open({ notListed: (id, reason) => said.push(`${id}: ${reason}`) });
    const webm = readFileSync(join(root, 'demo-testsrc.webm'));
    const unknown = Buffer.from(webm);
    // Same-length CodecIDs no player knows (VP8 → "V_XP8", Opus → "A_XPUS").
    for (const [from, to] of [
      ['V_VP8', 'V_XP8'],
      ['A_OPUS', 'A_XPUS'],
    ] as const)
      unknown.write(to, unknown.indexOf(from), 'latin1');
    // VP8 beside an audio codec no player knows (as VP9 beside AAC): MSE fails the whole file, so it is not listed either.
    const halfKnown = Buffer.from(webm);
    halfKnown.write('A_XPUS', halfKnown.indexOf('A_OPUS'), 'latin1');
    const files = { empty: Buffer.alloc(0), text: Buffer.from('hello, not WebM\n'), cut: webm.subarray(0, 40), unknown, halfKnown };
    for (const [id, bytes] of Object.entries(files)) writeFileSync(join(root, `odd-${id}.webm`), bytes);
    try {
      const r = await rescanStill(store);
      expect(r.added.map((a) => a.id)).toEqual([]);
      for (const id of Object.keys(files)) expect(store.stat(`odd-${id}`)).toBeUndefined();
      expect(said.sort()).toEqual([
        'alias.webm: a symbolic link: only regular files are listed',
        'bad name.webm: its name is not an asset id (1–64 letters, digits, _ or -, starting with a letter or digit): rename the file',
        'evil.webm: a symbolic link: only regular files are listed',
        'odd-cut.webm: no EBML header with Tracks in its first 40 bytes (not WebM, or still being copied)',
        'odd-empty.webm: an empty file',
        'odd-halfKnown.webm: codec "A_XPUS" is not accepted (VP8, VP9, AV1, H.264, Opus, Vorbis)',
        'odd-text.webm: no EBML header with Tracks in its first 16 bytes (not WebM, or still being copied)',
        'odd-unknown.webm: codec "V_XP8" is not accepted (VP8, VP9, AV1, H.264, Opus, Vorbis)',
      ]);
      // Untouched files are neither read nor reported again.
      expect((await store.refresh()).added).toEqual([]);
      expect(said).toHaveLength(8);
      // A copy that was cut short is listed once its head is whole.
      appendFileSync(join(root, 'odd-cut.webm'), webm.subarray(40));
      expect((await rescanStill(store)).added.map((a) => a.id)).toEqual(['odd-cut']);
      expect(store.stat('odd-cut')?.mime).toBe('video/webm; codecs="vp8, opus"');
    } finally {
      for (const id of Object.keys(files)) unlinkSync(join(root, `odd-${id}.webm`));
      await store.refresh();
    }
  });

  it('a video dropped in by another name (talk.mp4, show.mkv, clip.WEBM) is said once, with what to do; other files in storage are not', async () => {
    const said: string[] = [];
    const store = await open({ notListed: (file, reason) => said.push(`${file}: ${reason}`) });
    const webm = readFileSync(join(root, 'demo-testsrc.webm'));
    const names = ['talk.mp4', 'show.mkv', 'clip.WEBM', 'notes.txt', 'talk.webm.part', 'x.webm.new', 'y.webm.123.tmp'];
    for (const name of names) writeFileSync(join(root, name), webm);
    try {
      const r = await rescanStill(store);
      expect(r.added.map((a) => a.id)).toEqual([]);
      const convert = (name: string, stem: string) => `\`ffmpeg -i ${name} -c:v libvpx -b:v 1M -c:a libopus ${stem}.webm\``;
      // (The shared root's own odd files, a symlink and a bad name, are said too.)
      const aboutThese = () => said.filter((line) => names.some((name) => line.startsWith(`${name}:`))).sort();
      expect(aboutThese()).toEqual([
        'clip.WEBM: only names ending in lower-case .webm are listed: rename it clip.webm',
        `show.mkv: only <id>.webm files are listed: Matroska with VP8, VP9, AV1 or H.264 and Opus or Vorbis plays once renamed show.webm; convert any other (${convert('show.mkv', 'show')})`,
        `talk.mp4: only <id>.webm files are listed: convert it (${convert('talk.mp4', 'talk')})`,
      ]);
      await store.refresh();
      expect(aboutThese()).toHaveLength(3);
    } finally {
      for (const name of names) unlinkSync(join(root, name));
      await store.refresh();
    }
  });

  it('a file only touched (another mtime, the same bytes) is not changed: same fingerprint, new mtime kept', async () => {
    const store = await open();
    const path = join(root, 'touch-me.webm');
    writeFileSync(path, readFileSync(join(root, 'demo-testsrc.webm')));
    await rescanStill(store);
    const before = store.stat('touch-me')!;
    const later = new Date(statSync(path).mtimeMs + 5_000);
    utimesSync(path, later, later);
    expect((await store.refresh()).changed).toEqual([]);
    expect(store.stat('touch-me')).toEqual(before);
    // The new mtime is the one compared next: a rewrite after the touch is still seen.
    const other = readFileSync(path);
    other[other.length - 1]! ^= 0xff;
    writeFileSync(path, other);
    utimesSync(path, later, new Date(later.getTime() + 5_000));
    expect((await rescanStill(store)).changed.map((a) => a.id)).toEqual(['touch-me']);
    unlinkSync(path);
    await store.refresh();
  });

  it('a file cut short keeps its header Duration no longer: its last block says how long it is, and so its bitrate', async () => {
    const store = await open();
    const whole = readFileSync(join(root, 'demo-testsrc.webm'));
    const full = store.stat('demo-testsrc')!;
    writeFileSync(join(root, 'cut-short.webm'), whole.subarray(0, Math.floor(whole.length * 0.4)));
    try {
      await rescanStill(store);
      const cut = store.stat('cut-short')!;
      // The header still says ≈ 20 s; about 40 % of the bytes is about 8 s of media.
      expect(cut.durationMs).toBeLessThan(full.durationMs! * 0.6);
      expect(cut.durationMs).toBeGreaterThan(full.durationMs! * 0.2);
      expect(cut.bitrateBps).toBe(Math.round((cut.bytes * 8 * 1000) / cut.durationMs!));
    } finally {
      unlinkSync(join(root, 'cut-short.webm'));
      await store.refresh();
    }
  });

  it('a recording copied across a rescan: the next one describes the whole file (duration from its tail, bitrate)', async () => {
    // `-live 1`: no Duration in the head, as a broadcast's recording is stored: its duration comes from its last block.
    const recording = join(root, 'recording.webm');
    remuxAsRecording(join(root, 'demo-testsrc.webm'), recording);
    const store = await open();
    const whole = readFileSync(recording);
    const path = join(root, 'slow-copy.webm');
    writeFileSync(path, whole.subarray(0, whole.length >> 1));
    try {
      const half = (await rescanStill(store)).added.find((a) => a.id === 'slow-copy')!;
      expect(half.bytes).toBe(whole.length >> 1);
      appendFileSync(path, whole.subarray(whole.length >> 1));
      const r = await rescanStill(store);
      const fresh = store.stat('recording')!;
      expect(fresh.durationMs).toBeGreaterThan(half.durationMs!);
      expect(r.changed).toEqual([{ ...fresh, id: 'slow-copy' }]);
      expect(store.stat('slow-copy')).toEqual({ ...fresh, id: 'slow-copy' });
    } finally {
      unlinkSync(path);
      unlinkSync(recording);
    }
  });

  it('a file that moves between two rescans is not listed, nor its change taken, until it held still across one', async () => {
    const store = await open();
    const path = join(root, 'copying.webm');
    const whole = readFileSync(join(root, 'demo-testsrc.webm'));
    writeFileSync(path, whole.subarray(0, 200_000));
    try {
      // New since the last scan: not listed (before: listed with its first 200 KB, reported and encoded).
      expect((await store.refresh()).added).toEqual([]);
      expect(store.stat('copying')).toBeUndefined();
      appendFileSync(path, whole.subarray(200_000, 400_000));
      expect((await store.refresh()).added).toEqual([]);
      // Still across one rescan: listed whole as it is now.
      const r = await store.refresh();
      expect(r.added.map((a) => [a.id, a.bytes])).toEqual([['copying', 400_000]]);
      // Listed, then moving again: kept as listed (nothing to report) but said to be moving, until it holds still.
      appendFileSync(path, whole.subarray(400_000));
      const moved = await store.refresh();
      expect(moved.changed).toEqual([]);
      expect(moved.moving).toEqual(['copying']);
      expect(store.list().find((a) => a.id === 'copying')?.bytes).toBe(400_000);
      const still = await store.refresh();
      expect(still.changed.map((a) => [a.id, a.bytes])).toEqual([['copying', whole.length]]);
      expect(still.moving).toEqual([]);
      expect((await store.refresh()).changed).toEqual([]);
    } finally {
      unlinkSync(path);
    }
    // A deletion is not held back.
    expect((await store.refresh()).removed).toEqual(['copying']);
  });

  it('a file this process wrote whole (`written`) is listed at the next rescan; one still at start-up at once', async () => {
    const path = join(root, 'made-here.webm');
    writeFileSync(path, readFileSync(join(root, 'demo-testsrc.webm')));
    // Written just before the store opens: the first scan looks twice and lists it.
    const store = await open();
    expect(store.stat('made-here')?.bytes).toBe(statSync(path).size);
    unlinkSync(path);
    await store.refresh();
    writeFileSync(path, readFileSync(join(root, 'demo-smpte.webm')));
    store.written('made-here');
    try {
      expect((await store.refresh()).added.map((a) => a.id)).toEqual(['made-here']);
    } finally {
      unlinkSync(path);
      await store.refresh();
    }
  });

  it('keeps at most maxOpenFiles descriptors open, and none after close()', async () => {
    const store = await open({ maxOpenFiles: 2 });
    const ids = [...DEMO, 'tone-vorbis'];
    const files = Object.fromEntries(ids.map((id) => [id, readFileSync(join(root, `${id}.webm`))]));
    const reads = [];
    for (let i = 0; i < 40; i++) {
      const id = ids[i % ids.length]!;
      const at = (i * 7919) % 20_000;
      reads.push(store.read(id, at, 4096).then((b) => expect(Buffer.from(b).equals(files[id]!.subarray(at, at + 4096))).toBe(true)));
    }
    await Promise.all(reads);
    // Closing an evicted handle is asynchronous (a libuv thread-pool job: 50 ms did not always do at load 15).
    await expect.poll(() => openFdsUnder(root), { timeout: 10_000 }).toBeLessThanOrEqual(2);
    store.close();
    store.close();
    await expect.poll(() => openFdsUnder(root), { timeout: 10_000 }).toBe(0);
    expect((await refusal(store.read('demo-smpte', 0, 1))).code).toBe('closed');
  });

  it('starts empty on a missing root and sees files once they appear', async () => {
    const dir = join(base, 'later');
    const store = new DiskStore(dir);
    stores.push(store);
    expect((await store.refresh()).added).toEqual([]);
    mkdirSync(dir);
    linkSync(join(MEDIA_DIR, 'demo-smpte.webm'), join(dir, 'demo-smpte.webm'));
    expect((await rescanStill(store)).added.map((a) => a.id)).toEqual(['demo-smpte']);
  });
});
