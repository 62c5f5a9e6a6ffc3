// Titles, descriptions and posters of stored assets: the sidecar JSON (parsing, bounds, clear refusals),
// the storage scan that reads it, the per-message budget, and the ffmpeg poster from the first keyframe.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { MAX_META_CHARS_PER_MESSAGE, withinMetaBudget } from '../../node-app/storage/meta-budget.js';
import { MAX_SIDECAR_BYTES, parseSidecar, readSidecar, writeSidecar } from '../../node-app/storage/sidecar.js';
import { PosterMaker } from '../../node-app/storage/poster-maker.js';
import { rescanStill } from '../helpers/rescan-still.js';
import { assetInfoSchema, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, parse, publishSchema } from '../../signaling/protocol/index.js';
import type { AssetInfo } from '../../signaling/protocol/types.js';

const MEDIA_DIR = resolve(import.meta.dirname, '../../var/media');
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

describe('sidecar JSON', () => {
  it('takes a title and a description, trimmed', () => {
    expect(parseSidecar(json({ title: '  Test card ', description: 'Colour bars\nand a tone.' }))).toEqual({
      ok: true,
      meta: { title: 'Test card', description: 'Colour bars\nand a tone.' },
    });
    expect(parseSidecar(json({}))).toEqual({ ok: true, meta: {} });
    // A blank description says nothing.
    expect(parseSidecar(json({ title: 'A', description: '  ' }))).toEqual({ ok: true, meta: { title: 'A' } });
  });

  it(`refuses a title over ${MAX_TITLE_CHARS} and a description over ${MAX_DESCRIPTION_CHARS} characters, saying which`, () => {
    expect(parseSidecar(json({ title: 'x'.repeat(MAX_TITLE_CHARS) })).ok).toBe(true);
    expect(parseSidecar(json({ title: 'x'.repeat(MAX_TITLE_CHARS + 1) }))).toEqual({
      ok: false,
      message: `title: the title is longer than ${MAX_TITLE_CHARS} characters`,
    });
    expect(parseSidecar(json({ description: 'y'.repeat(MAX_DESCRIPTION_CHARS) })).ok).toBe(true);
    expect(parseSidecar(json({ description: 'y'.repeat(MAX_DESCRIPTION_CHARS + 1) }))).toEqual({
      ok: false,
      message: `description: the description is longer than ${MAX_DESCRIPTION_CHARS} characters`,
    });
  });

  it('refuses what is not a sidecar: unknown keys, wrong types, control characters, blank titles, not JSON, too large', () => {
    const refused = (bytes: Uint8Array): string => {
      const r = parseSidecar(bytes);
      if (r.ok) throw new Error('expected a refusal');
      return r.message;
    };
    expect(refused(json({ title: 'A', tittle: 'B' }))).toMatch(/tittle/);
    expect(refused(json({ title: 42 }))).toMatch(/^title: /);
    expect(refused(json(['title']))).toMatch(/object/);
    expect(refused(json({ title: 'two\nlines' }))).toBe('title: the title must be one line without control characters');
    expect(refused(json({ description: 'bell\u0007' }))).toMatch(/^description: .*control characters/);
    // A right-to-left override shows "\u202Eevil" as "live" (found by review); Hebrew and Arabic need none.
    expect(refused(json({ title: 'good \u202Eevil' }))).toMatch(/^title: .*bidi overrides/);
    expect(refused(json({ description: '\u202Dx' }))).toMatch(/^description: .*bidi overrides/);
    expect(parseSidecar(json({ title: 'שלום עולם', description: 'مرحبا \u2067isolated\u2069' })).ok).toBe(true);
    expect(refused(json({ title: '   ' }))).toBe('title: the title is empty');
    expect(refused(new TextEncoder().encode('{"title": "A",'))).toMatch(/^not UTF-8 JSON/);
    expect(refused(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatch(/^not UTF-8 JSON/);
    expect(refused(new Uint8Array(MAX_SIDECAR_BYTES + 1).fill(0x20))).toBe(`larger than ${MAX_SIDECAR_BYTES} bytes`);
  });

  it('the wire schemas hold the same bounds (a broadcaster’s title is refused by the hub with the reason)', () => {
    const base = { streamKey: 'k', location: 'Paris' };
    expect(parse(publishSchema, { ...base, title: 'Morning show', description: 'Live from the roof.' }).ok).toBe(true);
    expect(parse(publishSchema, { ...base, title: 'x'.repeat(MAX_TITLE_CHARS + 1) })).toEqual({
      ok: false,
      message: `title: the title is longer than ${MAX_TITLE_CHARS} characters`,
    });
    const info = { id: 'a', bytes: 1, mime: 'video/webm' };
    expect(parse(assetInfoSchema, { ...info, poster: 'abc123' }).ok).toBe(true);
    expect(parse(assetInfoSchema, { ...info, poster: '../x' }).ok).toBe(false);
    expect(parse(assetInfoSchema, { ...info, description: 'd'.repeat(MAX_DESCRIPTION_CHARS + 1) }).ok).toBe(false);
  });
});

describe('the storage scan with sidecars and posters', () => {
  let base: string;
  let root: string;
  const stores: DiskStore[] = [];
  const warnings: string[] = [];
  const open = async (posters?: PosterMaker) => {
    const s = await DiskStore.open(root, { posters, sidecarError: (id, m) => warnings.push(`${id}: ${m}`) });
    stores.push(s);
    return s;
  };
  const info = (s: DiskStore, id: string) => s.list().find((a) => a.id === id);

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'baton-content-'));
    root = join(base, 'root');
    mkdirSync(root);
    for (const id of ['demo-smpte', 'demo-testsrc']) linkSync(join(MEDIA_DIR, `${id}.webm`), join(root, `${id}.webm`));
  });
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    warnings.length = 0;
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('lists the sidecar’s title and description with the asset, and reports a changed sidecar as `described`', async () => {
    await writeSidecar(join(root, 'demo-smpte.json'), { title: 'SMPTE bars', description: 'Colour bars with a 1 kHz tone.' });
    const store = await open();
    expect(info(store, 'demo-smpte')).toMatchObject({ title: 'SMPTE bars', description: 'Colour bars with a 1 kHz tone.' });
    expect(info(store, 'demo-testsrc')?.title).toBeUndefined();
    // The sidecar is not an asset of its own.
    expect(store.list().map((a) => a.id)).toEqual(['demo-smpte', 'demo-testsrc']);

    writeFileSync(join(root, 'demo-testsrc.json'), JSON.stringify({ title: 'Test source' }));
    const r = await store.refresh();
    expect(r.added).toEqual([]);
    expect(r.described.map((a) => a.id)).toEqual(['demo-testsrc']);
    expect(info(store, 'demo-testsrc')?.title).toBe('Test source');
    // Nothing changed: nothing to report again.
    expect((await store.refresh()).described).toEqual([]);
  });

  it('lists an asset with a bad sidecar without it, and says why', async () => {
    writeFileSync(join(root, 'demo-testsrc.json'), JSON.stringify({ title: 'x'.repeat(MAX_TITLE_CHARS + 1) }));
    const store = await open();
    expect(info(store, 'demo-testsrc')).toBeDefined();
    expect(info(store, 'demo-testsrc')?.title).toBeUndefined();
    expect(warnings).toEqual([
      `demo-testsrc: ${join(root, 'demo-testsrc.json')}: title: the title is longer than ${MAX_TITLE_CHARS} characters`,
    ]);
    rmSync(join(root, 'demo-testsrc.json'));
  });

  it('never follows a symlinked sidecar', async () => {
    writeFileSync(join(base, 'outside.json'), JSON.stringify({ title: 'from outside the root' }));
    symlinkSync(join(base, 'outside.json'), join(root, 'demo-testsrc.json'));
    try {
      const r = await readSidecar(join(root, 'demo-testsrc.json'));
      expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/ELOOP/) });
      const store = await open();
      expect(info(store, 'demo-testsrc')?.title).toBeUndefined();
    } finally {
      rmSync(join(root, 'demo-testsrc.json'));
    }
  });

  it('makes a JPEG poster from the first keyframe with ffmpeg, one at a time, and lists its version', async () => {
    const made: string[] = [];
    const failed: string[] = [];
    const posters = new PosterMaker({ made: (id) => made.push(id), failed: (id, m) => failed.push(`${id}: ${m}`) });
    const store = await open(posters);
    expect(info(store, 'demo-smpte')?.poster).toBeUndefined();
    const deadline = Date.now() + 30_000;
    while (made.length < 2 && failed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(failed).toEqual([]);
    expect(made.sort()).toEqual(['demo-smpte', 'demo-testsrc']);
    const jpeg = readFileSync(store.posterPathOf('demo-smpte')!);
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const r = await store.refresh();
    expect(r.described.map((a) => a.id).sort()).toEqual(['demo-smpte', 'demo-testsrc']);
    expect(info(store, 'demo-smpte')?.poster).toMatch(/^[a-z0-9]{1,16}$/);
    // The poster is not an asset, and an asset with one is not queued again.
    expect(store.list()).toHaveLength(2);
    expect(posters.pending).toBe(0);
    posters.close();
  });

  it('makes the poster again when a stored file is replaced (the rescan finds another fingerprint)', async () => {
    const made: string[] = [];
    const failed: string[] = [];
    const posters = new PosterMaker({ made: (id) => made.push(id), failed: (id, m) => failed.push(`${id}: ${m}`) });
    const store = await open(posters);
    const until = async (what: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!what() && failed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(failed).toEqual([]);
    };
    // Left by the test before, or made now.
    await until(() => existsSync(store.posterPathOf('demo-testsrc')!));
    await store.refresh();
    const before = readFileSync(store.posterPathOf('demo-testsrc')!);
    const tokenBefore = info(store, 'demo-testsrc')?.poster;
    expect(tokenBefore).toBeDefined();
    // Another picture under the same id: a new file renamed over the old one, as an operator would.
    await new Promise((r) => setTimeout(r, 20));
    copyFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm'), join(root, 'replacement.tmp'));
    renameSync(join(root, 'replacement.tmp'), join(root, 'demo-testsrc.webm'));
    made.length = 0;
    const r = await rescanStill(store);
    expect(r.changed.map((a) => a.id)).toEqual(['demo-testsrc']);
    // The old picture is not listed for the new file meanwhile.
    expect(info(store, 'demo-testsrc')?.poster).toBeUndefined();
    await until(() => made.includes('demo-testsrc'));
    const after = readFileSync(store.posterPathOf('demo-testsrc')!);
    expect([...after.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(after.equals(before)).toBe(false);
    const again = await store.refresh();
    expect(again.described.map((a) => a.id)).toEqual(['demo-testsrc']);
    expect(info(store, 'demo-testsrc')?.poster).toMatch(/^[a-z0-9]{1,16}$/);
    expect(info(store, 'demo-testsrc')?.poster).not.toBe(tokenBefore);
    // A file that did not change keeps its poster (demo-smpte's, from the test before).
    expect(info(store, 'demo-smpte')?.poster).toBeDefined();
    posters.close();
  });

  it('keeps the poster beside a file still being copied in (it only grew): an operator’s own is not deleted', async () => {
    const whole = readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'));
    const poster = join(root, 'growing.poster.jpg');
    // The operator's picture first, then the media copied in slowly (`cp show.* storage/` writes them in that order).
    writeFileSync(poster, 'OPERATOR-ARTWORK');
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(root, 'growing.webm'), whole.subarray(0, 200_000));
    try {
      const store = await open();
      expect(info(store, 'growing')?.poster).toBeDefined();
      await new Promise((r) => setTimeout(r, 20));
      appendFileSync(join(root, 'growing.webm'), whole.subarray(200_000));
      const r = await rescanStill(store);
      // Another fingerprint (the copy grew), but the same first bytes: the poster stays, listed and on disk.
      expect(r.changed.map((a) => a.id)).toEqual(['growing']);
      expect(readFileSync(poster, 'utf8')).toBe('OPERATOR-ARTWORK');
      expect(info(store, 'growing')?.poster).toBeDefined();
    } finally {
      rmSync(join(root, 'growing.webm'), { force: true });
      rmSync(poster, { force: true });
    }
  });

  it('a source gone while its poster was queued (a live .part finalized under its own name) is no failure, said nowhere', async () => {
    const made: string[] = [];
    const failed: string[] = [];
    const posters = new PosterMaker({ made: (id) => made.push(id), failed: (id, m) => failed.push(`${id}: ${m}`) });
    const target = (id: string) => join(base, `${id}.poster.jpg`);
    // Before: each such poster logged `no poster for this asset … .webm.part: No such file or directory` (found by review).
    posters.want({ id: 'finalized', source: join(root, 'finalized.webm.part'), target: target('finalized'), version: '1:1' });
    posters.want({ id: 'real', source: join(root, 'demo-smpte.webm'), target: target('real'), version: '2:2' });
    const deadline = Date.now() + 30_000;
    while (made.length + failed.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(made).toEqual(['real']);
    expect(failed).toEqual([]);
    posters.close();
    rmSync(target('real'), { force: true });
  });

  it('a missing ffmpeg means no posters, said once, and no retries', async () => {
    rmSync(join(root, 'demo-smpte.poster.jpg'), { force: true });
    rmSync(join(root, 'demo-testsrc.poster.jpg'), { force: true });
    const failed: string[] = [];
    const posters = new PosterMaker({ ffmpeg: 'no-such-ffmpeg-binary', failed: (id, m) => failed.push(`${id}: ${m}`) });
    const store = await open(posters);
    const deadline = Date.now() + 10_000;
    while (failed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await store.refresh();
    await new Promise((r) => setTimeout(r, 100));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/ENOENT/);
    expect(posters.pending).toBe(0);
  });
});

describe('the metadata budget of one message', () => {
  it('drops descriptions first, then titles, of the last entries past the budget', () => {
    const entries = (n: number): AssetInfo[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `a${i}`,
        bytes: 1,
        mime: 'video/webm',
        title: 't'.repeat(MAX_TITLE_CHARS),
        description: 'd'.repeat(MAX_DESCRIPTION_CHARS),
      }));
    const few = withinMetaBudget(entries(10));
    expect(few.every((a) => a.description && a.title)).toBe(true);
    const many = withinMetaBudget(entries(100));
    const chars = many.reduce((n, a) => n + (a.title?.length ?? 0) + (a.description?.length ?? 0), 0);
    expect(chars).toBeLessThanOrEqual(MAX_META_CHARS_PER_MESSAGE);
    expect(many[0]!.description).toBeDefined();
    expect(many.at(-1)!.description).toBeUndefined();
    expect(many.at(-1)!.title).toBeDefined();
    const huge = withinMetaBudget(entries(1_000));
    expect(huge.reduce((n, a) => n + (a.title?.length ?? 0) + (a.description?.length ?? 0), 0)).toBeLessThanOrEqual(
      MAX_META_CHARS_PER_MESSAGE,
    );
    expect(huge.at(-1)!.title).toBeUndefined();
  });
});
